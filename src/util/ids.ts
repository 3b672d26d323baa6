/**
 * Users and groups by name or number: names are looked up in /etc/passwd and /etc/group, then
 * through `getent` (LDAP, systemd-userdb and other NSS sources), on each call, so a user made by an
 * earlier resource of the same run is found. Numbers are taken as they are.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { MgmtError } from './errors.js'

/** One entry of a colon-separated database: its id, and (passwd) its primary gid. */
export interface IdEntry {
  readonly id: number
  readonly name?: string
  readonly gid?: number
}

export type IdDb = 'passwd' | 'group'

export const isNumericId = (s: string): boolean => /^\d+$/.test(s)

/** The largest user or group id: 2^32 - 2 (2^32 - 1 is -1, "unchanged", to chown and setuid). */
export const MAX_ID = 4294967294

/** The largest id a process can be started with: Node.js takes it as a signed 32-bit number. */
export const MAX_SPAWN_ID = 2 ** 31 - 1

/** What is wrong with a user or group given as a number beyond `max`; undefined when fine. */
export function idProblem(key: string, max = MAX_ID): string | undefined {
  return isNumericId(key) && Number(key) > max ? `an id is at most ${max} here, not ${key}` : undefined
}

/** Parses `name:x:id[:gid]:...` lines into the entry named `key` (by name, or by id when numeric). */
export function findEntry(text: string, key: string): IdEntry | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 3 || line.startsWith('#')) continue
    if (f[0] === key || (isNumericId(key) && f[2] === key)) {
      const gid = f[3] !== undefined && isNumericId(f[3]) ? Number(f[3]) : undefined
      return { id: Number(f[2]), gid, name: f[0] }
    }
  }
  return undefined
}

async function fromFile(path: string, key: string): Promise<IdEntry | undefined> {
  try {
    return findEntry(await readFile(path, 'utf8'), key)
  } catch {
    return undefined
  }
}

function fromGetent(db: IdDb, key: string): Promise<IdEntry | undefined> {
  return new Promise(resolve => {
    execFile('getent', [db, key], { timeout: 10_000 }, (err, stdout) => {
      resolve(err ? undefined : findEntry(stdout, key))
    })
  })
}

/** The entry of a user (`passwd`) or group name or id, or undefined when there is none. */
export async function lookupId(db: IdDb, key: string): Promise<IdEntry | undefined> {
  return (await fromFile(`/etc/${db}`, key)) ?? (await fromGetent(db, key))
}

const what = { passwd: 'user', group: 'group' } as const

/** A user's or group's id for a log line, with its name when it has one: `root (0)`, or `1234`. */
export async function idName(db: IdDb, id: number): Promise<string> {
  const e = await lookupId(db, String(id)).catch(() => undefined)
  return e?.name ? `${e.name} (${id})` : String(id)
}

/** The id of a name or numeric string; throws ERR_ID_UNKNOWN for an unknown name. */
export async function resolveId(db: IdDb, key: string): Promise<number> {
  if (isNumericId(key)) return Number(key)
  const e = await lookupId(db, key)
  if (!e) throw new MgmtError('ERR_ID_UNKNOWN', { kind: what[db], name: key })
  return e.id
}
