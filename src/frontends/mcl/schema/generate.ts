/**
 * Generates `kinds.ts`, the field table of the original's resource kinds, from a checkout of its
 * Go source: `node dist/src/frontends/mcl/schema/generate.js GO_CHECKOUT > src/frontends/mcl/schema/kinds.ts`.
 *
 * It reads `engine/resources/*.go`, finds each `engine.RegisterResource("kind", ...)`, and lists the
 * fields of the resource struct that carry a `lang:"name"` tag, with their Go type mapped to mcl the
 * way the original maps it (every integer width to `int`, floats to `float`, `*T` to `T`,
 * `interface{}` to `variant`; nested structs keep only their tagged fields). It also notes what
 * each kind sends (its `Sends()` struct), and whether it receives and merges duplicates. It ran
 * once; the output is committed, so nothing here runs at build or test time.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

interface GoField {
  name: string
  type: string
  tag: string
}

/** `type X struct { ... }` bodies by name, across the package. */
function structBodies(src: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /^type (\w+) struct \{/gm
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const start = m.index + m[0].length
    out.set(m[1]!, src.slice(start, matchBrace(src, start - 1)))
  }
  return out
}

function matchBrace(s: string, open: number): number {
  let depth = 0
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++
    else if (s[i] === '}' && --depth === 0) return i
    else if (s[i] === '`') i = s.indexOf('`', i + 1)
    else if (s[i] === '/' && s[i + 1] === '/') i = s.indexOf('\n', i)
    else if (s[i] === '"') i = s.indexOf('"', i + 1)
  }
  return s.length
}

/** The fields of a struct body (one per line; inline struct types keep their braces). */
function fields(body: string): GoField[] {
  const out: GoField[] = []
  let i = 0
  while (i < body.length) {
    const end = lineEnd(body, i)
    const line = body
      .slice(i, end)
      .replace(/\/\/[^`\n]*$/, '')
      .trim()
    i = end + 1
    if (!line || line.startsWith('//')) continue
    const m = /^(\w+(?:\s*,\s*\w+)*)\s+(.+?)\s*(`[^`]*`)?$/s.exec(line)
    if (!m) continue
    const tag = /lang:"([^"]*)"/.exec(m[3] ?? '')?.[1]
    if (tag === undefined) continue
    for (const name of m[1]!.split(',')) out.push({ name: name.trim(), type: m[2]!.trim(), tag })
  }
  return out
}

/** The end of a field declaration: the newline after any braces it opened are closed. */
function lineEnd(s: string, i: number): number {
  let depth = 0
  for (let j = i; j < s.length; j++) {
    const c = s[j]
    if (c === '{') depth++
    else if (c === '}') depth--
    else if (c === '`') j = s.indexOf('`', j + 1)
    else if (c === '\n' && depth === 0) return j
  }
  return s.length
}

const ints = [
  'int',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'byte',
  'rune',
]

/** The mcl type of a Go type, or undefined when mcl cannot express it. */
function mclType(go: string, structs: Map<string, string>, depth = 0): string | undefined {
  const t = go.trim()
  if (depth > 10) return undefined
  if (t.startsWith('*')) return mclType(t.slice(1), structs, depth + 1)
  if (t.startsWith('[]')) {
    const e = mclType(t.slice(2), structs, depth + 1)
    return e && `[]${e}`
  }
  const map = /^map\[([^\]]+)\](.+)$/s.exec(t)
  if (map) {
    const k = mclType(map[1]!, structs, depth + 1)
    const v = mclType(map[2]!, structs, depth + 1)
    return k && v && `map{${k}: ${v}}`
  }
  if (t === 'bool') return 'bool'
  if (t === 'string' || t === 'net.HardwareAddr') return 'str'
  if (ints.includes(t)) return 'int'
  if (t === 'float32' || t === 'float64') return 'float'
  if (t === 'interface{}' || t === 'any') return 'variant'
  if (t.startsWith('struct'))
    return structType(t.slice(t.indexOf('{') + 1, t.lastIndexOf('}')), structs, depth)
  const named = structs.get(t)
  if (named !== undefined) return structType(named, structs, depth)
  return undefined
}

function structType(body: string, structs: Map<string, string>, depth: number): string | undefined {
  const parts: string[] = []
  for (const f of fields(body)) {
    const t = mclType(f.type, structs, depth + 1)
    if (t) parts.push(`${f.tag} ${t}`)
  }
  return `struct{${parts.join('; ')}}`
}

interface KindOut {
  fields: Record<string, { type: string; go: string; name: string }>
  sends?: Record<string, { type: string; go: string; name: string }>
  recv?: true
  merges?: true
}

export function generate(checkout: string): Record<string, KindOut> {
  const dir = join(checkout, 'engine/resources')
  const files = readdirSync(dir).filter(f => f.endsWith('.go') && !f.endsWith('_test.go'))
  const src = files.map(f => readFileSync(join(dir, f), 'utf8')).join('\n')
  const structs = structBodies(src)
  const out: Record<string, KindOut> = {}
  const consts = constants(src)
  const reg = /engine\.RegisterResource\(("[^"]+"|\w+),\s*func\(\)\s*engine\.Res\s*\{\s*return\s*&(\w+)\{\}/g
  for (let m = reg.exec(src); m; m = reg.exec(src)) {
    const [, ref, struct] = m as unknown as [string, string, string]
    const kind = ref.startsWith('"') ? ref.slice(1, -1) : consts.get(ref)
    if (!kind || kind.startsWith('_')) continue
    const body = structs.get(struct) ?? ''
    const table = (b: string): KindOut['fields'] => {
      const f: KindOut['fields'] = {}
      for (const x of fields(b)) {
        const type = mclType(x.type, structs)
        if (type && x.tag)
          f[x.tag] = { type, go: x.type.startsWith('struct') ? 'struct' : x.type, name: x.name }
      }
      return f
    }
    const k: KindOut = { fields: table(body) }
    const sends = new RegExp(
      `func \\(obj \\*${struct}\\) Sends\\(\\) interface\\{\\} \\{\\s*return &(\\w+)\\{`,
    ).exec(src)
    if (sends) k.sends = table(structs.get(sends[1]!) ?? '')
    if (/traits\.Recvable/.test(body)) k.recv = true
    if (new RegExp(`func \\(obj \\*${struct}\\) Merge\\(`).test(src)) k.merges = true
    out[kind] = k
  }
  return out
}

/** String constants (`kindX = otherKind + ":x"`) of the package. */
function constants(src: string): Map<string, string> {
  const raw = new Map<string, string>()
  for (const m of src.matchAll(/^\s*(\w+)\s*=\s*((?:"[^"]*"|\w+)(?:\s*\+\s*(?:"[^"]*"|\w+))*)\s*$/gm))
    raw.set(m[1]!, m[2]!)
  const out = new Map<string, string>()
  const value = (name: string, depth = 0): string | undefined => {
    if (out.has(name)) return out.get(name)
    const expr = raw.get(name)
    if (expr === undefined || depth > 10) return undefined
    let v = ''
    for (const part of expr.split('+').map(p => p.trim())) {
      const piece = part.startsWith('"') ? part.slice(1, -1) : value(part, depth + 1)
      if (piece === undefined) return undefined
      v += piece
    }
    out.set(name, v)
    return v
  }
  for (const name of raw.keys()) value(name)
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const kinds = generate(process.argv[2] ?? '.')
  process.stdout.write(
    [
      '/**',
      " * The original's resource kinds as mcl sees them: each field's mcl type, its Go type (for value",
      ' * conversion and range checks) and Go name (for messages); what a kind sends, whether it receives',
      ' * and whether duplicates merge. Generated by `generate.ts` from the Go source at commit 60c024dd;',
      ' * do not edit by hand. Kinds that the engine runs take their fields from their own schemas instead.',
      ' */',
      "import type { KindTable } from './table.js'",
      '',
      `export const goKinds: KindTable = ${JSON.stringify(kinds, null, 2)}`,
      '',
    ].join('\n'),
  )
}
