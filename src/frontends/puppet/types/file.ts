/** Puppet's `file` → mgmt's `file`. */
import {
  bool,
  flag,
  type Invalid,
  invalid,
  str,
  type TypeMapping,
  type Unmapped,
  unmapped,
} from './common.js'

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

/**
 * Puppet's mode, as mgmt's; a directory gets x wherever r is set. Puppet refuses a number: `0644`
 * unquoted is the number 420, and `644` is not 0644.
 */
function modeOf(v: unknown, dir: boolean): string | Unmapped | Invalid {
  if (typeof v === 'number')
    return invalid('mode', `Puppet takes a mode as a string, not the number ${v}: quote it ('0644')`)
  const s = String(v)
  if (!/^[0-7]{1,4}$/.test(s)) {
    if (/[+-]/.test(s)) return unmapped(`mode ${s}: relative symbolic modes`)
    // Puppet's `X` (x where some x is set) and copies (`g=u`) are Puppet's to apply; mgmt's kind
    // takes plain assignments, and rejects what neither takes.
    const clauses = s.split(',')
    const puppets = clauses.every(c => /^[ugoa]*=[rwxXstugo]*$/.test(c))
    if (puppets && !clauses.every(c => /^[ugoa]*=[rwxst]*$/.test(c))) return unmapped(`mode ${s}`)
    return s
  }
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

/** What `ensure` asks for: the state, a directory, or a link and its target. */
interface Shape {
  readonly state?: 'exists' | 'absent'
  readonly dir: boolean
  readonly link?: string
}

function shapeOf(p: Readonly<Record<string, unknown>>, hasContent: boolean): Shape | Unmapped {
  const ensure = str(p.ensure)
  const dir = bool(p.recurse) === true
  switch (ensure) {
    case undefined:
      // mgmt errors on content for a missing file; Puppet creates it.
      return { state: hasContent ? 'exists' : undefined, dir }
    case 'present':
    case 'file':
      return { state: 'exists', dir }
    case 'directory':
      return { state: 'exists', dir: true }
    case 'absent':
      return { state: 'absent', dir }
    case 'link': {
      const target = str(p.target)
      return target
        ? { state: 'exists', dir: false, link: target }
        : unmapped('ensure => link without a target')
    }
    default:
      return ensure.startsWith('/')
        ? { state: 'exists', dir: false, link: ensure }
        : unmapped(`ensure => ${ensure}`)
  }
}

/** `content` or `source` into `out`. */
function contentInto(
  out: Record<string, unknown>,
  p: Readonly<Record<string, unknown>>,
  sources: readonly unknown[],
  dir: boolean,
  modules: Readonly<Record<string, string>>,
): Unmapped | undefined {
  if (p.content !== undefined) {
    if (dir) return unmapped('content on a directory')
    out.content = String(p.content)
  }
  if (sources.length) {
    const src = localSource(String(sources[0]), modules)
    if (typeof src !== 'string') return src
    if (dir && bool(p.recurse) !== true) return unmapped('a directory source without recurse')
    out.source = dir && !src.endsWith('/') ? `${src}/` : src
  }
  return undefined
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
  lists: ['source'],
  map(r, p, ctx) {
    if (p.recurse !== undefined && bool(p.recurse) === undefined)
      return unmapped(`recurse => ${String(p.recurse)}`)
    const replace = flag(p.replace, true)
    if (replace === false) return unmapped('replace => false')
    if (replace !== undefined && replace !== true) return unmapped(`replace => ${String(p.replace)}`)
    const sources = p.source === undefined ? [] : Array.isArray(p.source) ? p.source : [p.source]
    if (sources.length > 1) return unmapped('several sources')
    const shape = shapeOf(p, p.content !== undefined || sources.length > 0)
    if ('unmapped' in shape) return shape
    // Puppet makes the file that link whatever `ensure` says (unless it is absent).
    if (p.target !== undefined && shape.link === undefined && shape.state !== 'absent')
      return unmapped('target without ensure => link')
    const path = str(p.path) ?? r.title
    const out: Record<string, unknown> = { path: shape.dir && !path.endsWith('/') ? `${path}/` : path }
    if (shape.state) out.state = shape.state
    if (shape.link !== undefined) {
      out.symlink = true
      out.source = shape.link
    } else if (shape.state !== 'absent') {
      const bad = contentInto(out, p, sources, shape.dir, ctx.modules)
      if (bad) return bad
    }
    for (const k of ['owner', 'group'] as const) if (p[k] !== undefined) out[k] = String(p[k])
    if (p.mode !== undefined) {
      const mode = modeOf(p.mode, shape.dir)
      if (typeof mode !== 'string') return mode
      out.mode = mode
    }
    if (bool(p.recurse)) out.recurse = true
    for (const k of ['force', 'purge'] as const) {
      const v = flag(p[k], true)
      if (v !== undefined && v !== false) out[k] = v
    }
    return { kind: 'file', name: r.title, params: out }
  },
}
