/** The peer: CFEngine's `cf-agent`, when it is installed. */
import { execFileSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Command } from './proc.js'

export interface Peer {
  readonly name: string
  readonly version: string
  readonly command: Command
}

/** The absolute path of `exe` on PATH, if any. */
export function which(exe: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const p = join(dir, exe)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * `cf-agent -K -I -f POLICY`: ignore locks (so a run straight after another does its work) and
 * inform of each change, as the shared peer workload runs it. The policy path must be absolute
 * and the file not writable by others; it may live anywhere (not only in cf-agent's inputs dir).
 */
export function findCfAgent(policyPath: string, cwd: string): Peer | undefined {
  const exe = which('cf-agent')
  if (!exe) return undefined
  let version = 'unknown version'
  try {
    version = execFileSync(exe, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim()
  } catch {
    // keep "unknown version"
  }
  return { name: 'cf-agent', version, command: { cmd: exe, args: ['-KI', '-f', policyPath], cwd } }
}
