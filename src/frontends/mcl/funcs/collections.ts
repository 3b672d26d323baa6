/** Numbers and collections: `math`, `list`, `map`, `iter`. */
import { prune, T, type Type } from '../types.js'
import { int64, type McFunc, type McMap, type Value } from '../values.js'
import type { Builtin } from './builtin.js'
import { listLookupFn, mapLookupFn } from './core.js'

const numeric = (t: Type): boolean => ['int', 'float'].includes(prune(t).k)

/** A float result that is not a number is a catchable error. */
const finite = (f: number, what: string, fail: (r: string) => Error): number => {
  if (!Number.isFinite(f)) throw fail(`${what} result is not a finite number: ${f}`)
  return f
}

export const mathPackage: Record<string, Builtin> = {
  fortytwo: {
    sig: 'func() ?1',
    pure: true,
    check: sig =>
      numeric(sig.out) ? undefined : `fortytwo returns an int or a float, not ${prune(sig.out).k}`,
    run: (_a, ctx) => (prune(ctx.sig.out).k === 'float' ? 42 : 42n),
  },
  minus1: { sig: 'func(x int) int', pure: true, run: ([x]) => int64((x as bigint) - 1n) },
  mod: {
    sig: 'func(?1, ?1) ?1',
    pure: true,
    check: sig => (numeric(sig.out) ? undefined : `mod of a ${prune(sig.out).k}: did not match int or float`),
    run: ([a, b], ctx) => {
      if (typeof a === 'bigint') {
        if (b === 0n) throw ctx.fail('can not divide by zero')
        return a % (b as bigint)
      }
      return finite((a as number) % (b as number), 'mod', r => ctx.fail(r))
    },
  },
  pow: {
    sig: 'func(x float, y float) float',
    pure: true,
    run: ([x, y], ctx) => finite((x as number) ** (y as number), 'pow', r => ctx.fail(r)),
  },
  sqrt: {
    sig: 'func(x float) float',
    pure: true,
    run: ([x], ctx) => finite(Math.sqrt(x as number), 'sqrt', r => ctx.fail(r)),
  },
}

export const listPackage: Record<string, Builtin> = {
  concat: {
    pure: true,
    infer: ({ argc }) => {
      const elem = T.fresh()
      return T.func(
        Array.from({ length: argc }, (_v, i) => ({ name: `l${i}`, type: T.list(elem) })),
        T.list(elem),
      )
    },
    run: args => (args as Value[][]).flat(),
  },
  lookup: listLookupFn,
}

export const mapPackage: Record<string, Builtin> = {
  keys: { sig: 'func(x map{?1: ?2}) []?1', pure: true, run: ([m]) => (m as McMap).sorted().map(([k]) => k) },
  values: {
    sig: 'func(x map{?1: ?2}) []?2',
    pure: true,
    run: ([m]) => (m as McMap).sorted().map(([, v]) => v),
  },
  lookup: mapLookupFn,
}

const call = (fn: Value, ctx: { apply(f: McFunc, a: readonly Value[]): Value }, ...args: Value[]): Value =>
  ctx.apply(fn as McFunc, args)

export const iterPackage: Record<string, Builtin> = {
  map: {
    sig: 'func(inputs []?1, function func(?1) ?2) []?2',
    run: ([l, f], ctx) => (l as Value[]).map(x => call(f!, ctx, x)),
  },
  filter: {
    sig: 'func(inputs []?1, function func(?1) bool) []?1',
    run: ([l, f], ctx) => (l as Value[]).filter(x => call(f!, ctx, x) === true),
  },
  reduce: {
    infer: ({ argc }) => {
      const a = T.fresh()
      const fn = T.func(
        [
          { name: 'x', type: a },
          { name: 'y', type: a },
        ],
        a,
      )
      if (argc === 2)
        return T.func(
          [
            { name: 'inputs', type: T.list(a) },
            { name: 'function', type: fn },
          ],
          a,
        )
      if (argc === 3)
        return T.func(
          [
            { name: 'initval', type: a },
            { name: 'inputs', type: T.list(a) },
            { name: 'function', type: fn },
          ],
          a,
        )
      throw new Error(`reduce takes 2 or 3 args, got ${argc}`)
    },
    run: (args, ctx) => {
      const [init, list, f] = args.length === 3 ? args : [undefined, args[0], args[1]]
      const items = [...(list as Value[])]
      let acc = init
      if (acc === undefined) {
        if (!items.length) throw ctx.fail('reduce of an empty list with no initial value')
        acc = items.shift()!
      }
      for (const x of items) acc = call(f!, ctx, acc, x)
      return acc
    },
  },
  zip: {
    sig: 'func(inputs1 []?1, inputs2 []?2, function func(x ?1, y ?2) ?3) []?3',
    run: ([a, b, f], ctx) => {
      const xs = a as Value[]
      const ys = b as Value[]
      return Array.from({ length: Math.min(xs.length, ys.length) }, (_v, i) => call(f!, ctx, xs[i]!, ys[i]!))
    },
  },
  flatten: { sig: 'func(inputs [][]?1) []?1', pure: true, run: ([l]) => (l as Value[][]).flat() },
  range: {
    pure: true,
    infer: ({ argc }) => {
      if (argc < 1 || argc > 3) throw new Error(`range takes 1 to 3 args, got ${argc}`)
      return T.func(
        Array.from({ length: argc }, (_v, i) => ({ name: ['start', 'stop', 'step'][i]!, type: T.int })),
        T.list(T.int),
      )
    },
    run: (args, ctx) => {
      const [start, stop, step] =
        args.length === 1
          ? [0n, args[0] as bigint, 1n]
          : [args[0] as bigint, args[1] as bigint, (args[2] ?? 1n) as bigint]
      if (step === 0n) throw ctx.fail('range step must not be zero')
      const out: Value[] = []
      for (let i = start; step > 0n ? i < stop : i > stop; i += step) {
        out.push(i)
        if (out.length > 10_000_000) throw ctx.fail('range too long')
      }
      return out
    },
  },
}
