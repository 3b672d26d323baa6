/** The uid and gid an `exec` command runs as (names resolved as `util/ids.ts` says). */
import { MgmtError } from '../../util/errors.js'
import { isNumericId, lookupId, resolveId } from '../../util/ids.js'

export interface Credentials {
  readonly uid?: number
  readonly gid?: number
}

/**
 * The credentials for `user` and `group` (empty: unchanged). A user without a group runs with the
 * user's primary group. Throws when a name is unknown, and, when mgmt is not root, when they are
 * not its own (the system would refuse with a bare EPERM).
 */
export async function resolveCredentials(user: string, group: string): Promise<Credentials> {
  let uid: number | undefined
  let gid: number | undefined
  if (user) {
    const e = await lookupId('passwd', user)
    if (!e && !isNumericId(user)) throw new MgmtError('ERR_ID_UNKNOWN', { kind: 'user', name: user })
    uid = isNumericId(user) ? Number(user) : e?.id
    gid = e?.gid
  }
  if (group) {
    gid = await resolveId('group', group)
  }
  const euid = process.geteuid?.()
  if (euid !== undefined && euid !== 0) {
    if (uid !== undefined && uid !== euid)
      throw new Error(`cannot switch to user ${user}: mgmt is not running as root`)
    if (gid !== undefined && gid !== process.getegid?.())
      throw new Error(`cannot switch to group ${group || gid}: mgmt is not running as root`)
  }
  return { uid, gid }
}
