/** The `file` kind's path computation and cross-field rules (pure: no I/O). */
import { posix } from 'node:path'
import type { Issue } from '../../util/errors.js'

/** The params of a file resource, as the rules and the checks look at them. */
export interface FileShape {
  readonly path: string
  readonly dirname?: string | undefined
  readonly basename?: string | undefined
  readonly state: string
  readonly content?: string | undefined
  readonly source?: string | undefined
  readonly fragments?: readonly string[] | undefined
  readonly owner?: string | undefined
  readonly group?: string | undefined
  readonly mode?: string | undefined
  readonly recurse: boolean
  readonly force: boolean
  readonly purge: boolean
  readonly symlink: boolean
}

/** `/a/b/` → [`/a/`, `b/`]; `/a/b` → [`/a/`, `b`]; `/` → [`/`, ``]. */
function split(p: string): [string, string] {
  const dir = p.endsWith('/')
  const s = dir ? p.slice(0, -1) : p
  const i = s.lastIndexOf('/')
  if (i < 0) return ['', p]
  return [s.slice(0, i + 1), s.slice(i + 1) + (dir && s !== '' ? '/' : '')]
}

/**
 * One spelling of a path: `/a/../b`, `/./c` and `//c` become `/b` and `/c`. A trailing `/` (a
 * directory) is kept, and a path ending in `.` or `..` names a directory too.
 */
export function normalizePath(p: string): string {
  if (p === '') return p
  // Already one spelling (the usual case): absolute, no `//`, no `.` or `..` component.
  if (p.charCodeAt(0) === 47 && !p.includes('//') && !p.includes('/.')) return p
  const dir = p.endsWith('/') || /(^|\/)\.\.?$/.test(p)
  const n = posix.normalize(p)
  return dir && !n.endsWith('/') ? `${n}/` : n
}

/** The managed path: `path` (default `name`) with `dirname`/`basename` overriding its parts, normalized. */
export function filePath(path: string, name: string, dirname?: string, basename?: string): string {
  const p = path || name
  if (!dirname && !basename) return normalizePath(p)
  const [d, b] = split(p)
  return normalizePath((dirname || d) + (basename || b))
}

/** A basename is one name: no `/` (but a trailing one, for a directory), and not `.` or `..`. */
function basenameIssue(b: string | undefined): Issue | undefined {
  if (b === undefined) return undefined
  const name = b.endsWith('/') ? b.slice(0, -1) : b
  if (name !== '' && !name.includes('/') && name !== '.' && name !== '..') return undefined
  return {
    path: ['basename'],
    message: `must be one name, without \`/\` and not \`.\` or \`..\` (it would leave dirname), got \`${b}\``,
  }
}

/** Is `p` equal to `dir` or below it? Both may end with `/`. */
export function isWithin(p: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`
  return p === dir || `${p}/` === d || p.startsWith(d)
}

function exclusive(p: FileShape, out: Issue[]): void {
  const given = (['content', 'source', 'fragments'] as const).filter(k =>
    k === 'fragments' ? !!p.fragments?.length : p[k] !== undefined,
  )
  for (const k of given.slice(1))
    out.push({
      path: [k],
      message: `cannot be combined with \`${given[0]}\` (content, source and fragments are exclusive)`,
    })
  if (p.state === 'absent')
    for (const k of given) out.push({ path: [k], message: 'not allowed with `state: absent`' })
}

function directory(p: FileShape, out: Issue[]): void {
  const isDir = p.path.endsWith('/')
  if (isDir) {
    if (p.content !== undefined)
      out.push({ path: ['content'], message: 'a directory (path ending in `/`) cannot have content' })
    if (p.fragments?.length)
      out.push({ path: ['fragments'], message: 'a directory (path ending in `/`) cannot have fragments' })
    if (p.symlink)
      out.push({ path: ['symlink'], message: 'a directory path (ending in `/`) cannot be a symlink' })
  }
  if (p.purge) {
    if (!isDir) out.push({ path: ['purge'], message: 'needs a directory path (ending in `/`)' })
    if (!p.recurse) out.push({ path: ['purge'], message: 'needs `recurse: true`' })
    if (p.content !== undefined || p.fragments?.length)
      out.push({ path: ['purge'], message: 'cannot be combined with `content` or `fragments`' })
  }
}

function source(p: FileShape, out: Issue[]): void {
  const src = p.source
  if (p.symlink) {
    if (src === undefined || src === '')
      out.push({ path: ['symlink'], message: 'needs `source` (the link target)' })
    if (p.recurse || p.purge)
      out.push({ path: ['symlink'], message: 'cannot be combined with `recurse` or `purge`' })
    if (p.mode !== undefined) out.push({ path: ['mode'], message: 'a symlink has no mode of its own' })
    return
  }
  if (src === undefined) return
  const isDir = p.path.endsWith('/')
  const srcDir = src.endsWith('/')
  if (!src.startsWith('/')) out.push({ path: ['source'], message: 'must be an absolute path' })
  else if (srcDir !== isDir)
    out.push({
      path: ['source'],
      message: 'path and source must both be directories (ending in `/`) or both files',
    })
  else if (srcDir && (isWithin(p.path, src) || isWithin(src, p.path)))
    out.push({ path: ['source'], message: 'path and source must not contain each other' })
  if (srcDir && !p.recurse)
    out.push({ path: ['recurse'], message: 'copying a source directory needs `recurse: true`' })
  if (!srcDir && !isDir && p.recurse)
    out.push({ path: ['recurse'], message: 'cannot recurse when copying a single file' })
}

function fragments(p: FileShape, out: Issue[]): void {
  p.fragments?.forEach((f, i) => {
    if (!f.startsWith('/')) out.push({ path: ['fragments', i], message: 'must be an absolute path' })
    else if (f.endsWith('/') && isWithin(p.path, f))
      out.push({ path: ['fragments', i], message: 'the path is inside this fragment directory' })
  })
}

/** Every problem of a normalized param set, each with its key path. */
export function validateFile(p: FileShape): Issue[] {
  const out: Issue[] = []
  if (p.path === '') out.push({ path: ['path'], message: 'is empty' })
  else if (!p.path.startsWith('/'))
    out.push({ path: ['path'], message: `must be absolute, got \`${p.path}\`` })
  if (p.dirname !== undefined && !p.dirname.endsWith('/'))
    out.push({ path: ['dirname'], message: 'must end with `/`' })
  const base = basenameIssue(p.basename)
  if (base) out.push(base)
  exclusive(p, out)
  directory(p, out)
  source(p, out)
  fragments(p, out)
  return out
}
