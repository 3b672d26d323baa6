/**
 * `os.system(cmd)`: the first line a shell command prints, within a minute. In a run, the
 * commands a round of evaluation asks for run side by side while the engine goes on (`outside.ts`);
 * a program evaluated in one go (the conformance cases) runs each on the spot.
 */
import { execFile, spawnSync } from 'node:child_process'

/** The longest a command may run: then it is killed, and what it printed so far is its output. */
const SYSTEM_TIMEOUT_MS = 60_000

const firstLine = (out: string | undefined): string => (out ?? '').split('\n')[0] ?? ''

/** Runs `cmd` on the spot: the process waits for it. */
export function systemSync(cmd: string): string {
  return firstLine(spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', timeout: SYSTEM_TIMEOUT_MS }).stdout)
}

/** Runs `cmd` beside the event loop; `signal` kills it (its output is then what it printed). */
export function system(cmd: string, signal: AbortSignal): Promise<string> {
  return new Promise(resolve => {
    execFile(
      '/bin/sh',
      ['-c', cmd],
      { encoding: 'utf8', timeout: SYSTEM_TIMEOUT_MS, signal },
      (_err, stdout) => resolve(firstLine(stdout)),
    )
  })
}
