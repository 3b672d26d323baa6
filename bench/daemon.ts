/**
 * A long-running engine on the workload: started with a converged-status file, so that the bench
 * learns from the engine itself when it has converged, and measured through `/proc` while it runs.
 */

import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, watch } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { watchingRun } from '../src/testing/cli.js'
import { type Command, cpuMs, errMessage, logTail, procStatus, start, stop, wakeups } from './proc.js'

export interface Daemon {
  readonly child: ChildProcess
  readonly pid: number
  readonly statusPath: string
  readonly logPath: string
}

export interface Idle {
  readonly seconds: number
  /** CPU time used over the interval, every thread, ms. */
  readonly cpuMs: number
  /** Context switches over the interval, every thread. */
  readonly wakeups: number
}

/** The `mgmt run` command line of a long-running engine that reports convergence to `statusPath`. */
export function daemonCommand(node: Command, yamlPath: string, statusPath: string): Command {
  return {
    ...node,
    args: [...node.args, ...watchingRun(statusPath, yamlPath)],
  }
}

export function startDaemon(c: Command, statusPath: string, logPath: string): Daemon {
  mkdirSync(dirname(statusPath), { recursive: true })
  const child = start(c, logPath)
  if (child.pid === undefined) throw new Error(`cannot start ${c.cmd}`)
  return { child, pid: child.pid, statusPath, logPath }
}

export const statusLines = (d: Daemon): string[] => {
  try {
    return readFileSync(d.statusPath, 'utf8').split('\n').filter(Boolean)
  } catch {
    return []
  }
}

/**
 * Resolves once `pred` holds for the lines of the status file, checked on every change of its
 * directory (no polling); rejects after `timeoutMs` or if the engine exits.
 */
export function untilStatus(
  d: Daemon,
  pred: (lines: string[]) => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = watch(dirname(d.statusPath))
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      w.close()
      d.child.off('exit', onExit)
      if (err) reject(err)
      else resolve()
    }
    const check = (): void => {
      if (pred(statusLines(d))) finish()
    }
    const onExit = (code: number | null): void =>
      finish(new Error(`the engine exited (${code}) while waiting for ${what}\n${logTail(d.logPath)}`))
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logTail(d.logPath)}`)),
      timeoutMs,
    )
    w.on('change', check)
    w.on('error', err => finish(err))
    d.child.once('exit', onExit)
    check()
  })
}

/** Resolves once the engine has reported `true` in a line past the first `after` lines. */
export const convergedAfter = (d: Daemon, after: number, timeoutMs: number): Promise<void> =>
  untilStatus(d, lines => lines.slice(after).includes('true'), timeoutMs, 'the engine to converge')

/**
 * CPU time and wake-ups of the engine over `seconds` of doing nothing to it, counted from
 * `settleMs` after the call, so that work finishing just after convergence (a last log line, a
 * garbage collection) does not count as idle work.
 */
export async function measureIdle(d: Daemon, seconds: number, settleMs = 1000): Promise<Idle> {
  await sleep(settleMs)
  const c0 = cpuMs(d.pid)
  const w0 = wakeups(d.pid)
  await sleep(seconds * 1000)
  return { seconds, cpuMs: cpuMs(d.pid) - c0, wakeups: wakeups(d.pid) - w0 }
}

export const peakRssKb = (d: Daemon): number => procStatus(d.pid).vmHwmKb

/**
 * The engine's resident set once it has been left alone: the lowest VmRSS read once a second, for
 * at most `seconds`. A Node.js process keeps the heap its busiest moment grew to (a cold converge)
 * until V8's memory reducer finds it idle and gives the garbage back, 15 to 60 s later here; the
 * wait ends early once the RSS has fallen by a quarter and then stayed within 1 MiB for 5 s.
 */
export async function settledRssKb(d: Daemon, seconds: number): Promise<number> {
  const first = procStatus(d.pid).vmRssKb
  let low = first
  let flat = 0
  for (let s = 0; s < seconds; s++) {
    await sleep(1000)
    const now = procStatus(d.pid).vmRssKb
    flat = now < low - 1024 ? 0 : flat + 1
    low = Math.min(low, now)
    if (low <= first * 0.75 && flat >= 5) break
  }
  return low
}

export const stopDaemon = (d: Daemon): Promise<void> => stop(d.child)

/**
 * Runs a bench in a scratch directory made under `o.parent`: the directory is removed at the end
 * (kept with `o.keep`), and the daemon the bench says it `started` (and not stopped yet) is stopped, after a failure and
 * on ^C too. Resolves with the body's exit code, or 1 when it failed (said as FAILED).
 */
export async function inScratch(
  o: { readonly parent: string; readonly keep: boolean },
  name: string,
  say: (line: string) => void,
  body: (base: string, started: (d: Daemon | undefined) => void) => Promise<number>,
): Promise<number> {
  const base = mkdtempSync(join(o.parent, `${name}-`))
  let daemon: Daemon | undefined
  const cleanup = async (): Promise<void> => {
    if (daemon) await stopDaemon(daemon)
    if (o.keep) say(`kept ${base}`)
    else rmSync(base, { recursive: true, force: true })
  }
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`${sig}: cleaning up`)
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return await body(base, d => {
      daemon = d
    })
  } catch (err) {
    say(`FAILED: ${errMessage(err)}`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await cleanup()
  }
}
