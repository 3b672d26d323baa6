/**
 * `print`: logs its message. It prints when the message differs from the last one it printed (so
 * once at start), when a received `msg` changed, and on a notification; with `refresh_only` it
 * prints on a notification only. A print returns false, so it can notify downstream.
 */
import { z } from 'zod'
import { defineResource, untilAborted } from '../engine/resource.js'

/** Params of `print`. Keys are the YAML names, verbatim. */
export const PrintParams = z
  .object({
    /** The message to print; may be received from another resource. */
    msg: z.string().default(''),
    /** Print only when notified, not when the message changes. */
    refresh_only: z.boolean().default(false),
  })
  .strict()

export const print = defineResource({
  kind: 'print',
  params: PrintParams,
  anyText: ['msg'],
  traits: { refreshable: true, groupable: true },
  /** Prints that wait for a notification keep their own vertex: a notification is per resource. */
  groupCmp: (a, b) => !a.refresh_only && !b.refresh_only,
  init(params, ctx) {
    /** What was printed last; undefined before the first print. */
    let printed: string | undefined

    /** Print now? On a notification; unless refresh_only, also for a new or received message. */
    const due = (refresh: boolean): boolean =>
      refresh || (!params.refresh_only && (printed !== params.msg || ctx.recv().msg?.changed === true))

    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply) {
        const refresh = ctx.refresh()
        if (!due(refresh)) return true
        // A secret received into msg is never printed.
        const shown = ctx.recv().msg?.sensitive ? '(sensitive content changed)' : params.msg
        if (!apply) {
          ctx.log.info(`would print: ${shown}`)
          return false
        }
        if (refresh) ctx.log.info('received a notification')
        ctx.log.info(shown)
        printed = params.msg
        return false
      },
    }
  },
})
