/** `noop`: does nothing; a placeholder vertex and a refresh receiver that logs. */
import { z } from 'zod'
import { defineResource } from '../engine/resource.js'

/** Params of `noop`. Keys are the YAML names, verbatim. */
export const NoopParams = z
  .object({
    /** A free-form comment; ignored. */
    comment: z.string().default(''),
  })
  .strict()

export const noop = defineResource({
  kind: 'noop',
  params: NoopParams,
  traits: { refreshable: true, groupable: true, pathWatch: true },
  init(_params, ctx) {
    return {
      // Nothing to follow: ready at once, and nothing left in flight.
      async watch() {
        ctx.event()
      },
      async checkApply(apply) {
        if (ctx.refresh()) ctx.log.info(apply ? 'received a notification' : 'would act on a notification')
        return true
      },
    }
  },
})
