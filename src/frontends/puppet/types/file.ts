/** Puppet's `file` → mgmt's `file`. */
import { bool, str, type TypeMapping, type Unmapped, unmapped } from './common.js'

/** `puppet:///modules/NAME/REST` → `<module dir>/files/REST`; local paths as they are. */
function localSource(src: string, modules: Readonly<Record<string, string>>): string | Unmapped {
  if (src.startsWith('file://')) return src.slice('file://'.length)
  const m = /^puppet:\/\/\/modules\/([^/]+)\/(.+)$/.exec(src)
  if (m) {
    const dir = modules[m[1]!]
    return dir ? `${dir.replace(/\/$/, '')}/files/${m[2]}` : unmapped(`source ${src}: no module \`${m[1]}\``)
  }
  if (src.startsWith('/')) return src
  return unmapped(`source ${src} is not a local file or a module's file`)
}

/** Puppet's mode, as mgmt's: numbers were octal digits; a directory gets x wherever r is set. */
function modeOf(v: unknown, dir: boolean): string | Unmapped {
  const s = typeof v === 'number' ? v.toString(8) : String(v)
  if (!/^[0-7]{1,4}$/.test(s)) return /[+-]/.test(s) ? unmapped(`mode ${s}: relative symbolic modes`) : s
  let n = Number.parseInt(s, 8)
  if (dir)
    for (const [r, x] of [
      [0o400, 0o100],
      [0o40, 0o10],
      [0o4, 0o1],
    ] as const)
      if (n & r) n |= x
  return n.toString(8).padStart(4, '0')
}

export const fileMapping: TypeMapping = {
  kind: 'file',
  params: [
    'path',
    'ensure',
    'content',
    'source',
    'target',
    'owner',
    'group',
    'mode',
    'recurse',
    'force',
    'purge',
    'replace',
  ],
  ignored: ['backup', 'checksum', 'show_diff'],
  map(r, p, ctx) {
    const path = str(p.path) ?? r.title
    const ensure = str(p.ensure)
    const recurse = bool(p.recurse)
    if (p.recurse !== undefined && recurse === undefined) return unmapped(`recurse => ${String(p.recurse)}`)
    if (bool(p.replace) === false) return unmapped('replace => false')
    const sources = Array.isArray(p.source) ? p.source : p.source === undefined ? [] : [p.source]
    if (sources.length > 1) return unmapped('several sources')
    let state: string | undefined
    let dir = recurse === true
    let link: string | undefined
    switch (ensure) {
      case undefined:
        if (p.content !== undefined || sources.length) state = 'exists'
        break
      case 'present':
      case 'file':
        state = 'exists'
        break
      case 'directory':
        state = 'exists'
        dir = true
        break
      case 'absent':
        state = 'absent'
        break
      case 'link':
        state = 'exists'
        link = str(p.target)
        if (!link) return unmapped('ensure => link without a target')
        break
      default:
        if (!ensure.startsWith('/')) return unmapped(`ensure => ${ensure}`)
        state = 'exists'
        link = ensure
    }
    const out: Record<string, unknown> = { path: dir && !path.endsWith('/') ? `${path}/` : path }
    if (state) out.state = state
    if (link !== undefined) {
      out.symlink = true
      out.source = link
    } else if (state !== 'absent') {
      if (p.content !== undefined) {
        if (dir) return unmapped('content on a directory')
        out.content = String(p.content)
      }
      if (sources.length) {
        const src = localSource(String(sources[0]), ctx.modules)
        if (typeof src !== 'string') return src
        if (dir && !recurse) return unmapped('a directory source without recurse')
        out.source = dir && !src.endsWith('/') ? `${src}/` : src
      }
    }
    for (const k of ['owner', 'group'] as const) if (p[k] !== undefined) out[k] = String(p[k])
    if (p.mode !== undefined) {
      const mode = modeOf(p.mode, dir)
      if (typeof mode !== 'string') return mode
      out.mode = mode
    }
    if (recurse) out.recurse = true
    if (bool(p.force)) out.force = true
    if (bool(p.purge)) out.purge = true
    return { kind: 'file', name: r.title, params: out }
  },
}
