/**
 * `fmt.printf(format, ...)`: verbs `%s %q %d %f %t %v %T %%`, no widths or flags. When the format
 * is a constant, it decides the number and types of the other arguments at compile time.
 */
import { LangError } from '../errors.js'
import { kindName, prune, T, type Type, typeString } from '../types.js'
import { formatFloat, goQuote, kindOfValue, McMap, McStruct, showValue, type Value } from '../values.js'
import type { Builtin } from './builtin.js'

const verbTypes: Readonly<Record<string, Type | undefined>> = {
  t: T.bool,
  s: T.str,
  q: T.str,
  d: T.int,
  f: T.float,
  v: undefined,
  T: undefined,
}

/** The verbs of a format string, in order. Throws on an unknown verb. */
export function formatVerbs(format: string): string[] {
  const verbs: string[] = []
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue
    i++
    if (format[i] === '%') continue
    const v = format[i]
    if (v === undefined || !(v in verbTypes)) throw new Error(`invalid format string at ${i}`)
    verbs.push(v)
  }
  return verbs
}

const argName = (i: number): string => String.fromCharCode(97 + (i % 26)).repeat(1 + Math.floor(i / 26))

export const printf: Builtin = {
  pure: true,
  infer: ({ argc, types, values }) => {
    if (argc === 0) throw new Error('must have at least one arg')
    const format = values[0]
    const args = [{ name: 'format', type: T.str as Type }]
    if (typeof format !== 'string') {
      for (let i = 1; i < argc; i++) args.push({ name: argName(i - 1), type: T.fresh() })
      return T.func(args, T.str)
    }
    const verbs = formatVerbs(format)
    if (verbs.length !== argc - 1)
      throw new Error(`number of args (${argc - 1}) doesn't match format string verb count (${verbs.length})`)
    for (const [i, v] of verbs.entries()) {
      const want = verbTypes[v] ?? T.fresh()
      const have = types[i + 1]
      if (have && verbTypes[v]) {
        const h = prune(have)
        if (h.k !== 'var' && h.k !== want.k)
          throw new Error(
            `inconsistent type at arg index ${i + 1}: type error: ${kindName(h)} != ${kindName(want)}`,
          )
      }
      args.push({ name: argName(i), type: want })
    }
    return T.func(args, T.str)
  },
  run: (args, ctx) => {
    const format = args[0] as string
    let out = ''
    let ix = 1
    for (let i = 0; i < format.length; i++) {
      const c = format[i]!
      if (c !== '%') {
        out += c
        continue
      }
      const v = format[++i]
      if (v === '%') {
        out += '%'
        continue
      }
      if (v === undefined || !(v in verbTypes)) {
        out += `<invalid format \`${v}\` at ${i}>`
        continue
      }
      if (ix >= args.length) {
        out += `<invalid format length \`${ix - 1}\` at ${i}>`
        continue
      }
      const value = args[ix]!
      const want = verbTypes[v]
      if (want && kindOfValue(value) !== want.k)
        throw new LangError(
          'run',
          `unexpected type: base kind does not match (${want.k} != ${kindOfValue(value)})`,
          [ctx.span],
        )
      if (v === 'T') out += typeString(ctx.sig.args[ix]?.type ?? T.str)
      else if (v === 'q') out += goQuote(value as string)
      else out += valueText(value)
      ix++
    }
    return out
  },
}

/** `%v` and friends: floats and composites in mcl syntax, the rest as plain text. */
export function valueText(v: Value): string {
  if (typeof v === 'number') return formatFloat(v)
  if (Array.isArray(v) || v instanceof McMap || v instanceof McStruct) return showValue(v)
  return String(v)
}

export const fmtPackage: Record<string, Builtin> = { printf }
