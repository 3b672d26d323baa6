/**
 * Running one command of an `exec` resource: resolved against PATH, in its own process group,
 * with its output collected (stdout, stderr and both interleaved) and passed on line by line.
 * Stopping it (abort, timeout) sends the stop signal to the whole group, then SIGKILL after a
 * grace period, so that nothing it started is left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { constants, statSync } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { which } from '../../util/which.js'

/** Searched when neither the command's environment nor ours has a PATH. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** How much of stderr a command whose output is not collected keeps for its error. */
const STDERR_TAIL = 4096
/**
 * How much of each stream (and of both interleaved) a command's collected output keeps: its end.
 * A command that prints more does not make the engine hold it all (300 MB of output took 1.6 GB
 * and then failed the resource); what came before is counted and said.
 */
export const MAX_COLLECTED = 16 * 1024 * 1024
/** The longest line passed on as one: a longer one comes in pieces of this size. */
export const MAX_LINE = 1024 * 1024

/** What to run, resolved from a resource's params. */
export interface Command {
  /** How logs and errors show it. */
  readonly display: string
  /** The program: a path, or a name looked up in PATH. */
  readonly file: string
  readonly args: readonly string[]
  /** Working directory; empty or absent: ours. */
  readonly cwd?: string
  /** The whole environment of the command (empty means empty). */
  readonly env: Readonly<Record<string, string>>
  readonly uid?: number
  readonly gid?: number
}

export type Stream = 'stdout' | 'stderr'

export interface CommandOptions {
  /** Aborting stops the command. */
  readonly signal?: AbortSignal
  /** Stop the command after this many ms; 0 or absent: never. */
  readonly timeoutMs?: number
  /** Sent to the process group to stop it. */
  readonly killSignal?: NodeJS.Signals
  /** Time between the stop signal and SIGKILL. */
  readonly graceMs?: number
  /** Keep all the output (default), or only a tail of stderr (a long-running watch command). */
  readonly collect?: boolean
  /** Each line as it arrives, without its newline (a last unterminated line at the end). */
  readonly onLine?: (line: string, stream: Stream, pid: number) => void
  /** Where the running group is registered while it runs, for `interrupt()`. */
  readonly groups?: ProcessGroups
}

export interface CommandResult {
  readonly pid: number
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** stdout and stderr interleaved in the order they arrived. */
  readonly output: string
  /** Stopped because `timeoutMs` passed. */
  readonly timedOut: boolean
  /** Stopped because `signal` aborted. */
  readonly aborted: boolean
}

/** A started command. */
export interface Running {
  readonly pid: number
  /** Settles when the command has exited and its output is closed. */
  readonly done: Promise<CommandResult>
}

/** The process groups a resource has running, so that `interrupt()` can kill them all at once. */
export class ProcessGroups {
  readonly #pids = new Set<number>()
  add(pid: number): void {
    this.#pids.add(pid)
  }
  delete(pid: number): void {
    this.#pids.delete(pid)
  }
  get size(): number {
    return this.#pids.size
  }
  /** SIGKILL every running group now. */
  killAll(): void {
    for (const pid of this.#pids) killGroup(pid, 'SIGKILL')
  }
}

/**
 * Every process group this process has started and not yet seen end, whatever resource started
 * it: the command's last line of defence (`killAllCommands`) on a way out that skips the
 * resources' own stops (an internal error, a forced exit).
 */
const running = new Set<number>()

/** SIGKILLs every command group still running. Synchronous: it is safe in an `exit` handler. */
export function killAllCommands(): number {
  for (const pid of running) killGroup(pid, 'SIGKILL')
  return running.size
}

/** Sends `sig` to the process group `pid`; a group that is already gone is fine. */
export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig)
  } catch {
    // ESRCH: already gone. EPERM (not ours to kill) cannot be helped here either.
  }
}

/** The path of `file` as execvp would find it in `path`; the name unchanged when not found. */
export async function resolveExecutable(file: string, path: string): Promise<string> {
  if (file.includes('/')) return file
  for (const dir of path.split(':')) {
    if (!dir) continue
    const candidate = join(dir, file)
    try {
      await access(candidate, constants.X_OK)
      if ((await stat(candidate)).isFile()) return candidate
    } catch {}
  }
  return file
}

/** Runs `cmd` to its end. Rejects only when it cannot start (or `signal` aborted before). */
export async function runCommand(cmd: Command, opts: CommandOptions = {}): Promise<CommandResult> {
  return (await startCommand(cmd, opts)).done
}

/** Starts `cmd`; resolves once it runs. Rejects when it cannot start. */
export async function startCommand(cmd: Command, opts: CommandOptions = {}): Promise<Running> {
  opts.signal?.throwIfAborted()
  const file = await resolveExecutable(cmd.file, cmd.env.PATH ?? process.env.PATH ?? DEFAULT_PATH)
  opts.signal?.throwIfAborted()
  // Found on the PATH, it is runnable (resolveExecutable checked); a path as given is looked at.
  const child = await spawned(cmd, file, await deathSignal(file, file !== cmd.file))
  const pid = child.pid as number
  running.add(pid)
  opts.groups?.add(pid)
  return { pid, done: supervise(child, pid, opts) }
}

/**
 * util-linux's setpriv (looked up once), through which a command gets the kernel's parent-death
 * signal: it dies with mgmt even when mgmt is killed outright (`kill -9`), where no handler of ours
 * runs. Only for a program found at an absolute path, so that a missing one still fails to start
 * as it does without setpriv; on a host without setpriv, commands are started directly.
 */
let setprivPath: Promise<string | undefined> | undefined
async function deathSignal(file: string, found: boolean): Promise<string | undefined> {
  setprivPath ??= which('setpriv', `${process.env.PATH ?? ''}:${DEFAULT_PATH}`)
  const setpriv = await setprivPath
  if (!setpriv || !isAbsolute(file)) return undefined
  const runnable =
    found ||
    (await access(file, constants.X_OK).then(
      () => true,
      () => false,
    ))
  return runnable ? setpriv : undefined
}

function spawned(cmd: Command, file: string, via: string | undefined): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const where = cmd.cwd ? ` in ${cmd.cwd}` : ''
    const code = (e: unknown): unknown => (e as { code?: unknown }).code
    const fail = (e: unknown): void =>
      reject(
        // A working directory that is not there fails the spawn with ENOENT, which Node.js puts on
        // the program (setpriv's path, even): said as what it is.
        code(e) === 'ENOENT' && cmd.cwd && !statSync(cmd.cwd, { throwIfNoEntry: false })
          ? new Error(`cannot start \`${cmd.display}\`: its directory ${cmd.cwd} does not exist`)
          : code(e) === 'E2BIG'
            ? new Error(
                `cannot start \`${cmd.display}\`: its arguments and environment are larger than the system takes (E2BIG)`,
              )
            : new Error(`cannot start \`${cmd.display}\`${where}`, { cause: e }),
      )
    let child: ChildProcess
    try {
      const [exe, args] = via ? [via, ['--pdeathsig', 'KILL', '--', file, ...cmd.args]] : [file, cmd.args]
      child = spawn(exe, args, {
        // Through setpriv, the command's own argv[0] is its path.
        ...(via ? {} : { argv0: cmd.file }),
        cwd: cmd.cwd || undefined,
        env: { ...cmd.env },
        uid: cmd.uid,
        gid: cmd.gid,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    } catch (e) {
      fail(e)
      return
    }
    child.once('error', fail)
    child.once('spawn', () => {
      child.off('error', fail)
      child.on('error', () => {})
      resolve(child)
    })
  })
}

/** Collects the output, enforces the timeout and the abort, and settles when the command is done. */
function supervise(child: ChildProcess, pid: number, opts: CommandOptions): Promise<CommandResult> {
  const out = new Output(opts.collect ?? true, opts.onLine, pid)
  child.stdout?.on('data', (b: Buffer) => out.add('stdout', b))
  child.stderr?.on('data', (b: Buffer) => out.add('stderr', b))
  let stopping = false
  let timedOut = false
  let aborted = false
  let grace: NodeJS.Timeout | undefined
  const stop = (): void => {
    if (stopping) return
    stopping = true
    killGroup(pid, opts.killSignal ?? 'SIGTERM')
    grace = setTimeout(() => killGroup(pid, 'SIGKILL'), opts.graceMs ?? 5000)
  }
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true
        stop()
      }, opts.timeoutMs)
    : undefined
  const onAbort = (): void => {
    aborted = true
    stop()
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted) onAbort()
  return new Promise(resolve => {
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer)
      clearTimeout(grace)
      opts.signal?.removeEventListener('abort', onAbort)
      // The leader is gone; whatever it left in its group goes too.
      if (stopping) killGroup(pid, 'SIGKILL')
      running.delete(pid)
      opts.groups?.delete(pid)
      resolve({ pid, exitCode, signal, ...out.finish(), timedOut, aborted })
    })
  })
}

/** The output of one command: the two streams, their interleaving, and their lines. */
class Output {
  readonly #kept: Record<Stream | 'output', Tail>
  readonly #lines: Record<Stream, Lines> | undefined

  constructor(
    readonly collect: boolean,
    onLine: CommandOptions['onLine'],
    pid: number,
  ) {
    const most = collect ? MAX_COLLECTED : 0
    this.#kept = {
      stdout: new Tail(most),
      stderr: new Tail(collect ? most : STDERR_TAIL),
      output: new Tail(most),
    }
    this.#lines = onLine && {
      stdout: new Lines(line => onLine(line, 'stdout', pid)),
      stderr: new Lines(line => onLine(line, 'stderr', pid)),
    }
  }

  add(stream: Stream, b: Buffer): void {
    this.#lines?.[stream].add(b)
    this.#kept[stream].add(b)
    if (this.collect) this.#kept.output.add(b)
  }

  finish(): { stdout: string; stderr: string; output: string } {
    this.#lines?.stdout.end()
    this.#lines?.stderr.end()
    return {
      stdout: this.#kept.stdout.text(),
      stderr: this.#kept.stderr.text(),
      output: this.#kept.output.text(),
    }
  }
}

/** The last `most` bytes of a stream, and how many came before them. */
class Tail {
  #chunks: Buffer[] = []
  #size = 0
  #dropped = 0
  constructor(readonly most: number) {}

  add(b: Buffer): void {
    if (this.most === 0) return
    this.#chunks.push(b)
    this.#size += b.length
    // Whole chunks go from the front, then a part of the first: nothing is copied.
    while (this.#size > this.most) {
      const first = this.#chunks[0]!
      const cut = Math.min(first.length, this.#size - this.most)
      if (cut === first.length) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(cut)
      this.#size -= cut
      this.#dropped += cut
    }
  }

  /** The bytes kept as text; when some were dropped, a first line says how many. */
  text(): string {
    const kept = Buffer.concat(this.#chunks).toString('utf8')
    // A tail cut inside a character starts with U+FFFD: left out.
    return this.#dropped
      ? `[${this.#dropped} bytes before this were not kept]\n${kept.replace(/^\uFFFD+/, '')}`
      : kept
  }
}

/** Splits a byte stream into lines (UTF-8 safe across chunks). */
class Lines {
  readonly #decoder = new StringDecoder('utf8')
  #partial = ''
  constructor(readonly onLine: (line: string) => void) {}

  add(b: Buffer): void {
    const parts = (this.#partial + this.#decoder.write(b)).split('\n')
    let rest = parts.pop() ?? ''
    for (const line of parts) this.onLine(line)
    // A line that never ends is passed on in pieces, so that it is not held (and split) whole.
    while (rest.length > MAX_LINE) {
      this.onLine(rest.slice(0, MAX_LINE))
      rest = rest.slice(MAX_LINE)
    }
    this.#partial = rest
  }

  end(): void {
    const rest = this.#partial + this.#decoder.end()
    this.#partial = ''
    if (rest) this.onLine(rest)
  }
}
