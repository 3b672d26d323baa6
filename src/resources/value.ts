/**
 * `value`: holds one value of any type and sends it as `any`. The value comes from its own `any`
 * parameter or, more usefully, from another resource through send/recv (`recv: any`). It is kept
 * in the resource's state directory, so after a restart it is sent again at once, before any
 * sender has run; with no value of its own and none kept, it sends nothing.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { z } from 'zod'
import { defineResource, untilAborted } from '../engine/resource.js'
import { writeStateFile } from '../util/statefile.js'

/** Params of `value`. Keys are the YAML names, verbatim. */
export const ValueParams = z
  .object({
    /** The value: any type; usually received from another resource. */
    any: z.unknown().optional(),
  })
  .strict()

/** The kept value, or undefined when there is none. */
export async function readKept(file: string): Promise<{ value: unknown } | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { value: unknown }
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined
    throw e
  }
}

/** Keeps `value` in `file`, atomically. */
export async function writeKept(file: string, value: unknown): Promise<void> {
  await writeStateFile(file, JSON.stringify({ value }))
}

export const value = defineResource({
  kind: 'value',
  params: ValueParams,
  sends: { any: z.unknown() },
  init(params, ctx) {
    const file = async (): Promise<string> => join(await ctx.varDir(), 'value.json')
    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply) {
        const kept = await readKept(await file())
        const want = params.any
        if (want === undefined) {
          if (kept) ctx.send({ any: kept.value })
          return true
        }
        if (kept && isDeepStrictEqual(kept.value, want)) {
          ctx.send({ any: want })
          return true
        }
        if (!apply) {
          ctx.log.info(`would keep a new value: ${JSON.stringify(want)}`)
          ctx.send({ any: want })
          return false
        }
        await writeKept(await file(), want)
        ctx.log.info(`keeps a new value: ${JSON.stringify(want)}`)
        ctx.send({ any: want })
        return false
      },
    }
  },
})
