/**
 * Small process helpers for the tests that start real services: run a command to its end, start a
 * daemon and stop it by PID (TERM, then KILL), and wait without polling for a condition that a
 * bus signal or a directory event announces.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { readFile, rmdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** Pids of the processes whose command line holds `marker` (a test's own, found among the machine's). */
export function pidsWithMarker(marker: string): number[] {
  const out: number[] = []
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) out.push(Number(p))
    } catch {}
  }
  return out
}

/** Runs `cmd` to its end; resolves with stdout; rejects with stderr on a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; ms?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.ms ?? 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`))
        else resolve(stdout)
      },
    )
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
}

/** Runs `cmd` to its end; resolves with its exit code and stdout, whatever the code. */
export function runStatus(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    execFile(cmd, args, { env: opts.env ?? process.env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** A long-running process started by a test. */
export interface Daemon {
  readonly child: ChildProcess
  readonly pid: number
  /** Everything it printed. */
  readonly output: () => string
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>
  /** TERM (or `sig`), then KILL after `graceMs`; resolves once it is gone. */
  stop(sig?: NodeJS.Signals, graceMs?: number): Promise<void>
}

/**
 * Starts `cmd` with SIGKILL as its parent-death signal (`setpriv --pdeathsig`): should the test's
 * process die without cleaning up, its daemons (and the namespaces they hold) die with it.
 */
export function startDaemon(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Daemon {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args], {
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  let gone = false
  const exited = new Promise<number | string>(resolve => {
    child.once('error', e => {
      gone = true
      resolve(e.message)
    })
    child.once('exit', (code, signal) => {
      gone = true
      resolve(code ?? signal ?? -1)
    })
  })
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    async stop(sig = 'SIGTERM', graceMs = 5000) {
      if (gone) return
      child.kill(sig)
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * A cgroup of its own in every mounted hierarchy (cgroup v1 `unified` + `systemd`, or a plain v2
 * tree), for a systemd started by a test: its services live below it, and `remove` kills whatever
 * is left there and removes the whole subtree.
 */
export class TestCgroup {
  constructor(readonly name: string) {}

  /** The directories of this cgroup, one per hierarchy. */
  async dirs(): Promise<string[]> {
    const root = '/sys/fs/cgroup'
    const hybrid = ['unified', 'systemd'].map(h => join(root, h))
    const found: string[] = []
    for (const h of hybrid) if (await isDir(h)) found.push(join(h, this.name))
    if (found.length === 0) found.push(join(root, this.name))
    return found
  }

  /** Shell lines that create the cgroup and move the running shell (`$$`) into it. */
  async enterScript(): Promise<string> {
    return (await this.dirs())
      .map(d => `mkdir -p '${d}' && echo $$ > '${d}/cgroup.procs' || exit 1`)
      .join('\n')
  }

  /** Kills every process left in the cgroup and removes it, deepest directories first. */
  async remove(): Promise<void> {
    for (const dir of await this.dirs()) {
      if (!(await isDir(dir))) continue
      const tree = (await run('find', [dir, '-depth', '-type', 'd']).catch(() => ''))
        .split('\n')
        .filter(Boolean)
      for (const d of tree) {
        const pids = (await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => ''))
          .split('\n')
          .filter(Boolean)
        for (const pid of pids)
          try {
            process.kill(Number(pid), 'SIGKILL')
          } catch {}
      }
      for (const d of tree) await removeCgroupDir(d)
    }
  }
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false
}

/** rmdir fails while killed processes are still being reaped: wait for the kernel's population event. */
async function removeCgroupDir(d: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(d)
      return
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e
      await new Promise(r => setTimeout(r, 20))
    }
  }
  await rmdir(d)
}

/**
 * Cleanups of one test, run when it ends, last registered first (a process before the namespace
 * it runs in, a namespace before its directory), every one of them even when one fails.
 */
export function cleanups(t: { after(fn: () => Promise<void>): void }): (fn: () => unknown) => void {
  const stack: (() => unknown)[] = []
  t.after(async () => {
    const errors: unknown[] = []
    for (const fn of stack.reverse())
      try {
        await fn()
      } catch (e) {
        errors.push(e)
      }
    if (errors.length) throw new AggregateError(errors, 'cleanup failed')
  })
  return fn => {
    stack.push(fn)
  }
}

/** The processes that `pid` started, from /proc (none when it is gone). */
export function childrenOf(pid: number): number[] {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8')
    } catch {
      return '' // the thread, or the process, is gone
    }
  }
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  return tids.flatMap(t => read(`/proc/${pid}/task/${t}/children`).split(' ').filter(Boolean).map(Number))
}

/**
 * What a process and its descendants are doing, from /proc: for each, its threads grouped by
 * state and the kernel function they sleep in. A test that times out waiting for a process says
 * with it whether that process was running, stopped, or asleep in the kernel, and where.
 */
export function processStates(pid: number, indent = ''): string {
  const dir = `/proc/${pid}`
  let comm: string
  let tids: string[]
  try {
    comm = readFileSync(join(dir, 'comm'), 'utf8').trim()
    tids = readdirSync(join(dir, 'task'))
  } catch {
    return `${indent}pid ${pid}: gone\n`
  }
  const threads = new Map<string, number>()
  for (const tid of tids) {
    const task = join(dir, 'task', tid)
    const read = (f: string): string => {
      try {
        return readFileSync(join(task, f), 'utf8').trim()
      } catch {
        return '?'
      }
    }
    // The state follows the command's closing parenthesis (the name may hold spaces).
    const stat = read('stat')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    const key = `${state} ${read('wchan') || '-'}`
    threads.set(key, (threads.get(key) ?? 0) + 1)
  }
  const summary = [...threads].map(([k, n]) => `${n}× ${k}`).join(', ')
  return `${indent}pid ${pid} (${comm}): ${summary}\n${childrenOf(pid)
    .map(c => processStates(c, `${indent}  `))
    .join('')}`
}
