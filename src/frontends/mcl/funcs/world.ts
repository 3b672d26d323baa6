/**
 * Builtins that read shared or host-local state (`world`, `value`, `local`, `util`) and the demo
 * packages (`example`, `test`). The world and value functions read through the host's `outside`
 * (`run/outside.ts`: the world as the run shares it, and what `value` resources keep); without
 * one (`mgmt check`, the conformance runner) they see an empty world: no key, no export, no value
 * ready.
 */

import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { LangError } from '../errors.js'
import { prune, T } from '../types.js'
import { MAX_STRING, McMap, McStruct, type Value, zeroValue } from '../values.js'
import type { Builtin } from './builtin.js'
import { fromJson } from './text.js'

const struct = (o: Record<string, Value>): McStruct => new McStruct(new Map(Object.entries(o)))

export const worldPackage: Record<string, Builtin> = {
  getval: {
    sig: 'func(key str) struct{value str; exists bool}',
    run: ([key], ctx) => {
      const v = ctx.host.outside?.string(key as string)
      return struct({ value: v ?? '', exists: v !== undefined })
    },
  },
  kvlookup: {
    sig: 'func(namespace str) map{str: str}',
    run: ([ns], ctx) => new McMap(Object.entries(ctx.host.outside?.map(ns as string) ?? {})),
  },
  // Hosts are elected by `schedule` resources, a kind this version does not have: nobody is.
  schedule: { sig: 'func(namespace str) []str', run: () => [] },
}

export const worldCollectPackage: Record<string, Builtin> = {
  res: {
    sig: 'func(kind str) []struct{name str; host str}',
    run: ([kind], ctx) =>
      (ctx.host.outside?.exports() ?? [])
        .filter(r => r.kind === kind)
        .map(r => struct({ name: r.name, host: r.host })),
  },
}

/** What a `value` resource keeps, as the call's type; not ready when there is none or it has another type. */
const getter = (type: string): Builtin => ({
  sig: `func(key str) struct{value ${type}; ready bool}`,
  run: ([key], ctx) => {
    const out = prune(ctx.sig.out)
    const valueType = out.k === 'struct' ? out.fields[0]!.type : T.str
    const kept = ctx.host.outside?.value(key as string)
    if (kept)
      try {
        return struct({ value: fromJson(kept.value, valueType, false), ready: true })
      } catch {}
    return struct({ value: zeroValue(valueType), ready: false })
  },
})

export const valuePackage: Record<string, Builtin> = {
  get: getter('?1'),
  get_bool: getter('bool'),
  get_str: getter('str'),
  get_int: getter('int'),
  get_float: getter('float'),
}

export const localPackage: Record<string, Builtin> = {
  pool: {
    sig: 'func(namespace str, uid str) int',
    // Without the local store, each namespace allocates in the order of first use, from 1.
    run: ([ns, uid], ctx) => {
      const key = `pool\0${ns}`
      const pool = (ctx.scratch.get(key) as Map<string, bigint> | undefined) ?? new Map<string, bigint>()
      ctx.scratch.set(key, pool)
      if (!pool.has(uid as string)) pool.set(uid as string, BigInt(pool.size + 1))
      return pool.get(uid as string)!
    },
  },
  vardir: {
    sig: 'func(path str) str',
    run: ([p], ctx) => `${join(ctx.host.varDir ?? join(tmpdir(), 'mgmt-lang'), 'local', p as string)}/`,
  },
}

export const utilPackage: Record<string, Builtin> = {
  hostname_mapper: {
    sig: 'func(map{str:str}) str',
    run: ([m]) => {
      const macs = new Set(
        Object.values(networkInterfaces())
          .flat()
          .map(a => a?.mac.toLowerCase()),
      )
      for (const [k, v] of (m as McMap).sorted()) if (macs.has((k as string).toLowerCase())) return v
      return ''
    },
  },
}

export const examplePackage: Record<string, Builtin> = {
  answer: { sig: 'func() int', pure: true, run: () => 42n },
  errorbool: {
    sig: 'func(a bool) str',
    run: ([b], ctx) => {
      if (b) throw new LangError('run', 'we errored on request', [ctx.span])
      return 'set input to true to generate an error'
    },
  },
  int2str: { sig: 'func(a int) str', pure: true, run: ([n]) => String(n) },
  str2int: {
    sig: 'func(a str) int',
    pure: true,
    run: ([s]) => (/^-?\d+$/.test(s as string) ? BigInt(s as string) : 0n),
  },
  plus: { sig: 'func(y str, z str) str', pure: true, run: ([y, z]) => `${y} + ${z}` },
  flipflop: { sig: 'func() bool', run: () => false },
  vumeter: {
    sig: 'func(symbol str, multiplier int, peak float) str',
    run: ([sym, mult]) => (sym as string).repeat(Math.max(0, Number(mult))),
  },
}

export const exampleNestedPackage: Record<string, Builtin> = {
  hello: { sig: 'func() str', pure: true, run: () => 'Hello!' },
}

const instance: Builtin = { sig: 'func() str', run: () => 'hello' }

export const testPackage: Record<string, Builtin> = {
  fastcount: { sig: 'func() int', run: () => 0n },
  forloop: { sig: 'func() []str', run: () => ['a', 'b', 'c'] },
  forkvloop: { sig: 'func() map{str: str}', run: () => new McMap([['a', 'b']]) },
  one_instance_a: instance,
  one_instance_b: instance,
  one_instance_c: instance,
  one_instance_d: instance,
  one_instance_e: instance,
  one_instance_f: instance,
  one_instance_g: instance,
  one_instance_h: instance,
  one_stream: {
    sig: 'func(count int) str',
    run: ([n], ctx) => {
      if ((n as bigint) < 0n || (n as bigint) > BigInt(MAX_STRING))
        throw ctx.fail(`one_stream: a count of ${n} is not between 0 and ${MAX_STRING}`)
      return 'x'.repeat(Number(n))
    },
  },
  slow_string: { sig: 'func() str', run: () => 'slow' },
}
