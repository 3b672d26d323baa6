/**
 * What one check of a `file` resource works with: its params, the path, the wanted content, the
 * stats read so far, and the way to act on the path. Nothing is pinned or opened until the check
 * acts: a check that finds everything right costs a few lstats.
 */
import type { Stats } from 'node:fs'
import { statSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { ResourceContext } from '../../engine/resource.js'
import { errCode, MgmtError } from '../../util/errors.js'
import { resolveId } from '../../util/ids.js'
import type { WriteOptions } from './atomic.js'
import { sha256 } from './compare.js'
import { type ModeSpec, parseMode } from './mode.js'
import { type DirRef, lstatOr, openDir } from './nofollow.js'
import type { OwnChanges } from './own.js'
import { checkAncestors, type ManagedDir, managedAncestors } from './parents.js'
import type { FileShape } from './validate.js'

/** Ids a checkApply wants (undefined: unmanaged). */
export interface Ids {
  readonly uid?: number | undefined
  readonly gid?: number | undefined
}

/** The wanted content's bytes and sha256, kept until the content changes. */
export interface ContentCache {
  get(text: string): { bytes: Buffer; sha: () => string }
  drop(): void
}

/** What one checkApply works with. */
export interface Run {
  readonly p: Readonly<FileShape>
  readonly ctx: ResourceContext
  readonly apply: boolean
  /** The path without its trailing `/`: what checks look at, and messages name. */
  readonly target: string
  readonly isDir: boolean
  readonly mode: ModeSpec | undefined
  readonly content: ContentCache
  /** The managed directories above the path, top-down. */
  readonly ancestors: readonly ManagedDir[]
  /**
   * Before anything is changed (or read to be shown): the path as calls that change it reach it,
   * through the parent directory pinned for the rest of the run, and how writes go there.
   */
  act(): Promise<{ readonly at: string; readonly write: WriteOptions }>
  ids(): Promise<Ids>
  /** The path's own stats (a symlink is never followed), read once until `forget()`. */
  stat(): Promise<Stats | undefined>
  /** Drops the stats read so far; called after every sub-check that changed something. */
  forget(): void
  /** Notes a change of the path just made (its inotify event is the resource's own). */
  made(): void
}

/** The wanted content's bytes, and their sha256 computed once, until the content changes. */
export function contentCache(): ContentCache {
  return new Content()
}

class Content implements ContentCache {
  #text: string | undefined
  #bytes = EMPTY
  #sum: string | undefined
  get(t: string): { bytes: Buffer; sha: () => string } {
    if (t !== this.#text) {
      this.#text = t
      this.#bytes = Buffer.from(t)
      this.#sum = undefined
    }
    const bytes = this.#bytes
    return { bytes, sha: () => (this.#sum ??= sha256(bytes)) }
  }
  drop(): void {
    this.#text = undefined
  }
}

const EMPTY = Buffer.alloc(0)

/** What stays the same across checkApply calls. */
export interface RunFixed extends Pick<Run, 'p' | 'ctx' | 'target' | 'isDir' | 'content'> {
  readonly own: OwnChanges
}

/**
 * The parent directory, pinned for one run when a directory above is managed: every call on the
 * path goes through it, so that a managed directory swapped for a link during the run changes
 * nothing of what the run does. A managed parent is opened without following a link; when managed
 * directories further up exist, they are checked again after the open, and the pinned directory
 * must be the one at the parent's path. Without a managed directory above, nothing is pinned: an
 * unmanaged parent may be followed anyway.
 */
async function pinParent(target: string, ancestors: readonly ManagedDir[]): Promise<DirRef | undefined> {
  if (!ancestors.length) return undefined
  const parent = dirname(target)
  const managedParent = ancestors.at(-1)!.path === parent
  let dir: DirRef
  try {
    dir = openDir(parent, managedParent)
  } catch (e) {
    const code = errCode(e)
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw e
    await checkAncestors(ancestors) // a managed one is missing or a link: wait for it
    if (code === 'ELOOP') throw e
    return undefined // an unmanaged parent is missing
  }
  if (managedParent && ancestors.length === 1) return dir
  try {
    await checkAncestors(ancestors)
    const pinned = dir.stat()
    const now = statSync(parent, { throwIfNoEntry: false })
    if (!now || now.ino !== pinned.ino || now.dev !== pinned.dev)
      throw new MgmtError('ERR_RES_WAITING', {
        on: `file[${ancestors.at(-1)!.name}]`,
        reason: `${parent}/ changed while it was checked`,
      })
    return dir
  } catch (e) {
    dir.close()
    throw e
  }
}

/** Opens one check's run: nothing is read or opened yet. */
export function openRun(fixed: RunFixed, apply: boolean): FileRun {
  return new FileRun(fixed, apply)
}

/** One check's run, as a plain object with methods (a check of every file makes one). */
export class FileRun implements Run {
  readonly p: Readonly<FileShape>
  readonly ctx: ResourceContext
  readonly target: string
  readonly isDir: boolean
  readonly content: ContentCache
  readonly ancestors: readonly ManagedDir[]
  // Read on each run: send/recv may replace a param's value in place.
  readonly mode: ModeSpec | undefined
  readonly #fixed: RunFixed
  #ids: Promise<Ids> | undefined
  #st: Promise<Stats | undefined> | undefined
  #acting: Promise<{ at: string; write: WriteOptions; dir?: DirRef }> | undefined

  constructor(
    fixed: RunFixed,
    readonly apply: boolean,
  ) {
    this.#fixed = fixed
    this.p = fixed.p
    this.ctx = fixed.ctx
    this.target = fixed.target
    this.isDir = fixed.isDir
    this.content = fixed.content
    // Worked out once per graph and parent directory (parents.ts), held by nothing of the file's.
    this.ancestors = managedAncestors(fixed.target, fixed.ctx.graph())
    this.mode = fixed.p.mode === undefined ? undefined : parseMode(fixed.p.mode)
  }

  act(): Promise<{ at: string; write: WriteOptions; dir?: DirRef }> {
    this.#acting ??= this.#pin()
    return this.#acting
  }
  ids(): Promise<Ids> {
    this.#ids ??= this.#resolveIds()
    return this.#ids
  }
  stat(): Promise<Stats | undefined> {
    this.#st ??= lstatOr(this.target)
    return this.#st
  }
  forget(): void {
    this.#st = undefined
  }
  made(): void {
    this.#fixed.own.made()
  }
  /** Lets go of the pinned parent directory, if the run pinned one. */
  close(): void {
    void this.#acting?.then(
      a => a.dir?.close(),
      () => {},
    )
  }

  /** Pinned only once the run acts: a check that finds everything right costs no descriptor. */
  async #pin(): Promise<{ at: string; write: WriteOptions; dir?: DirRef }> {
    const { target, ancestors } = this
    const dir = target === '/' ? undefined : await pinParent(target, ancestors)
    if (!dir) return { at: target, write: { managedParent: ancestors.at(-1)?.path === dirname(target) } }
    return { at: dir.at(basename(target)), write: { dir }, dir }
  }

  async #resolveIds(): Promise<Ids> {
    const { p } = this
    return {
      uid: p.owner === undefined ? undefined : await resolveId('passwd', p.owner),
      gid: p.group === undefined ? undefined : await resolveId('group', p.group),
    }
  }
}
