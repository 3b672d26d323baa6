/**
 * Running the real `mgmt` command in tests: the built CLI in a child process, its output
 * collected, and every process killed by PID at the end (TERM, then KILL).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { deadline } from './deadline.js'
import { processStates } from './proc.js'

/** The built CLI. */
export const mainJs = fileURLToPath(new URL('../cli/main.js', import.meta.url))

export interface Running {
  readonly child: ChildProcess
  /** Everything printed so far (stdout and stderr interleaved). */
  readonly output: () => string
  /** Resolves with the exit code (or 128 + signal number). */
  readonly exited: Promise<number>
  /** Resolves once the output matches `re`; rejects if the process exits first or after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<void>
  /** TERM, then KILL after `graceMs`; resolves with the exit code. */
  kill(graceMs?: number): Promise<number>
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** A command that runs node in its place and keeps its PID (`ip netns exec NS`). */
  via?: readonly string[]
  /**
   * Runs it through another command first (`nsenter -t PID -m --` into a namespace), in a process
   * group of its own: signals go to the group, the prefix ignores them (an nsenter that forks into a
   * pid namespace waits for mgmt and exits with its code), mgmt handles them.
   */
  prefix?: readonly string[]
  /** Another node binary. */
  node?: string
  /** Another program for node to run than the built CLI (a copy of the bundle). */
  program?: string
  /** Written to its standard input, which is then closed (by default it has none). */
  input?: string
}

export function startMgmt(args: string[], opts: StartOptions = {}): Running {
  const prefixed = opts.prefix?.length
    ? ['sh', '-c', 'trap "" TERM INT; exec "$@"', 'mgmt-prefix', ...opts.prefix]
    : []
  const argv = [
    ...prefixed,
    ...(opts.via ?? []),
    opts.node ?? process.execPath,
    opts.program ?? mainJs,
    ...args,
  ]
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: prefixed.length > 0,
  })
  const signal = (sig: NodeJS.Signals): void => {
    if (!prefixed.length || !child.pid) child.kill(sig)
    else
      try {
        process.kill(-child.pid, sig)
      } catch {}
  }
  if (opts.input !== undefined) child.stdin!.end(opts.input)
  let out = ''
  const listeners = new Set<() => void>()
  const onData = (d: Buffer): void => {
    out += d.toString()
    for (const l of [...listeners]) l()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const exited = new Promise<number>(resolve =>
    child.on('exit', (code, signal) => {
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))
      for (const l of [...listeners]) l()
    }),
  )
  let done = false
  void exited.then(() => {
    done = true
  })
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (re.test(out)) finish(resolve)
          else if (done) finish(() => reject(new Error(`mgmt exited before printing ${re}:\n${out}`)))
        }
        const timer = deadline(ms, () =>
          finish(() =>
            reject(
              new Error(
                `no ${re} within ${ms} ms:\n${out}\nwhat it was doing:\n${child.pid ? processStates(child.pid) : 'never started'}`,
              ),
            ),
          ),
        )
        const finish = (fn: () => void): void => {
          timer.cancel()
          listeners.delete(check)
          fn()
        }
        listeners.add(check)
        check()
      })
    },
    async kill(graceMs = 5000) {
      if (!done) signal('SIGTERM')
      const timer = setTimeout(() => signal('SIGKILL'), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** Runs mgmt to completion (killed after `ms`). */
export async function runMgmt(
  args: string[],
  opts: StartOptions & { ms?: number } = {},
): Promise<{ code: number; output: string }> {
  const r = startMgmt(args, opts)
  const timer = setTimeout(() => void r.kill(1000), opts.ms ?? 30_000)
  const code = await r.exited
  clearTimeout(timer)
  return { code, output: r.output() }
}

/** The flags of a test host that joins the etcd at `seeds` as a client only, with a throwaway prefix. */
export const clusterClient = (hostname: string, seeds: string): string[] => [
  '--tmp-prefix',
  '--hostname',
  hostname,
  '--seeds',
  seeds,
  '--no-server',
]

/**
 * The arguments of a long-running `mgmt run` of the YAML graph `file`, with a throwaway prefix,
 * appending true/false to `status` on every change of convergence.
 */
export const watchingRun = (status: string, file: string): string[] => [
  'run',
  '--tmp-prefix',
  '--converged-timeout',
  '0',
  '--converged-timeout-no-exit',
  '--converged-status-file',
  status,
  'yaml',
  file,
]
