/**
 * Random `kill -9` trials of the real command, for the crash test and `bench/crash.ts`: N files
 * with drifted content, each notifying a command that appends the file's name to a log. A trial
 * starts mgmt, kills it with SIGKILL after a random 0.1–0.9 s, restarts it to convergence, and
 * counts the notifications lost (a file whose name is not in the log: every file changed, by the
 * killed run or by the restart, so each must be notified at least once), the duplicates (allowed:
 * delivery is at least once) and the temporary files left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isTempName } from '../util/tempfile.js'
import { mainJs, runMgmt } from './cli.js'

export interface KillGraph {
  readonly root: string
  readonly prefix: string
  readonly file: string
  readonly files: number
}

export interface TrialResult {
  /** Milliseconds between the start and the kill. */
  readonly killedAfterMs: number
  /** Notifications due (every file changed). */
  readonly due: number
  readonly lost: number
  readonly duplicates: number
  /** Temporary files of ours left after the restart converged. */
  readonly temps: number
  /** The exit code of the restart (0: converged). */
  readonly restartCode: number
  readonly restartOutput: string
}

const name = (i: number): string => `f${String(i).padStart(3, '0')}`

/** Writes the graph: `files` files under `<dir>/root`, each notifying its own command. */
export async function writeKillGraph(dir: string, files: number): Promise<KillGraph> {
  const root = join(dir, 'root')
  await mkdir(root, { recursive: true })
  const lines = ['graph: crash', 'resources:', '  file:']
  for (let i = 0; i < files; i++)
    lines.push(
      `  - name: ${name(i)}`,
      `    path: ${join(root, name(i))}`,
      '    state: exists',
      `    content: "${name(i)} as managed\\n"`,
      '    mode: "0640"',
    )
  lines.push('  exec:')
  for (let i = 0; i < files; i++)
    lines.push(
      `  - name: notify-${name(i)}`,
      `    cmd: "echo ${name(i)} >> ${join(dir, 'notified.log')}"`,
      '    shell: /bin/sh',
      '    refreshonly: true',
    )
  lines.push('edges:')
  for (let i = 0; i < files; i++)
    lines.push(
      `- name: e${i}`,
      `  from: {kind: file, name: ${name(i)}}`,
      `  to: {kind: exec, name: notify-${name(i)}}`,
      '  notify: true',
    )
  const file = join(dir, 'crash.yaml')
  await writeFile(file, `${lines.join('\n')}\n`)
  return { root, prefix: join(dir, 'state'), file, files }
}

/** Temporary files of ours anywhere below `dir`. */
export async function countTemps(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[])
  return names.filter(n => isTempName(n.split('/').pop()!)).length
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
}

/** One trial: drift every file, start, kill -9 after 0.1–0.9 s (`rand` in [0, 1)), restart to convergence. */
export async function killTrial(g: KillGraph, rand: () => number = Math.random): Promise<TrialResult> {
  const log = join(g.root, '..', 'notified.log')
  for (let i = 0; i < g.files; i++) await writeFile(join(g.root, name(i)), `drift ${Math.random()}\n`)
  await writeFile(log, '')
  const args = ['run', '--prefix', g.prefix, '--no-watch', 'yaml', g.file]
  const child = spawn(process.execPath, [mainJs, ...args], { stdio: 'ignore' })
  const killedAfterMs = Math.round(100 + rand() * 800)
  await sleep(killedAfterMs)
  child.kill('SIGKILL')
  await exited(child)
  const again = await runMgmt([...args.slice(0, -2), '--converged-timeout', '0', 'yaml', g.file], {
    ms: 60_000,
  })
  const notified = (await readFile(log, 'utf8')).split('\n').filter(Boolean)
  const seen = new Set(notified)
  let lost = 0
  for (let i = 0; i < g.files; i++) if (!seen.has(name(i))) lost++
  return {
    killedAfterMs,
    due: g.files,
    lost,
    duplicates: notified.length - seen.size,
    temps: (await countTemps(g.root)) + (await countTemps(g.prefix)),
    restartCode: again.code,
    restartOutput: again.output,
  }
}
