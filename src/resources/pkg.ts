/**
 * `pkg`: a package, installed (any version), uninstalled, the newest available, or an exact
 * version. Through PackageKit over the system bus when it runs, else through apt (apt-get, dpkg);
 * the choice is said in the log. Packages are resolved when checked, never when the graph loads,
 * so a package from a repository that the same graph adds is found: a name that no repository
 * knows makes the package lists refresh once before it is an error.
 *
 * Packages with the same state group into one vertex (autogroup) and one transaction. It watches
 * dpkg's database (and, for `newest`, apt's lists) and PackageKit's signals: a package removed by
 * hand is reinstalled at once. Automatic edges: the files and units an installed package ships
 * come after it, and so does an `exec` whose program it ships.
 */
import { z } from 'zod'
import { defineResource, type GroupedResource, type Instance, untilClosed } from '../engine/resource.js'
import type { Issue } from '../util/errors.js'
import type { PkgBackend, PkgChange, PkgState, TxOptions } from './pkg/backend.js'
import { chooseBackend } from './pkg/choose.js'
import { shippedFiles } from './pkg/files.js'

/** Params of `pkg`. Keys are the YAML names, verbatim. */
export const PkgParams = z
  .object({
    /** `installed` (any version), `uninstalled`, `newest`, or an exact version such as `1.2-3`. */
    state: z.string().default('installed'),
    /** Allow installing a version older than the installed one (a pinned `state`). */
    allowdowngrade: z.boolean().default(false),
    /** Install packages that are not signed, or come from an unsigned repository. */
    allowuntrusted: z.boolean().default(false),
    /** PackageKit: also consider packages that are not free software. */
    allownonfree: z.boolean().default(false),
    /** PackageKit: also consider packages the distribution does not support. */
    allowunsupported: z.boolean().default(false),
  })
  .strict()

export type PkgParams = z.output<typeof PkgParams>

const STATES = new Set(['installed', 'uninstalled', 'newest'])
/** Package names of Debian, Fedora and others: no leading dash, no spaces. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9+._:~-]*$/

function validatePkg(p: Readonly<PkgParams>, name: string): Issue[] {
  if (!NAME.test(name)) return [{ path: ['name'], message: `\`${name}\` is not a valid package name` }]
  if (p.state === 'latest') return [{ path: ['state'], message: 'use `newest` for the newest version' }]
  if (!p.state || /\s/.test(p.state) || p.state.startsWith('-'))
    return [{ path: ['state'], message: 'expected installed, uninstalled, newest, or a version' }]
  return []
}

const optionsOf = (p: Readonly<PkgParams>): TxOptions => ({
  allowuntrusted: p.allowuntrusted,
  allowdowngrade: p.allowdowngrade,
  allownonfree: p.allownonfree,
  allowunsupported: p.allowunsupported,
})

export const pkg = defineResource({
  kind: 'pkg',
  params: PkgParams,
  traits: { groupable: true },
  validate: validatePkg,
  uids: (_p, name) => [`pkg:${name}`],
  /** Once installed, every file it ships: `file`, `svc` and `exec` resources find it. */
  provides: (p, name) => (p.state === 'uninstalled' ? [] : shippedFiles(name).map(f => `pkgfile:${f}`)),
  /** Packages of one state (not pinned versions), with the same options, share a transaction. */
  groupCmp: (a, b) =>
    a.state === b.state &&
    STATES.has(a.state) &&
    a.allowdowngrade === b.allowdowngrade &&
    a.allowuntrusted === b.allowuntrusted &&
    a.allownonfree === b.allownonfree &&
    a.allowunsupported === b.allowunsupported,
  initGroup: members => packages(members),
  init: (p, ctx) => packages([{ name: ctx.name, params: p, ctx }]),
})

/** The change that brings `s` to `state`, or undefined when it is there. */
export function planChange(state: string, s: PkgState): PkgChange | undefined {
  switch (state) {
    case 'installed':
      return s.installed ? undefined : { name: s.name, action: 'install', version: s.candidate, arch: s.arch }
    case 'uninstalled':
      return s.installed ? { name: s.name, action: 'remove', version: s.installed, arch: s.arch } : undefined
    case 'newest':
      if (!s.installed) return { name: s.name, action: 'install', version: s.candidate, arch: s.arch }
      return s.candidate ? { name: s.name, action: 'update', version: s.candidate, arch: s.arch } : undefined
    default:
      return s.installed === state
        ? undefined
        : { name: s.name, action: 'install', version: state, arch: s.arch }
  }
}

const describe = (c: PkgChange): string =>
  `${c.action} ${c.name}${c.version && c.action !== 'remove' ? ` ${c.version}` : ''}`

/** Why `names` were not found: nowhere, or only outside the free and supported repositories. */
async function notFound(
  b: PkgBackend,
  names: string[],
  opts: TxOptions,
  signal: AbortSignal,
): Promise<string> {
  const none = `no package ${names.join(', ')} in any repository`
  if (opts.allownonfree && opts.allowunsupported) return none
  const all = await b.query(names, { ...opts, allownonfree: true, allowunsupported: true }, signal)
  const hidden = names.filter(n => all.get(n)?.installed || all.get(n)?.candidate)
  if (!hidden.length) return none
  return (
    `${hidden.join(', ')}: only in repositories that are not free or not supported by the distribution ` +
    '(allow them with `allowunsupported: true` or `allownonfree: true`)'
  )
}

/** One or several packages (a group), checked and applied together. */
function packages(members: readonly GroupedResource<PkgParams>[]): Instance {
  const lead = members[0]!
  const log = lead.ctx.log
  const opts = optionsOf(lead.params)
  let backend: Promise<PkgBackend> | undefined
  const getBackend = (): Promise<PkgBackend> => {
    backend ??= chooseBackend(log).then(
      b => {
        b.onClose(() => {
          backend = undefined
        })
        return b
      },
      e => {
        backend = undefined
        throw e
      },
    )
    return backend
  }
  for (const m of members)
    if (!NAME.test(m.name)) throw new Error(`\`${m.name}\` is not a valid package name`)

  /** Every member's state, refreshing the package lists once (not in noop) when one is unknown. */
  const query = async (
    b: PkgBackend,
    apply: boolean,
    signal: AbortSignal,
  ): Promise<Map<string, PkgState>> => {
    const names = members.map(m => m.name)
    let states = await b.query(names, opts, signal)
    const unknown = (): string[] =>
      members
        .filter(m => m.params.state !== 'uninstalled')
        .map(m => states.get(m.name)!)
        .filter(s => !s.installed && !s.candidate)
        .map(s => s.name)
    if (unknown().length && !apply)
      throw new Error(
        `${await notFound(b, unknown(), opts, signal)} (noop: the package lists were not refreshed)`,
      )
    if (unknown().length) {
      log.info(`${unknown().join(', ')}: not found; refreshing the package lists`)
      await b.refresh(signal)
      states = await b.query(names, opts, signal)
      const missing = unknown()
      if (missing.length) throw new Error(await notFound(b, missing, opts, signal))
    }
    return states
  }

  return {
    async watch(signal) {
      let ready = false
      const fire = (): void => {
        if (ready) lead.ctx.event()
      }
      await lead.ctx.watchPath('/var/lib/dpkg/status', signal, fire)
      if (members.some(m => m.params.state === 'newest'))
        await lead.ctx.watchPath('/var/lib/apt/lists', signal, fire, { recursive: true })
      const b = await getBackend()
      const off = await b.watch(fire)
      ready = true
      lead.ctx.event()
      const lost = await untilClosed(fn => b.onClose(fn), signal)
      off()
      if (lost && !signal.aborted) throw lost
    },
    async checkApply(apply, signal) {
      const b = await getBackend()
      const states = await query(b, apply, signal)
      const changes = members.flatMap(m => planChange(m.params.state, states.get(m.name)!) ?? [])
      if (!changes.length) return true
      if (!apply) {
        for (const c of changes) log.info(`would ${describe(c)}`)
        return false
      }
      log.info(`${changes.map(describe).join(', ')}: one transaction (${b.name})`)
      await b.apply(changes, opts, signal)
      const after = await b.query(
        members.map(m => m.name),
        opts,
        signal,
      )
      for (const m of members) {
        const s = after.get(m.name)!
        if (planChange(m.params.state, s))
          throw new Error(
            `${m.name} is not ${m.params.state} after the transaction (installed: ${s.installed ?? 'none'}` +
              `${s.candidate ? `, available: ${s.candidate}` : ''})`,
          )
      }
      return false
    },
    async cleanup() {
      ;(await backend?.catch(() => undefined))?.close()
    },
  }
}
