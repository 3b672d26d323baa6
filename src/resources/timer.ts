/**
 * `timer`: a ticker. Watch sends an event every `interval` seconds; checkApply is always true,
 * so a tick never notifies downstream: `timer -> exec` only orders the exec after it. A
 * notification restarts the ticker (a full interval from now), which is this kind's only apply.
 */
import { z } from 'zod'
import { defineResource, untilAborted } from '../engine/resource.js'
import { MAX_TIMER_S } from '../util/timers.js'

/** Params of `timer`. Keys are the YAML names, verbatim. */
export const TimerParams = z
  .object({
    /** Seconds between ticks. */
    interval: z.number().int().positive().max(MAX_TIMER_S),
  })
  .strict()

export const timer = defineResource({
  kind: 'timer',
  params: TimerParams,
  traits: { refreshable: true },
  init(params, ctx) {
    /** Restarts the running ticker; set by watch while it runs. */
    let restart: (() => void) | undefined

    return {
      async watch(signal) {
        let ticker: NodeJS.Timeout | undefined
        const start = (): void => {
          clearInterval(ticker)
          ticker = setInterval(() => {
            if (ctx.debug) ctx.log.debug('tick')
            ctx.event()
          }, params.interval * 1000)
        }
        start()
        restart = start
        ctx.event()
        try {
          await untilAborted(signal)
        } finally {
          clearInterval(ticker)
          restart = undefined
        }
      },
      async checkApply(apply) {
        if (!ctx.refresh()) return true
        if (!apply) {
          ctx.log.info('would restart the ticker')
          return false
        }
        restart?.()
        ctx.log.info('received a notification: restarted the ticker')
        return false
      },
    }
  },
})
