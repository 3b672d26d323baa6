/**
 * `kv`: a key in the world, the store every host of the cluster shares (the local world on one
 * host; etcd in a cluster). It keeps `key` at `value`, or deletes it when there is no `value`. A
 * value written by anyone else (another host, etcdctl) is drift: the watch sees it and it is put
 * back at once. With `mapped`, the key is this host's own entry of a per-host key (every host
 * has one, and reads them all). With `skiplessthan`, a greater value already stored is kept (a
 * counter that only moves forward, by number or, with `skipcmpstyle: 1`, by string); a
 * notification forces the exact value anyway. The value may be received from another resource,
 * and the current value is sent on as `value`.
 */
import { z } from 'zod'
import { defineResource, type ResourceContext, untilAborted } from '../engine/resource.js'
import type { Issue } from '../util/errors.js'

/** Params of `kv`. Keys are the YAML names, verbatim. */
export const KvParams = z
  .object({
    /** The key; defaults to the resource name. */
    key: z.string().default(''),
    /** The value to keep; absent: the key is deleted. May be received from another resource. */
    value: z.string().optional(),
    /** This host's own entry of a per-host key, instead of one key shared by all hosts. */
    mapped: z.boolean().default(false),
    /** Keep a greater value that is already stored (unless notified). */
    skiplessthan: z.boolean().default(false),
    /** How `skiplessthan` compares: 0 as whole numbers, 1 as strings. */
    skipcmpstyle: z.union([z.literal(0), z.literal(1)]).default(0),
  })
  .strict()

type Params = z.output<typeof KvParams>

const isInt = (s: string): boolean => /^[+-]?\d+$/.test(s.trim())

/** Is the stored value one that `skiplessthan` keeps (greater than the wanted one)? */
function storedIsGreater(p: Params, stored: string, want: string): boolean {
  if (p.skipcmpstyle === 1) return want < stored
  // A stored value that is not a number is old or corrupt: it is overwritten.
  return isInt(stored) && Number(want) < Number(stored)
}

/** The key's current value and how to change it, plain or per host. */
function access(p: Params, ctx: ResourceContext<{ value: string }>) {
  const w = ctx.world
  return p.mapped
    ? {
        get: async () => (await w.strMapGet(p.key))[ctx.hostname],
        set: (v: string) => w.strMapSet(p.key, v),
        del: () => w.strMapDel(p.key),
        watch: (signal: AbortSignal) => w.strMapWatch(p.key, signal, () => ctx.event()),
      }
    : {
        get: () => w.strGet(p.key),
        set: (v: string) => w.strSet(p.key, v),
        del: () => w.strDel(p.key),
        watch: (signal: AbortSignal) => w.strWatch(p.key, signal, () => ctx.event()),
      }
}

export const kv = defineResource({
  kind: 'kv',
  params: KvParams,
  anyText: ['value'],
  traits: { refreshable: true },
  sends: { value: z.string() },
  normalize: (p, name) => ({ ...p, key: p.key || name }),
  validate(p) {
    const out: Issue[] = []
    if (p.skiplessthan && p.skipcmpstyle === 0 && p.value !== undefined && !isInt(p.value))
      out.push({
        path: ['value'],
        message: `\`${p.value}\` is not a whole number (skipcmpstyle 0 compares numbers)`,
      })
    return out
  },
  init(p, ctx) {
    const key = p.mapped ? `${p.key} (${ctx.hostname}'s entry)` : p.key
    const store = access(p, ctx)
    return {
      async watch(signal) {
        await store.watch(signal) // its first call is the startup event
        await untilAborted(signal)
      },
      async checkApply(apply) {
        if (ctx.recv().value?.changed) ctx.log.info(`received the value ${JSON.stringify(p.value ?? null)}`)
        const stored = await store.get()
        const want = p.value
        if (want === undefined) {
          if (stored === undefined) return true
          if (!apply) {
            ctx.log.info(`would delete ${key}`)
            return false
          }
          await store.del()
          ctx.log.info(`deleted ${key}`)
          return false
        }
        if (
          stored === want ||
          (stored !== undefined && p.skiplessthan && !ctx.refresh() && storedIsGreater(p, stored, want))
        ) {
          ctx.send({ value: stored })
          return true
        }
        if (!apply) {
          ctx.log.info(
            `would set ${key} to ${JSON.stringify(want)}${stored === undefined ? '' : ` (it is ${JSON.stringify(stored)})`}`,
          )
          return false
        }
        await store.set(want)
        ctx.log.info(`set ${key} to ${JSON.stringify(want)}`)
        ctx.send({ value: want })
        return false
      },
    }
  },
})
