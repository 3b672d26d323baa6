/**
 * Owner and group ids from names or numbers. Names are looked up in `/etc/passwd` and `/etc/group`
 * on each call, so users made by an earlier resource of the same run are found.
 */
import { readFile } from 'node:fs/promises'

/** Reads `name:x:id:...` databases: the id of `name`, or undefined. */
async function lookup(db: string, name: string): Promise<number | undefined> {
  let text: string
  try {
    text = await readFile(db, 'utf8')
  } catch {
    return undefined
  }
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2])
  }
  return undefined
}

async function resolveId(value: string, db: string, what: string): Promise<number> {
  if (/^\d+$/.test(value)) return Number(value)
  const id = await lookup(db, value)
  if (id === undefined) throw new Error(`unknown ${what} \`${value}\` (not in ${db})`)
  return id
}

/** The uid of a user name or numeric string. */
export const resolveUid = (owner: string, db = '/etc/passwd'): Promise<number> => resolveId(owner, db, 'user')

/** The gid of a group name or numeric string. */
export const resolveGid = (group: string, db = '/etc/group'): Promise<number> => resolveId(group, db, 'group')
