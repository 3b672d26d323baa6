/** The builtins with no package: len, contains, concat, the lookups, panic, history, random1. */
import { randomBytes } from 'node:crypto'
import type { FuncType } from '../types.js'
import { prune } from '../types.js'
import { MAX_STRING, McMap, showValue, type Value, valueEquals } from '../values.js'
import type { Builtin, RunContext } from './builtin.js'

/** A value as an error quotes it: a list of 100,000 items is cut after its first few. */
function quoted(v: Value): string {
  const s = showValue(v)
  return s.length > 200 ? `${s.slice(0, 197)}...` : s
}

/** `list[index]`, or a catchable error. */
export function listLookup(list: readonly Value[], index: bigint, ctx: Pick<RunContext, 'fail'>): Value {
  if (index < 0n || index >= BigInt(list.length))
    throw ctx.fail(`list index not present, got: ${index}, len is: ${list.length}, in: ${quoted(list)}`)
  return list[Number(index)]!
}

/** `map[key]`, or a catchable error. */
export function mapLookup(map: McMap, key: Value, ctx: Pick<RunContext, 'fail'>): Value {
  const v = map.get(key)
  if (v === undefined) throw ctx.fail(`map key not present, want: ${quoted(key)} in ${quoted(map)}`)
  return v
}

const argKind = (sig: FuncType, i: number): string => prune(sig.args[i]?.type ?? sig.out).k

export const len: Builtin = {
  sig: 'func(?1) int',
  pure: true,
  check: sig =>
    ['str', 'list', 'map'].includes(argKind(sig, 0))
      ? undefined
      : `len of a ${argKind(sig, 0)}: did not match str, list or map`,
  run: ([v]) =>
    typeof v === 'string'
      ? BigInt(Buffer.byteLength(v))
      : v instanceof McMap
        ? BigInt(v.size)
        : BigInt((v as readonly Value[]).length),
}

export const listLookupFn: Builtin = {
  sig: 'func(list []?1, index int) ?1',
  pure: true,
  run: ([l, i], ctx) => listLookup(l as Value[], i as bigint, ctx),
}

export const mapLookupFn: Builtin = {
  sig: 'func(map map{?1: ?2}, key ?1) ?2',
  pure: true,
  run: ([m, k], ctx) => mapLookup(m as McMap, k!, ctx),
}

export const corePackage: Record<string, Builtin> = {
  len,
  contains: {
    sig: 'func(needle ?1, haystack []?1) bool',
    pure: true,
    run: ([needle, hay]) => (hay as Value[]).some(v => valueEquals(v, needle!)),
  },
  concat: {
    sig: 'func(a str, b str) str',
    pure: true,
    run: ([a, b], ctx) => {
      const n = (a as string).length + (b as string).length
      if (n > MAX_STRING) throw ctx.fail(`a string of ${n} characters is longer than ${MAX_STRING}`)
      return (a as string) + (b as string)
    },
  },
  list_lookup: listLookupFn,
  map_lookup: mapLookupFn,
  history: {
    sig: 'func(value ?1, index int) ?1',
    // The value as it was `index` ms ago: once, that is the value now.
    run: ([v]) => v!,
  },
  random1: {
    sig: 'func(length int) str',
    run: ([n], ctx) => {
      if ((n as bigint) < 0n || (n as bigint) > BigInt(MAX_STRING))
        throw ctx.fail(`random1: a length of ${n} is not between 0 and ${MAX_STRING}`)
      const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
      return [...randomBytes(Number(n))].map(b => alphabet[b % alphabet.length]).join('')
    },
  },
  panic_debug: {
    sig: 'func(x bool, err str) bool',
    run: ([x]) => x!,
  },
}
