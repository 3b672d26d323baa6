/** Text builtins: `strings`, `convert`, `regexp`, `encoding`, and the curated `golang/strings`, `golang/html`, `golang/strconv`. */
import { RE2JS } from 're2js'
import { LangError } from '../errors.js'
import { parseType, prune, T, type Type } from '../types.js'
import { MAX_STRING, McMap, McStruct, type Value } from '../values.js'
import type { Builtin, RunContext } from './builtin.js'

const s1 = (f: (s: string) => Value, sig = 'func(a str) str'): Builtin => ({
  sig,
  pure: true,
  run: ([a]) => f(a as string),
})
const s2 = (sig: string, f: (a: string, b: string) => Value): Builtin => ({
  sig,
  pure: true,
  run: ([a, b]) => f(a as string, b as string),
})

/**
 * Go's strings.ToUpper and ToLower: each code point by itself, by its simple mapping. JavaScript's
 * own map by context and may give several code points for one ("ß" to "SS", a final "Σ" to "ς");
 * Go keeps "ß" and gives "σ". Where JavaScript's full mapping of one code point has several, the
 * simple one is its first cased letter in the few cases Unicode has one (the Greek letters with a
 * iota below, "İ"), else the code point itself.
 */
function goCase(s: string, upper: boolean): string {
  // ASCII maps alike in both, and is the common case.
  if (/^[\0-\x7f]*$/.test(s)) return upper ? s.toUpperCase() : s.toLowerCase()
  let out = ''
  for (const c of s) {
    const m = upper ? c.toUpperCase() : c.toLowerCase()
    out +=
      m.length === 1 || [...m].length === 1
        ? m
        : (SIMPLE[upper ? 'upper' : 'lower'].get(c.codePointAt(0)!) ?? c)
  }
  return out
}

/** Simple case mappings of the code points whose full mapping JavaScript gives as several. */
const SIMPLE = (() => {
  const upper = new Map<number, string>()
  // ᾀ-ᾇ, ᾐ-ᾗ, ᾠ-ᾧ: their title-case forms, 8 further on; ᾳ ῃ ῳ: ᾼ ῌ ῼ.
  for (const start of [0x1f80, 0x1f90, 0x1fa0])
    for (let c = start; c < start + 8; c++) upper.set(c, String.fromCodePoint(c + 8))
  for (const c of [0x1fb3, 0x1fc3, 0x1ff3]) upper.set(c, String.fromCodePoint(c + 9))
  return { upper, lower: new Map([[0x130, 'i']]) }
})()

/** The longest string a function builds from a count it is given (a count of 10^12 would hang). */
const MAX_BUILT = MAX_STRING

/** `n`, when a string of that length may be built; else the call's error. */
function buildable(n: number, what: string, ctx: RunContext): number {
  if (n < 0) throw ctx.fail(`${what}: negative count ${n}`)
  if (n > MAX_BUILT) throw ctx.fail(`${what}: a string of ${n} characters is longer than ${MAX_BUILT}`)
  return n
}

const pad = (s: string, p: string, n: number, left: boolean, ctx: RunContext): string => {
  if (p === '' || s.length >= n) return s
  const fill = p.repeat(Math.ceil((buildable(n, 'pad', ctx) - s.length) / p.length)).slice(0, n - s.length)
  return left ? fill + s : s + fill
}

/** `s`, `n` times over. */
function repeat(s: string, n: number, ctx: RunContext): string {
  if (n < 0) throw ctx.fail(`repeat: negative count ${n}`)
  buildable(s.length * n, 'repeat', ctx)
  return s.repeat(n)
}

export const stringsPackage: Record<string, Builtin> = {
  contains: s2('func(s str, substr str) bool', (a, b) => a.includes(b)),
  has_prefix: s2('func(s str, prefix str) bool', (a, b) => a.startsWith(b)),
  has_suffix: s2('func(s str, suffix str) bool', (a, b) => a.endsWith(b)),
  join_nonempty: {
    sig: 'func(s []str, sep str) str',
    pure: true,
    run: ([l, sep]) => (l as string[]).filter(x => x !== '').join(sep as string),
  },
  left_pad: {
    sig: 'func(s str, pad str, len int) str',
    pure: true,
    run: ([s, p, n], ctx) => pad(s as string, p as string, Number(n), true, ctx),
  },
  right_pad: {
    sig: 'func(s str, pad str, len int) str',
    pure: true,
    run: ([s, p, n], ctx) => pad(s as string, p as string, Number(n), false, ctx),
  },
  replace_all: {
    sig: 'func(s str, old str, new str) str',
    pure: true,
    run: ([s, o, n]) => (s as string).split(o as string).join(n as string),
  },
  split: s2('func(a str, b str) []str', (a, b) => goSplit(a, b)),
  substr: {
    sig: 'func(s str, low int, high int) str',
    pure: true,
    run: ([s, lo, hi], ctx) => {
      const str = s as string
      const l = Number(lo)
      const h = Number(hi)
      if (l < 0 || h > str.length || l > h)
        throw ctx.fail(`substr out of range: [${l}:${h}] of a string of length ${str.length}`)
      return str.slice(l, h)
    },
  },
  to_lower: s1(s => goCase(s, false)),
  to_upper: s1(s => goCase(s, true)),
  trim_space: s1(s => s.trim()),
}

/** Go's strings.Split: an empty separator splits into characters. */
function goSplit(s: string, sep: string): string[] {
  return sep === '' ? [...s] : s.split(sep)
}

export const golangStringsPackage: Record<string, Builtin> = {
  trim_space: s1(s => s.trim()),
  join: {
    sig: 'func(elems []str, sep str) str',
    pure: true,
    run: ([l, sep]) => (l as string[]).join(sep as string),
  },
  has_prefix: s2('func(s str, prefix str) bool', (a, b) => a.startsWith(b)),
  has_suffix: s2('func(s str, suffix str) bool', (a, b) => a.endsWith(b)),
  contains: s2('func(s str, substr str) bool', (a, b) => a.includes(b)),
  to_lower: s1(s => goCase(s, false)),
  to_upper: s1(s => goCase(s, true)),
  split: s2('func(s str, sep str) []str', (a, b) => goSplit(a, b)),
  repeat: {
    sig: 'func(s str, count int) str',
    pure: true,
    run: ([s, n], ctx) => repeat(s as string, Number(n), ctx),
  },
  replace_all: {
    sig: 'func(s str, old str, new str) str',
    pure: true,
    run: ([s, o, n]) => (s as string).split(o as string).join(n as string),
  },
  trim_prefix: s2('func(s str, prefix str) str', (a, b) => (a.startsWith(b) ? a.slice(b.length) : a)),
  trim_suffix: s2('func(s str, suffix str) str', (a, b) => (b && a.endsWith(b) ? a.slice(0, -b.length) : a)),
  index: s2('func(s str, substr str) int', (a, b) => BigInt(a.indexOf(b))),
  count: s2('func(s str, substr str) int', (a, b) =>
    BigInt(b === '' ? [...a].length + 1 : a.split(b).length - 1),
  ),
}

const htmlEscapes: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  "'": '&#39;',
  '"': '&#34;',
}

export const golangHtmlPackage: Record<string, Builtin> = {
  escape_string: s1(s => s.replace(/[<>&'"]/g, c => htmlEscapes[c]!)),
  unescape_string: s1(s =>
    s.replace(/&(#\d+|#x[0-9a-f]+|lt|gt|amp|quot|apos);/gi, (_m, e: string) => {
      if (e.startsWith('#x') || e.startsWith('#X'))
        return String.fromCodePoint(Number.parseInt(e.slice(2), 16))
      if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)))
      return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[
        e.toLowerCase()
      ]!
    }),
  ),
}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false
  return undefined
}

function strToInt(s: string, ctx: RunContext): bigint {
  if (!/^[+-]?[0-9]+$/.test(s))
    throw ctx.fail(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`)
  const n = BigInt(s)
  if (n < -(2n ** 63n) || n >= 2n ** 63n)
    throw ctx.fail(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`)
  return n
}

function strToFloat(s: string, ctx: RunContext): number {
  const t = s.trim()
  if (t !== s || t === '' || Number.isNaN(Number(t)) || /^0[xob]/i.test(t.replace(/^[+-]/, '')))
    throw ctx.fail(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`)
  return Number(t)
}

export const convertPackage: Record<string, Builtin> = {
  format_bool: { sig: 'func(a bool) str', pure: true, run: ([b]) => String(b) },
  parse_bool: {
    sig: 'func(a str) bool',
    pure: true,
    run: ([s], ctx) => {
      const b = parseBool(s as string)
      if (b === undefined) throw ctx.fail(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`)
      return b
    },
  },
  str_to_int: { sig: 'func(a str) int', pure: true, run: ([s], ctx) => strToInt(s as string, ctx) },
  str_to_float: { sig: 'func(a str) float', pure: true, run: ([s], ctx) => strToFloat(s as string, ctx) },
  int_to_str: { sig: 'func(a int) str', pure: true, run: ([n]) => String(n) },
  to_float: { sig: 'func(a int) float', pure: true, run: ([n]) => Number(n) },
  to_int: {
    sig: 'func(a float) int',
    pure: true,
    run: ([f]) => BigInt.asIntN(64, BigInt(Math.trunc(f as number))),
  },
}

export const golangStrconvPackage: Record<string, Builtin> = {
  itoa: { sig: 'func(i int) str', pure: true, run: ([n]) => String(n) },
  atoi: { sig: 'func(s str) int', pure: true, run: ([s], ctx) => strToInt(s as string, ctx) },
  quote: { sig: 'func(s str) str', pure: true, run: ([s]) => JSON.stringify(s) },
  format_bool: { sig: 'func(b bool) str', pure: true, run: ([b]) => String(b) },
}

export const regexpPackage: Record<string, Builtin> = {
  match: {
    sig: 'func(pattern str, s str) bool',
    pure: true,
    // Go's syntax and its linear-time matching (RE2): a backtracking engine takes exponential time
    // on `(a+)+$` against forty `a`s and a `!`, and would hold the engine.
    run: ([p, s], ctx) => {
      let re: RE2JS
      try {
        re = RE2JS.compile(p as string)
      } catch (err) {
        throw new LangError('run', `bad regular expression: ${(err as Error).message}`, [ctx.span])
      }
      return re.matcher(s as string).find()
    },
  },
}

/** The result type of decode_json: from its constant type argument, else from context. */
function decodeJsonInfer(argc: number, values: readonly (Value | undefined)[]): Type {
  if (argc === 1) return T.func([{ name: 'data', type: T.str }], T.fresh())
  if (argc !== 2) throw new Error(`decode_json takes 1 or 2 args, got ${argc}`)
  const text = values[1]
  if (typeof text !== 'string') throw new Error('the type argument must be a constant string')
  let t: Type
  try {
    t = parseType(text)
  } catch (err) {
    throw new Error(`bad type \`${text}\`: ${(err as Error).message}`)
  }
  return T.func(
    [
      { name: 'data', type: T.str },
      { name: 'type', type: T.str },
    ],
    t,
  )
}

/** A parsed JSON value as an mcl value of type `t`. */
export function fromJson(j: unknown, t: Type, flexible: boolean, at = '$'): Value {
  const p = prune(t)
  const bad = (): Error => new Error(`cannot decode ${JSON.stringify(j)} at ${at} as ${p.k}`)
  switch (p.k) {
    case 'bool':
      if (typeof j === 'boolean') return j
      if (flexible && typeof j === 'string' && parseBool(j) !== undefined) return parseBool(j)!
      throw bad()
    case 'str':
      if (typeof j === 'string') return j
      if (flexible && (typeof j === 'number' || typeof j === 'boolean')) return String(j)
      throw bad()
    case 'int':
      if (typeof j === 'number' && Number.isInteger(j)) return BigInt(j)
      if (flexible && typeof j === 'string' && /^-?\d+$/.test(j)) return BigInt(j)
      throw bad()
    case 'float':
      if (typeof j === 'number') return j
      if (flexible && typeof j === 'string' && !Number.isNaN(Number(j))) return Number(j)
      throw bad()
    case 'list':
      if (!Array.isArray(j)) throw bad()
      return j.map((x, i) => fromJson(x, p.elem, flexible, `${at}[${i}]`))
    case 'map':
      if (typeof j !== 'object' || j === null || Array.isArray(j)) throw bad()
      return new McMap(
        Object.entries(j).map(([k, v]) => [
          fromJson(k, p.key, true, at),
          fromJson(v, p.val, flexible, `${at}.${k}`),
        ]),
      )
    case 'struct': {
      if (typeof j !== 'object' || j === null || Array.isArray(j)) throw bad()
      const o = j as Record<string, unknown>
      const fields = new Map<string, Value>()
      for (const f of p.fields) {
        if (!(f.name in o)) {
          if (!flexible) throw new Error(`missing field \`${f.name}\` at ${at}`)
          fields.set(f.name, fromJson(zeroJson(f.type), f.type, true, at))
        } else fields.set(f.name, fromJson(o[f.name], f.type, flexible, `${at}.${f.name}`))
      }
      return new McStruct(fields)
    }
    default:
      return toValueGuess(j)
  }
}

const zeroJson = (t: Type): unknown => {
  const p = prune(t)
  return p.k === 'bool'
    ? false
    : p.k === 'str'
      ? ''
      : p.k === 'int' || p.k === 'float'
        ? 0
        : p.k === 'list'
          ? []
          : {}
}

function toValueGuess(j: unknown): Value {
  if (typeof j === 'number') return Number.isInteger(j) ? BigInt(j) : j
  if (typeof j === 'string' || typeof j === 'boolean') return j
  if (Array.isArray(j)) return j.map(toValueGuess)
  if (j && typeof j === 'object') return new McMap(Object.entries(j).map(([k, v]) => [k, toValueGuess(v)]))
  return ''
}

const decodeJson = (flexible: boolean): Builtin => ({
  infer: ({ argc, values }) => decodeJsonInfer(argc, values),
  run: ([data], ctx) => {
    let j: unknown
    try {
      j = JSON.parse(data as string)
    } catch (err) {
      throw ctx.fail(`invalid json: ${(err as Error).message}`)
    }
    try {
      return fromJson(j, ctx.sig.out, flexible)
    } catch (err) {
      throw ctx.fail((err as Error).message)
    }
  },
})

export const encodingPackage: Record<string, Builtin> = {
  base64_encode: {
    sig: 'func(data str) str',
    pure: true,
    run: ([s]) => Buffer.from(s as string).toString('base64'),
  },
  base64_decode: {
    sig: 'func(data str) str',
    pure: true,
    run: ([s], ctx) => {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s as string) || (s as string).length % 4 !== 0)
        throw ctx.fail('illegal base64 data')
      return Buffer.from(s as string, 'base64').toString()
    },
  },
  decode_json: decodeJson(false),
  decode_json_flexible: decodeJson(true),
}
