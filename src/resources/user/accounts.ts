/**
 * The local account databases, for `user` and `group`: `/etc/passwd` and `/etc/group` read as
 * files (the ones useradd and groupadd write), and the shadow tools run as argument arrays, never
 * through a shell, with their stderr in the error.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'

export const PASSWD = '/etc/passwd'
export const GROUP = '/etc/group'

export interface PasswdEntry {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
  readonly shell: string
}

export interface GroupEntry {
  readonly name: string
  readonly gid: number
  readonly members: readonly string[]
}

/** User and group names the shadow tools accept (no leading dash: never an option). */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/

const lines = async (path: string): Promise<string[][]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(l => l && !l.startsWith('#'))
    .map(l => l.split(':'))

export async function readPasswd(path = PASSWD): Promise<PasswdEntry[]> {
  return (await lines(path)).map(f => ({
    name: f[0] ?? '',
    uid: Number(f[2]),
    gid: Number(f[3]),
    home: f[5] ?? '',
    shell: f[6] ?? '',
  }))
}

export async function readGroups(path = GROUP): Promise<GroupEntry[]> {
  return (await lines(path)).map(f => ({
    name: f[0] ?? '',
    gid: Number(f[2]),
    members: (f[3] ?? '').split(',').filter(Boolean),
  }))
}

/** Runs a shadow tool (`useradd`, `groupmod`, ...); rejects with its stderr. */
export function shadowTool(tool: string, args: readonly string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      args,
      { signal, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } },
      (err, _out, stderr) => {
        if (!err) resolve()
        else if (signal?.aborted) reject(signal.reason)
        else reject(new Error(`${tool} ${args.join(' ')}: ${(stderr || err.message).trim()}`))
      },
    )
  })
}
