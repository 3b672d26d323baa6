/**
 * `user`: a local user, present with the given uid, primary group, supplementary groups, home and
 * shell (each only when given), or absent. It watches `/etc/passwd` and `/etc/group`: a user
 * changed by hand (`usermod`) is put back at once. useradd, usermod and userdel run as argument
 * arrays. The groups it names come first (automatic edges); when the user is to be deleted, its
 * primary group's deletion waits for it.
 */
import { z } from 'zod'
import { defineResource, type ResourceContext, untilAborted } from '../engine/resource.js'
import type { Issue } from '../util/errors.js'
import { MAX_ID } from '../util/ids.js'
import {
  ACCOUNT_NAME,
  GROUP,
  type GroupEntry,
  PASSWD,
  type PasswdEntry,
  readGroups,
  readPasswd,
  shadowTool,
} from './user/accounts.js'

const id = z.number().int().min(0).max(MAX_ID)

/** Params of `user`. Keys are the YAML names, verbatim. */
export const UserParams = z
  .object({
    /** `exists` or `absent`. */
    state: z.enum(['exists', 'absent']),
    /** The numeric user id; unset: chosen by useradd, and left as it is. */
    uid: id.optional(),
    /** The primary group, by id (not with `group`). */
    gid: id.optional(),
    /** The primary group, by name (not with `gid`). */
    group: z.string().optional(),
    /** The supplementary groups, exactly (not the primary one); unset: left as they are. */
    groups: z.array(z.string()).optional(),
    /** The home directory (absolute); unset: useradd's default, and left as it is. */
    homedir: z.string().optional(),
    /** The login shell; unset: useradd's default, and left as it is. */
    shell: z.string().optional(),
    /** Allow a uid that another user already has. */
    allowduplicateuid: z.boolean().default(false),
  })
  .strict()

export type UserParams = z.output<typeof UserParams>

function validateUser(p: Readonly<UserParams>, name: string): Issue[] {
  const issues: Issue[] = []
  if (!ACCOUNT_NAME.test(name))
    issues.push({ path: ['name'], message: `\`${name}\` is not a valid user name` })
  if (p.gid !== undefined && p.group !== undefined)
    issues.push({ path: ['group'], message: 'use gid or group, not both' })
  if (p.group !== undefined && !ACCOUNT_NAME.test(p.group))
    issues.push({ path: ['group'], message: 'not a valid group name' })
  for (const [i, g] of (p.groups ?? []).entries()) {
    if (!ACCOUNT_NAME.test(g)) issues.push({ path: ['groups', i], message: 'not a valid group name' })
    if (g === p.group)
      issues.push({ path: ['groups', i], message: 'the primary group is not a supplementary one' })
  }
  if (p.homedir !== undefined && !p.homedir.startsWith('/'))
    issues.push({ path: ['homedir'], message: 'must be an absolute path' })
  if (p.shell !== undefined && !p.shell.startsWith('/'))
    issues.push({ path: ['shell'], message: 'must be an absolute path' })
  for (const k of ['homedir', 'shell'] as const)
    if (p[k]?.includes(':') || /[\n]/.test(p[k] ?? ''))
      issues.push({ path: [k], message: 'cannot contain `:` or a newline' })
  return issues
}

/** A home directory as /etc/passwd keeps it: no trailing slash. */
const home = (h: string): string => (h.length > 1 ? h.replace(/\/+$/, '') : h)

export const user = defineResource({
  kind: 'user',
  params: UserParams,
  validate: validateUser,
  uids: (_p, name) => [`user:${name}`],
  /** An absent user is removed before its primary group (several users may share one). */
  provides: p => [
    ...(p.state === 'absent' && p.group ? [`user-absent-primary:${p.group}`] : []),
    ...(p.state === 'absent' && p.gid !== undefined ? [`user-absent-primary-gid:${p.gid}`] : []),
  ],
  /** An existing user needs its groups first. */
  autoEdges: p =>
    p.state === 'absent'
      ? []
      : [
          ...(p.gid !== undefined ? [[`groupgid:${p.gid}`]] : []),
          ...(p.group ? [[`group:${p.group}`]] : []),
          ...(p.groups ?? []).map(g => [`group:${g}`]),
        ],
  init(p, ctx) {
    if (!ACCOUNT_NAME.test(ctx.name)) throw new Error(`\`${ctx.name}\` is not a valid user name`)
    return {
      async watch(signal) {
        const fire = (): void => ctx.event()
        await ctx.watchPath(PASSWD, signal, fire)
        await ctx.watchPath(GROUP, signal, fire)
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply, signal) {
        const [users, groups] = await Promise.all([readPasswd(), readGroups()])
        const have = users.find(u => u.name === ctx.name)
        if (p.state === 'absent') {
          if (!have) return true
          return run(ctx, apply, 'userdel', [ctx.name], `deleting user ${ctx.name}`, signal)
        }
        if (p.uid !== undefined && !p.allowduplicateuid) {
          const other = users.find(u => u.uid === p.uid && u.name !== ctx.name)
          if (other)
            throw new Error(`uid ${p.uid} belongs to ${other.name} (allowduplicateuid: true allows it)`)
        }
        const changes = have ? differences(p, have, groups, ctx.name) : []
        if (have && !changes.length) return true
        const args = [
          ...(p.allowduplicateuid && p.uid !== undefined ? ['--non-unique'] : []),
          ...(p.uid !== undefined ? ['-u', String(p.uid)] : []),
          ...(p.gid !== undefined ? ['-g', String(p.gid)] : p.group !== undefined ? ['-g', p.group] : []),
          ...(p.groups !== undefined ? ['-G', p.groups.join(',')] : []),
          ...(p.homedir !== undefined ? ['-d', home(p.homedir)] : []),
          ...(p.shell !== undefined ? ['-s', p.shell] : []),
          ctx.name,
        ]
        if (!have) return run(ctx, apply, 'useradd', args, `adding user ${ctx.name}`, signal)
        return run(ctx, apply, 'usermod', args, `changing user ${ctx.name}: ${changes.join(', ')}`, signal)
      },
    }
  },
})

/** What differs between the wanted user and the one in /etc/passwd and /etc/group. */
function differences(
  p: Readonly<UserParams>,
  u: PasswdEntry,
  groups: readonly GroupEntry[],
  name: string,
): string[] {
  const out: string[] = []
  if (p.uid !== undefined && u.uid !== p.uid) out.push(`uid ${u.uid} -> ${p.uid}`)
  const gid = p.gid ?? (p.group !== undefined ? groups.find(g => g.name === p.group)?.gid : undefined)
  if ((p.gid !== undefined || p.group !== undefined) && u.gid !== gid)
    out.push(`primary group ${u.gid} -> ${p.group ?? p.gid}`)
  if (p.groups !== undefined) {
    const now = groups.filter(g => g.members.includes(name) && g.gid !== u.gid).map(g => g.name)
    const want = [...new Set(p.groups)]
    if (now.length !== want.length || want.some(g => !now.includes(g)))
      out.push(`groups ${now.sort().join(',') || '(none)'} -> ${want.sort().join(',') || '(none)'}`)
  }
  if (p.homedir !== undefined && home(u.home) !== home(p.homedir)) out.push(`home ${u.home} -> ${p.homedir}`)
  if (p.shell !== undefined && u.shell !== p.shell) out.push(`shell ${u.shell} -> ${p.shell}`)
  return out
}

async function run(
  ctx: ResourceContext,
  apply: boolean,
  tool: string,
  args: string[],
  what: string,
  signal: AbortSignal,
): Promise<boolean> {
  if (!apply) ctx.log.info(`would be ${what}`)
  else {
    ctx.log.info(what)
    await shadowTool(tool, args, signal)
  }
  return false
}
