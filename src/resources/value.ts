/**
 * `value`: holds one value of any type and sends it as `any`. The value comes from its own `any`
 * parameter or, more usefully, from another resource through send/recv (`recv: any`). It is kept
 * in the resource's state directory, so after a restart it is sent again at once, before any
 * sender has run; with no value of its own and none kept, it sends nothing.
 */
import { isDeepStrictEqual } from 'node:util'
import { z } from 'zod'
import { defineResource, type StateFiles, untilAborted } from '../engine/resource.js'

/** Params of `value`. Keys are the YAML names, verbatim. */
export const ValueParams = z
  .object({
    /** The value: any type; usually received from another resource. */
    any: z.unknown().optional(),
  })
  .strict()

const KEPT = 'value.json'

/**
 * The kept value, or undefined when there is none. A kept file that cannot be read (broken by hand)
 * keeps nothing: the next value replaces it, instead of every check failing on it.
 */
export async function readKept(state: StateFiles): Promise<{ value: unknown } | undefined> {
  const kept = await state.readJson(KEPT)
  return kept && typeof kept === 'object' && 'value' in kept ? { value: kept.value } : undefined
}

/** Keeps `value`, atomically. */
export async function writeKept(state: StateFiles, value: unknown): Promise<void> {
  await state.write(KEPT, JSON.stringify({ value }))
}

export const value = defineResource({
  kind: 'value',
  params: ValueParams,
  anyText: ['any'],
  sends: { any: z.unknown() },
  init(params, ctx) {
    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply) {
        const kept = await readKept(ctx.state)
        const want = params.any
        if (want === undefined) {
          if (kept) ctx.send({ any: kept.value })
          return true
        }
        if (kept && isDeepStrictEqual(kept.value, want)) {
          ctx.send({ any: want })
          return true
        }
        const shown = ctx.recv().any?.sensitive ? '(sensitive content changed)' : JSON.stringify(want)
        if (!apply) {
          ctx.log.info(`would keep a new value: ${shown}`)
          ctx.send({ any: want })
          return false
        }
        await writeKept(ctx.state, want)
        ctx.log.info(`keeps a new value: ${shown}`)
        ctx.send({ any: want })
        return false
      },
    }
  },
})
