/**
 * The persistent Puppet child: one Ruby process that loads Puppet once (about a second, and as
 * much again for Facter and the first use of each type). After that a compile costs only what
 * Puppet's compiler needs for the manifest (tens of milliseconds for a node-sized one), and a
 * single resource applies in milliseconds. Requests go one JSON line each on its stdin and are
 * answered in order on its stdout (`child_rb.ts` has the protocol).
 *
 * The child starts on the first request and starts again on the next one if it died. While no
 * request is pending it does not hold Node's event loop open; when mgmt exits (or is killed), its
 * stdin closes and it ends at once, even in the middle of a compile. It runs from a temporary directory of its own (its program, `child.rb`, and Puppet's
 * `vardir`, `var/`), removed when it ends, so that nothing it applies touches the state of a
 * Puppet agent on the same host.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { whichSync } from '../../util/which.js'
import { CHILD_RB } from './child_rb.js'

/** Puppet settings fixed for the life of a child. */
export interface PuppetSettings {
  /** Directories of modules, `:`-separated (Puppet's `basemodulepath`). */
  readonly modulepath?: string
  /** The node's certname (Puppet's default: the host's FQDN). */
  readonly certname?: string
  /** A `puppet.conf` to read instead of the default one. */
  readonly config?: string
}

/** One reply: `ok` and the op's fields, or `ok: false` and Puppet's error. */
export type Reply = {
  readonly ok: true
  readonly ms: number
  readonly logs: readonly PuppetLog[]
} & Readonly<Record<string, unknown>>

export interface PuppetLog {
  readonly level: string
  readonly message: string
  readonly source?: string
  readonly file?: string | null
  readonly line?: number | null
}

/** A failed request: Puppet's message, and its log lines. */
export class PuppetError extends Error {
  override readonly name = 'PuppetError'
  constructor(
    message: string,
    readonly logs: readonly PuppetLog[] = [],
  ) {
    super(message)
  }
}

/** The Ruby that runs `puppet` (from its `#!` line), so that `require 'puppet'` finds the same Puppet. */
export function puppetRuby(): string {
  const puppet = whichSync('puppet')
  if (!puppet) throw new MgmtError('ERR_PUPPET_MISSING', { reason: 'no `puppet` on PATH' })
  let first = ''
  try {
    first = readFileSync(puppet, 'utf8').slice(0, 200).split('\n')[0] ?? ''
  } catch {
    // not readable: fall back to the ruby on PATH
  }
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first)
  if (m && /ruby/.test(m[1]!)) return m[1]!
  if (m?.[2] && /ruby/.test(m[2])) return m[2]
  return 'ruby'
}

/**
 * The longest reply read from the child, in characters: the catalog of 10,000 file resources is
 * 2.6 MB of JSON. A longer line (a manifest that builds a value of gigabytes) fails its request
 * instead of growing mgmt's memory until V8 cannot make the string.
 */
export const MAX_REPLY_CHARS = 256 * 1024 * 1024

/**
 * Splits a stream into lines. Only the new chunk is searched for a newline: a reply of a big
 * catalog (tens of megabytes in 64 KiB chunks) costs its length, not its length squared. Throws a
 * PuppetError when a line grows past `max` characters.
 */
export class Lines {
  #parts: string[] = []
  #length = 0

  constructor(readonly max = MAX_REPLY_CHARS) {}

  /** The lines `chunk` completes. */
  push(chunk: string): string[] {
    const lines: string[] = []
    let start = 0
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      this.#keep(chunk.slice(start, nl))
      lines.push(this.#parts.join(''))
      this.#parts = []
      this.#length = 0
      start = nl + 1
    }
    if (start < chunk.length) this.#keep(chunk.slice(start))
    return lines
  }

  #keep(part: string): void {
    this.#length += part.length
    if (this.#length > this.max) {
      this.#parts = []
      this.#length = 0
      throw new PuppetError(`the Puppet child's reply is longer than ${this.max} characters`)
    }
    this.#parts.push(part)
  }
}

interface Pending {
  readonly resolve: (r: Reply) => void
  readonly reject: (e: Error) => void
  /** Starts its time limit, if it has one: when Puppet takes it up (the child answers in order). */
  readonly arm: () => void
}

export class PuppetChild {
  #proc: ChildProcess | undefined
  /** Its temporary directory: the program and Puppet's vardir. */
  #dir: string | undefined
  #pending = new Map<number, Pending>()
  #next = 1
  #lines = new Lines()
  #stderr: string[] = []
  #ready: { version: string } | undefined
  #onExit = (): void => this.#kill()

  constructor(
    readonly settings: PuppetSettings,
    readonly log: Logger,
  ) {}

  /** The child's process id while it runs. */
  get pid(): number | undefined {
    return this.#proc?.pid
  }

  /** Puppet's version, once the child has started. */
  get version(): string | undefined {
    return this.#ready?.version
  }

  /**
   * Sends `req` and resolves with the reply; rejects with a PuppetError when Puppet failed, or when
   * it has not answered within `timeoutS` seconds (0: no limit) of taking the request up. The child
   * answers one request at a time, in order: the time counts from the answer to the request before
   * (a compile queued behind a `pippet` apply that installs a package is not cut off by the
   * install's minutes), or from the sending when none is pending (the child's start counts then).
   * A child that has not answered in time is killed, with what it started (a compile in an endless
   * loop would hold it for good): what else was pending fails with it, and the next request starts
   * another.
   */
  request(req: Readonly<Record<string, unknown>>, timeoutS = 0): Promise<Reply> {
    const proc = this.#proc ?? this.#start()
    const id = this.#next++
    return new Promise<Reply>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      this.#pending.set(id, {
        resolve: r => {
          clearTimeout(timer)
          resolve(r)
        },
        reject: e => {
          clearTimeout(timer)
          reject(e)
        },
        arm: () => {
          if (timeoutS > 0 && timer === undefined)
            timer = setTimeout(() => {
              killGroup(proc)
              this.#fail(proc, new PuppetError(`Puppet did not answer within ${timeoutS} s: it was stopped`))
            }, timeoutS * 1000)
        },
      })
      if (this.#pending.size === 1) this.#pending.get(id)!.arm()
      this.#ref(true)
      proc.stdin!.write(`${JSON.stringify({ ...req, id })}\n`)
    })
  }

  /** Ends the child: stdin closes, then TERM after 2 s, KILL after 5 s. */
  async stop(): Promise<void> {
    const proc = this.#proc
    if (!proc) return
    const exited = new Promise<void>(r => proc.once('exit', () => r()))
    proc.stdin!.end()
    const term = setTimeout(() => proc.kill('SIGTERM'), 2000)
    const kill = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(term)
    clearTimeout(kill)
  }

  #start(): ChildProcess {
    const ruby = puppetRuby()
    this.#dir = mkdtempSync(join(tmpdir(), 'mgmt-puppet-'))
    const program = join(this.#dir, 'child.rb')
    writeFileSync(program, CHILD_RB, { mode: 0o600 })
    const s = this.settings
    const settings = [
      `--vardir=${join(this.#dir, 'var')}`,
      ...(s.modulepath ? [`--basemodulepath=${s.modulepath}`] : []),
      ...(s.certname ? [`--certname=${s.certname}`] : []),
      ...(s.config ? [`--config=${s.config}`] : []),
    ]
    const proc = spawn(ruby, [program, JSON.stringify({ settings })], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a ^C at the terminal is for mgmt, which stops the child in order.
      detached: true,
    })
    this.#proc = proc
    this.#lines = new Lines()
    this.#stderr = []
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => this.#onData(proc, d))
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => this.#onStderr(d))
    proc.stdin!.on('error', () => {}) // a dead child: its exit rejects what is pending
    proc.on('error', err => this.#fail(proc, this.#missing(err) ?? err))
    proc.on('exit', (code, signal) => {
      const tail = this.#stderr.slice(-5).join('\n')
      this.#fail(
        proc,
        new PuppetError(`the Puppet child exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`),
      )
    })
    process.once('exit', this.#onExit)
    this.log.debug(`started the Puppet child (${ruby}, pid ${proc.pid})`)
    return proc
  }

  #missing(err: Error): MgmtError | undefined {
    if ((err as { code?: unknown }).code !== 'ENOENT') return undefined
    return new MgmtError('ERR_PUPPET_MISSING', { reason: `cannot run ${puppetRuby()}` })
  }

  #onData(proc: ChildProcess, d: string): void {
    if (this.#proc !== proc) return // what a child that was failed had still written
    let lines: string[]
    try {
      lines = this.#lines.push(d)
    } catch (err) {
      this.#fail(proc, err as Error)
      return
    }
    for (const line of lines) if (line.trim()) this.#onLine(line)
  }

  #onLine(line: string): void {
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(line) as Record<string, unknown>
    } catch {
      this.log.warn(`the Puppet child wrote a line that is not JSON: ${line.slice(0, 200)}`)
      return
    }
    if ('ready' in msg) {
      if (msg.ready === true) this.#ready = { version: String(msg.puppet) }
      else if (this.#proc)
        this.#fail(
          this.#proc,
          msg.settings === true
            ? new PuppetError(`Puppet refused its settings: ${String(msg.error)}`)
            : new MgmtError('ERR_PUPPET_MISSING', { reason: String(msg.error) }),
        )
      return
    }
    const p = this.#pending.get(Number(msg.id))
    if (!p) return
    this.#pending.delete(Number(msg.id))
    if (this.#pending.size === 0) this.#ref(false)
    // The next one, in the order sent, is what Puppet works on now.
    else this.#pending.values().next().value?.arm()
    const logs = Array.isArray(msg.logs) ? (msg.logs as PuppetLog[]) : []
    if (msg.ok === true) p.resolve(msg as Reply)
    else p.reject(new PuppetError(String(msg.error ?? 'the Puppet child failed'), logs))
  }

  #onStderr(d: string): void {
    for (const line of d.split('\n')) {
      if (!line.trim()) continue
      this.#stderr.push(line)
      if (this.#stderr.length > 20) this.#stderr.shift()
      if (this.log.isDebug) this.log.debug(`puppet: ${line}`)
    }
  }

  /** The child `proc` is gone: everything pending fails, and the next request starts another. */
  #fail(proc: ChildProcess, err: Error): void {
    if (this.#proc !== proc) return
    this.#proc = undefined
    this.#ready = undefined
    process.off('exit', this.#onExit)
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true })
    this.#dir = undefined
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) p.reject(err)
  }

  /** While nothing is pending, the child does not keep Node running. */
  #ref(on: boolean): void {
    const proc = this.#proc
    if (!proc) return
    for (const h of [proc, proc.stdout, proc.stderr, proc.stdin] as (
      | { ref?(): void; unref?(): void }
      | null
      | undefined
    )[])
      on ? h?.ref?.() : h?.unref?.()
  }

  /** At process exit: no waiting, just the signal and the temporary directory. */
  #kill(): void {
    this.#proc?.kill('SIGKILL')
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true })
  }
}

/** Kills the child and what it started (its own process group: `detached`). */
function killGroup(proc: ChildProcess): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return
  try {
    process.kill(-proc.pid, 'SIGKILL')
  } catch {
    proc.kill('SIGKILL')
  }
}
