/**
 * The uid and gid an `exec` command runs as: names looked up in /etc/passwd and /etc/group, then
 * through `getent` (LDAP, systemd-userdb and other NSS sources); numbers taken as they are.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'

export interface Credentials {
  readonly uid?: number
  readonly gid?: number
}

/** One entry of a colon-separated database: its name, its id, and (passwd) its primary gid. */
interface Entry {
  readonly id: number
  readonly gid?: number
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s)

/** Parses `name:x:id[:gid]:...` lines into the entry named `key` (by name, or by id when numeric). */
export function findEntry(text: string, key: string): Entry | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 3 || line.startsWith('#')) continue
    if (f[0] === key || (isNumeric(key) && f[2] === key)) {
      const gid = f[3] !== undefined && isNumeric(f[3]) ? Number(f[3]) : undefined
      return { id: Number(f[2]), gid }
    }
  }
  return undefined
}

async function fromFile(path: string, key: string): Promise<Entry | undefined> {
  try {
    return findEntry(await readFile(path, 'utf8'), key)
  } catch {
    return undefined
  }
}

function fromGetent(db: 'passwd' | 'group', key: string): Promise<Entry | undefined> {
  return new Promise(resolve => {
    execFile('getent', [db, key], { timeout: 10_000 }, (err, stdout) => {
      resolve(err ? undefined : findEntry(stdout, key))
    })
  })
}

async function lookup(db: 'passwd' | 'group', key: string): Promise<Entry | undefined> {
  return (await fromFile(`/etc/${db}`, key)) ?? (await fromGetent(db, key))
}

/**
 * The credentials for `user` and `group` (empty: unchanged). A user without a group runs with the
 * user's primary group. Throws when a name is unknown.
 */
export async function resolveCredentials(user: string, group: string): Promise<Credentials> {
  let uid: number | undefined
  let gid: number | undefined
  if (user) {
    const e = await lookup('passwd', user)
    if (!e && !isNumeric(user)) throw new Error(`unknown user \`${user}\``)
    uid = isNumeric(user) ? Number(user) : e?.id
    gid = e?.gid
  }
  if (group) {
    if (isNumeric(group)) gid = Number(group)
    else {
      const e = await lookup('group', group)
      if (!e) throw new Error(`unknown group \`${group}\``)
      gid = e.id
    }
  }
  return { uid, gid }
}
