/**
 * `group`: a local group, present (with its gid, when given) or absent. It watches `/etc/group`:
 * a group deleted or renumbered by hand is repaired at once. groupadd, groupmod and groupdel run as
 * argument arrays.
 */
import { z } from 'zod'
import { defineResource, untilAborted } from '../engine/resource.js'
import { MAX_ID } from '../util/ids.js'
import { ACCOUNT_NAME, GROUP, readGroups, shadowTool } from './user/accounts.js'

/** Params of `group`. Keys are the YAML names, verbatim. */
export const GroupParams = z
  .object({
    /** `exists` or `absent`. */
    state: z.enum(['exists', 'absent']),
    /** The numeric id; unset: chosen by groupadd, and left as it is. */
    gid: z.number().int().min(0).max(MAX_ID).optional(),
  })
  .strict()

export type GroupParams = z.output<typeof GroupParams>

export const group = defineResource({
  kind: 'group',
  params: GroupParams,
  validate: (_p, name) =>
    ACCOUNT_NAME.test(name) ? [] : [{ path: ['name'], message: `\`${name}\` is not a valid group name` }],
  uids: (p, name) => [`group:${name}`, ...(p.gid !== undefined ? [`groupgid:${p.gid}`] : [])],
  /** A group to delete comes after the user to delete whose primary group it is. */
  autoEdges: (p, name) =>
    p.state === 'absent'
      ? [
          [`user-absent-primary:${name}`],
          ...(p.gid !== undefined ? [[`user-absent-primary-gid:${p.gid}`]] : []),
        ]
      : [],
  init(p, ctx) {
    if (!ACCOUNT_NAME.test(ctx.name)) throw new Error(`\`${ctx.name}\` is not a valid group name`)
    return {
      async watch(signal) {
        await ctx.watchPath(GROUP, signal, () => ctx.event())
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply, signal) {
        const groups = await readGroups()
        const have = groups.find(g => g.name === ctx.name)
        if (p.state === 'absent') {
          if (!have) return true
          if (!apply) ctx.log.info(`would delete group ${ctx.name}`)
          else {
            ctx.log.info(`deleting group ${ctx.name}`)
            await shadowTool('groupdel', [ctx.name], signal)
          }
          return false
        }
        if (have && (p.gid === undefined || have.gid === p.gid)) return true
        const taken = p.gid !== undefined && groups.find(g => g.gid === p.gid && g.name !== ctx.name)
        if (taken) throw new Error(`gid ${p.gid} belongs to the group ${taken.name}`)
        const args = [...(p.gid !== undefined ? ['-g', String(p.gid)] : []), ctx.name]
        const tool = have ? 'groupmod' : 'groupadd'
        const what = have
          ? `changing the gid of group ${ctx.name} from ${have.gid} to ${p.gid}`
          : `adding group ${ctx.name}`
        if (!apply) ctx.log.info(`would be ${what}`)
        else {
          ctx.log.info(what)
          await shadowTool(tool, args, signal)
        }
        return false
      },
    }
  },
})
