/**
 * Run-time values. A value's JavaScript shape says its kind: `boolean` is bool, `string` str,
 * `bigint` int (64-bit, wrapped like the original's), `number` float, an array a list, `McMap` a
 * map (any hashable key, insertion order), `McStruct` a struct (its fields in type order), `McFunc`
 * a function. Printing follows the original's `%v`: strings quoted, maps sorted by key.
 */
import type { Type } from './types.js'
import { prune } from './types.js'

export type Value = boolean | string | bigint | number | readonly Value[] | McMap | McStruct | McFunc

export class McMap {
  readonly #entries = new Map<string, readonly [Value, Value]>()
  constructor(entries: Iterable<readonly [Value, Value]> = []) {
    for (const [k, v] of entries) this.#entries.set(keyOf(k), [k, v])
  }
  get size(): number {
    return this.#entries.size
  }
  get(k: Value): Value | undefined {
    return this.#entries.get(keyOf(k))?.[1]
  }
  has(k: Value): boolean {
    return this.#entries.has(keyOf(k))
  }
  entries(): (readonly [Value, Value])[] {
    return [...this.#entries.values()]
  }
  /** Entries sorted by key, the order the original iterates and prints maps in. */
  sorted(): (readonly [Value, Value])[] {
    return this.entries().sort((a, b) => compareValues(a[0], b[0]))
  }
}

export class McStruct {
  constructor(readonly fields: ReadonlyMap<string, Value>) {}
  get(name: string): Value | undefined {
    return this.fields.get(name)
  }
}

export class McFunc {
  constructor(
    /** Calls the function with evaluated arguments. */
    readonly call: (args: readonly Value[]) => Value,
    readonly arity: number,
  ) {}
}

/** A canonical text for a hashable value: map keys and equality. */
export function keyOf(v: Value): string {
  switch (typeof v) {
    case 'boolean':
      return v ? 'b1' : 'b0'
    case 'string':
      return `s${JSON.stringify(v)}`
    case 'bigint':
      return `i${v}`
    case 'number':
      return `f${Object.is(v, -0) ? 0 : v}`
    default:
      if (Array.isArray(v)) return `[${(v as Value[]).map(keyOf).join(',')}]`
      if (v instanceof McMap)
        return `{${v
          .sorted()
          .map(([k, x]) => `${keyOf(k)}:${keyOf(x)}`)
          .join(',')}}`
      if (v instanceof McStruct) return `(${[...v.fields].map(([k, x]) => `${k}=${keyOf(x)}`).join(',')})`
      return 'func'
  }
}

export const valueEquals = (a: Value, b: Value): boolean => keyOf(a) === keyOf(b)

export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b)
  const x = keyOf(a)
  const y = keyOf(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Wraps to a signed 64-bit integer. */
export const int64 = (n: bigint): bigint => BigInt.asIntN(64, n)

/**
 * The longest string a program may build (by `+`, `concat`, a count it gives a function): longer
 * ones would hang the evaluation, then end it with V8's "Invalid string length", or crash it.
 */
export const MAX_STRING = 64 * 1024 * 1024

/** A float in the shortest exact decimal form, never in exponent notation (`4.2`, `42`). */
export function formatFloat(f: number): string {
  if (!Number.isFinite(f)) return Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'
  const s = String(f)
  if (!s.includes('e')) return s
  const [mant, expText] = s.split('e') as [string, string]
  const exp = Number(expText)
  const neg = mant.startsWith('-')
  const digits = mant.replace('-', '').replace('.', '')
  const point = (mant.replace('-', '').indexOf('.') + 1 || mant.replace('-', '').length + 1) - 1 + exp
  let out: string
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length)
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`
  return neg ? `-${out}` : out
}

/** A string as Go's strconv.Quote writes it. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    switch (ch) {
      case '"':
        out += '\\"'
        break
      case '\\':
        out += '\\\\'
        break
      case '\n':
        out += '\\n'
        break
      case '\t':
        out += '\\t'
        break
      case '\r':
        out += '\\r'
        break
      case '\x07':
        out += '\\a'
        break
      case '\b':
        out += '\\b'
        break
      case '\f':
        out += '\\f'
        break
      case '\v':
        out += '\\v'
        break
      default:
        if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`
        else out += ch
    }
  }
  return `${out}"`
}

/** The original's `%v` text of a value: `"a"`, `42`, `4.2`, `[1, 2]`, `{"k": 1}`, `struct{a: 1}`. */
export function showValue(v: Value): string {
  switch (typeof v) {
    case 'boolean':
      return String(v)
    case 'string':
      return goQuote(v)
    case 'bigint':
      return String(v)
    case 'number':
      return formatFloat(v)
    default:
      if (Array.isArray(v)) return `[${(v as Value[]).map(showValue).join(', ')}]`
      if (v instanceof McMap)
        return `{${v
          .sorted()
          .map(([k, x]) => `${showValue(k)}: ${showValue(x)}`)
          .join(', ')}}`
      if (v instanceof McStruct)
        return `struct{${[...v.fields].map(([k, x]) => `${k}: ${showValue(x)}`).join('; ')}}`
      return 'func'
  }
}

/** The zero value of a type (what an unset field holds in the original). */
export function zeroValue(t: Type): Value {
  const p = prune(t)
  switch (p.k) {
    case 'bool':
      return false
    case 'str':
      return ''
    case 'int':
      return 0n
    case 'float':
      return 0
    case 'list':
      return []
    case 'map':
      return new McMap()
    case 'struct':
      return new McStruct(new Map(p.fields.map(f => [f.name, zeroValue(f.type)])))
    default:
      return ''
  }
}

/** The value's kind name, for messages. */
export function kindOfValue(v: Value): string {
  switch (typeof v) {
    case 'boolean':
      return 'bool'
    case 'string':
      return 'str'
    case 'bigint':
      return 'int'
    case 'number':
      return 'float'
    default:
      if (Array.isArray(v)) return 'list'
      if (v instanceof McMap) return 'map'
      if (v instanceof McStruct) return 'struct'
      return 'func'
  }
}

/** A plain JavaScript form of a value, for the engine's params (maps become objects). */
export function toPlain(v: Value): unknown {
  switch (typeof v) {
    case 'bigint':
      return Number(v)
    case 'boolean':
    case 'string':
    case 'number':
      return v
    default:
      if (Array.isArray(v)) return (v as Value[]).map(toPlain)
      if (v instanceof McMap)
        return Object.fromEntries(v.entries().map(([k, x]) => [plainKey(k), toPlain(x)]))
      if (v instanceof McStruct) return Object.fromEntries([...v.fields].map(([k, x]) => [k, toPlain(x)]))
      return undefined
  }
}

const plainKey = (k: Value): string =>
  typeof k === 'string' ? k : typeof k === 'number' ? formatFloat(k) : String(toPlain(k))
