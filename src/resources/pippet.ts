/**
 * `pippet`: one Puppet resource, applied by Puppet itself. The Puppet frontend gives it every
 * resource it has no native kind for (a `cron`, a `mount`, a module's own type, or a `file` whose
 * params mgmt cannot express), so that nothing in a manifest is silently dropped.
 *
 * It applies through the persistent Puppet child (`frontends/puppet/child.ts`): its resource alone
 * in a catalog of its own, as `puppet resource TYPE TITLE k=v` would, in milliseconds once Puppet
 * is loaded. A check is the same apply with Puppet's `noop`. Puppet has no way to watch a resource,
 * so `pippet` is checked at start and whenever meta `poll` says (the frontend sets it from
 * `--puppet-interval`). A notification refreshes the resource the way Puppet does (a `service`
 * restarts, a `mount` remounts) when its type knows how.
 */
import { z } from 'zod'
import { defineResource, untilAborted } from '../engine/resource.js'
import { fallbackSettings, leasePuppet } from '../frontends/puppet/pool.js'
import { isMgmtError } from '../util/errors.js'

/** Params given as a mapping, or as a JSON object in a string (the original's YAML wrote them so). */
const PuppetParams = z.union([z.record(z.string(), z.unknown()), z.string()]).transform((v, c) => {
  if (typeof v !== 'string') return v
  try {
    const o = JSON.parse(v) as unknown
    if (typeof o === 'object' && o !== null && !Array.isArray(o)) return o as Record<string, unknown>
  } catch {
    // reported below
  }
  c.addIssue({ code: 'custom', message: 'expected a mapping, or a JSON object as a string' })
  return z.NEVER
})

/** Params of `pippet`. Keys are the YAML names, verbatim. */
export const PippetParams = z
  .object({
    /** The Puppet type, lower case: `cron`, `mount`, or a module's type. */
    type: z.string().min(1),
    /** The resource's title; the resource's name when empty. */
    title: z.string().default(''),
    /** Its params, with Puppet's names and values. */
    params: PuppetParams.default({}),
    /** Params whose values never appear in logs (Puppet's `Sensitive`). */
    sensitive: z.array(z.string()).default([]),
  })
  .strict()

/** What the child replies to an apply. */
interface ApplyReply {
  readonly insync: boolean
  readonly changed: boolean
  readonly failed: boolean
  readonly events: readonly string[]
  readonly logs: readonly { readonly level: string; readonly message: string }[]
}

export const pippet = defineResource({
  kind: 'pippet',
  params: PippetParams,
  anyText: ['params'],
  traits: { refreshable: true },
  normalize(p, name) {
    return { ...p, type: p.type.toLowerCase(), title: p.title || name }
  },
  init(p, ctx) {
    // The child starts on the first request, not here.
    const lease = leasePuppet(fallbackSettings(), ctx.log)
    const what = `${p.type} { '${p.title}': }`
    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply) {
        const refresh = ctx.refresh()
        let r: ApplyReply
        try {
          r = (await lease.child.request({
            op: 'apply',
            type: p.type,
            title: p.title,
            params: p.params,
            sensitive: p.sensitive,
            noop: !apply,
            refresh,
          })) as unknown as ApplyReply
        } catch (err) {
          if (isMgmtError(err)) throw err
          throw new Error(`Puppet could not apply ${what}: ${(err as Error).message}`)
        }
        if (r.failed) {
          const why = [...r.events, ...r.logs.filter(l => l.level === 'err').map(l => l.message)]
          throw new Error(
            `Puppet failed to apply ${what}: ${[...new Set(why)].join('; ') || 'no reason given'}`,
          )
        }
        if (r.insync && !r.changed) return true
        // Puppet's own event messages; in noop mode they end in `(noop)`.
        for (const e of r.events) ctx.log.info(e)
        if (!r.events.length) ctx.log.info(apply ? 'applied by Puppet' : 'Puppet would change it (noop)')
        return false
      },
      async cleanup() {
        await lease.release()
      },
    }
  },
})
