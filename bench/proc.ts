/** Child processes: timed runs, their peak memory, `/proc` readings, and stopping them. */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

/** Linux's USER_HZ, the unit of the CPU times in `/proc/<pid>/stat`; 100 on every common build. */
const CLOCK_TICKS_PER_S = 100

export interface Command {
  readonly cmd: string
  readonly args: readonly string[]
  readonly cwd?: string
  /** Set in the environment, over this process's own. */
  readonly env?: Readonly<Record<string, string>>
}

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export const describeCommand = (c: Command): string => [c.cmd, ...c.args].join(' ')

/** Starts `c` with stdout and stderr appended to `logPath`. */
export function start(c: Command, logPath: string): ChildProcess {
  const fd = openSync(logPath, 'a')
  try {
    return spawn(c.cmd, c.args, {
      cwd: c.cwd,
      env: c.env && { ...process.env, ...c.env },
      stdio: ['ignore', fd, fd],
    })
  } finally {
    closeSync(fd)
  }
}

/** Resolves when `child` has exited; rejects after `timeoutMs`, leaving the child to the caller. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit)
      reject(new Error(`pid ${child.pid} still running after ${timeoutMs} ms`))
    }, timeoutMs)
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer)
      resolve({ code, signal })
    }
    child.once('exit', onExit)
    child.once('error', err => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/** Stops `child`: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  try {
    await exited(child, graceMs)
  } catch {
    child.kill('SIGKILL')
    await exited(child, graceMs).catch(() => {})
  }
}

/** Last `max` characters of a log, for error messages. */
export function logTail(logPath: string, max = 2000): string {
  try {
    const text = readFileSync(logPath, 'utf8')
    return text.length > max ? `…${text.slice(-max)}` : text
  } catch {
    return ''
  }
}

/**
 * Runs `c` to its end and returns the wall time in ms, from just before the spawn to the exit
 * event (so the child's whole start-up counts). A non-zero exit or a timeout throws.
 */
export async function timedRun(c: Command, logPath: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now()
  const child = start(c, logPath)
  let exit: Exit
  try {
    exit = await exited(child, timeoutMs)
  } catch (err) {
    await stop(child, 1000)
    throw new Error(`${describeCommand(c)}: ${errMessage(err)}\n${logTail(logPath)}`)
  }
  const ms = performance.now() - t0
  if (exit.code !== 0)
    throw new Error(
      `${describeCommand(c)}: exit ${exit.code ?? exit.signal} after ${ms.toFixed(0)} ms\n${logTail(logPath)}`,
    )
  return ms
}

const TIME = '/usr/bin/time'

/** Whether peak memory of a finished run can be measured (GNU time is installed). */
export const canMeasurePeakRss = (): boolean => existsSync(TIME)

/** The peak resident set GNU time wrote to `outPath` (its last line), KiB. */
function readPeak(outPath: string): number {
  const kb = Number(readFileSync(outPath, 'utf8').trim().split('\n').pop())
  if (!Number.isFinite(kb)) throw new Error(`${TIME}: no peak RSS in ${outPath}`)
  return kb
}

/** Runs `c` under GNU time and returns its peak resident set in KiB (`ru_maxrss`). */
export async function peakRssRun(
  c: Command,
  logPath: string,
  outPath: string,
  timeoutMs: number,
): Promise<number> {
  const { peakRssKb } = await timedPeakRun(c, logPath, outPath, timeoutMs)
  if (peakRssKb === undefined) throw new Error(`${TIME} is not installed`)
  return peakRssKb
}

/**
 * Runs `c` to its end, under GNU time when it is installed, and returns the wall time in ms (that
 * of `time` running `c`, about a millisecond more than `c` alone) and the peak resident set in KiB.
 */
export async function timedPeakRun(
  c: Command,
  logPath: string,
  outPath: string,
  timeoutMs: number,
): Promise<{ ms: number; peakRssKb?: number }> {
  if (!canMeasurePeakRss()) return { ms: await timedRun(c, logPath, timeoutMs) }
  const ms = await timedRun(
    { cmd: TIME, args: ['-f', '%M', '-o', outPath, c.cmd, ...c.args], cwd: c.cwd },
    logPath,
    timeoutMs,
  )
  return { ms, peakRssKb: readPeak(outPath) }
}

export interface ProcStatus {
  /** Peak resident set, KiB. */
  readonly vmHwmKb: number
  /** Resident set now, KiB. */
  readonly vmRssKb: number
  readonly threads: number
}

/** Reads `/proc/<pid>/status`. */
export function procStatus(pid: number): ProcStatus {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)
    if (!m) throw new Error(`/proc/${pid}/status: no ${name}`)
    return Number(m[1])
  }
  return { vmHwmKb: field('VmHWM'), vmRssKb: field('VmRSS'), threads: field('Threads') }
}

/** The threads of `pid`. */
const tasks = (pid: number): string[] => readdirSync(`/proc/${pid}/task`)

/** Reads a file of one thread; undefined when the thread has ended meanwhile. */
function taskFile(pid: number, task: string, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/task/${task}/${name}`, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * CPU time `pid` has used so far, every thread, in ms: from the per-thread scheduler statistics
 * (nanoseconds) when the kernel has them, else from `/proc/<pid>/stat` (10 ms ticks).
 */
export function cpuMs(pid: number): number {
  if (existsSync(`/proc/${pid}/schedstat`)) {
    let ns = 0
    for (const t of tasks(pid)) ns += Number(taskFile(pid, t, 'schedstat')?.split(' ')[0] ?? 0)
    return ns / 1e6
  }
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name start at field 3 (state); utime is 14, stime 15.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(rest[11]) + Number(rest[12])
  return (ticks * 1000) / CLOCK_TICKS_PER_S
}

/** Context switches (voluntary and not) of every thread of `pid` so far: how often it woke up. */
export function wakeups(pid: number): number {
  let n = 0
  for (const t of tasks(pid))
    for (const m of (taskFile(pid, t, 'status') ?? '').matchAll(
      /^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm,
    ))
      n += Number(m[1])
  return n
}
