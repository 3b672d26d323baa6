/**
 * A managed etcd server: the `etcd` binary (Debian package `etcd-server`) as a child process. It
 * is started with its data in a directory of its own, waited for until it says it serves client
 * requests (its own log line: no polling), and stopped with TERM, then KILL, or by the kernel when
 * mgmt dies without stopping it. Its log goes to a file beside the data (and, with `--debug`, to
 * mgmt's debug log).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { describeError, errCode, MgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { which } from '../../util/which.js'

export interface EtcdServerOptions {
  /** The etcd binary: a name on PATH or a path. */
  readonly binary: string
  /** The member name (the host's name). */
  readonly name: string
  readonly dataDir: string
  /** Where etcd's own log goes. */
  readonly logFile: string
  readonly clientUrls: readonly string[]
  readonly peerUrls: readonly string[]
  /** `name=peerURL,...` of every member, this one included. */
  readonly initialCluster: string
  /** A new cluster, or a member joining an existing one. */
  readonly state: 'new' | 'existing'
  readonly log: Logger
  /** Aborting it gives up waiting for the server (it is stopped). */
  readonly signal?: AbortSignal
  /** Keep etcd's own timing even when every peer URL is on loopback (members will join from afar). */
  readonly networkTiming?: boolean
  /**
   * Keys a transaction may hold and bytes a request may carry: by default more than etcd's own
   * (128, 1.5 MiB), for a deploy's files. A test gives etcd's, as a cluster of the user's has.
   */
  readonly limits?: { readonly txnOps: number; readonly requestBytes: number }
}

/** What etcd prints once it serves clients. */
const READY = /ready to serve client requests/
/** etcd's error and critical lines (`E |`, `C |`), or a Go panic. */
const FAILURE = /\s[EC] \| |panic:|error/i
/** How long to wait quietly before saying what the server waits for. */
const PATIENCE_MS = 10_000

export class EtcdServer {
  readonly #child: ChildProcess
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly #log: Logger
  #stopping = false

  private constructor(child: ChildProcess, log: Logger) {
    this.#child = child
    this.#log = log
    this.#exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Resolves once the server exits, however. */
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exited
  }

  /** Starts the server and resolves once it serves clients; rejects with what went wrong. */
  static async start(o: EtcdServerOptions): Promise<EtcdServer> {
    // Said from the start, whatever the start waits for: a server that is slow to serve, or a
    // start that cannot get going at all.
    let step = 'making its data directory'
    const patience = setTimeout(
      () =>
        o.log.info(
          `waiting for the etcd server to serve (${step}; its log: ${o.logFile}; a member of an existing cluster waits for the others)`,
        ),
      PATIENCE_MS,
    )
    try {
      return await EtcdServer.#start(o, s => {
        step = s
      })
    } finally {
      clearTimeout(patience)
    }
  }

  static async #start(o: EtcdServerOptions, doing: (step: string) => void): Promise<EtcdServer> {
    await mkdir(o.dataDir, { recursive: true, mode: 0o700 })
    const args = [
      `--name=${o.name}`,
      `--data-dir=${o.dataDir}`,
      `--listen-client-urls=${o.clientUrls.join(',')}`,
      `--advertise-client-urls=${o.clientUrls.join(',')}`,
      `--listen-peer-urls=${o.peerUrls.join(',')}`,
      `--initial-advertise-peer-urls=${o.peerUrls.join(',')}`,
      `--initial-cluster=${o.initialCluster}`,
      `--initial-cluster-state=${o.state}`,
      '--initial-cluster-token=mgmt',
      // A host leaving removes itself: let it, even right after another member joined (the check
      // refuses any change for 5 s after a member connects).
      '--strict-reconfig-check=false',
      // One host's exports go in one transaction; a deploy carries its files.
      `--max-txn-ops=${o.limits?.txnOps ?? 4096}`,
      `--max-request-bytes=${o.limits?.requestBytes ?? 16777216}`,
      ...(o.networkTiming ? [] : timing(o.peerUrls)),
    ]
    o.log.debug(`starting ${o.binary} ${args.join(' ')}`)
    doing(`looking for ${o.binary}`)
    const binary = await which(o.binary)
    if (!binary) throw new MgmtError('ERR_ETCD_MISSING', { binary: o.binary })
    // The server goes with mgmt, even when mgmt is killed outright (setpriv, from util-linux, asks the
    // kernel to send it TERM then); it would otherwise hold the ports against the next start.
    const setpriv = await which('setpriv')
    const child = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', binary, ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    const server = new EtcdServer(child, o.log)
    doing(`started as pid ${child.pid}`)
    const file = createWriteStream(o.logFile, { flags: 'a', mode: 0o600 })
    try {
      await server.#ready(o, file)
    } catch (err) {
      await server.stop()
      throw err
    }
    return server
  }

  /** The server is about to exit by itself (its member was removed): that is no error. */
  expectExit(): void {
    this.#stopping = true
  }

  /** TERM, then KILL after `graceMs` (a member that lost its quorum can take long to go). */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopping = true
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    this.#child.kill('SIGTERM')
    const t = setTimeout(() => this.#child.kill('SIGKILL'), graceMs)
    await this.#exited
    clearTimeout(t)
  }

  /** Waits for the ready line; follows the log after it. */
  #ready(o: EtcdServerOptions, file: WriteStream): Promise<void> {
    const last: string[] = []
    let buf = ''
    return new Promise<void>((resolve, reject) => {
      let done = false
      const finish = (err?: unknown): void => {
        if (done) return
        done = true
        o.signal?.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve()
      }
      const onAbort = (): void => finish(new Error('stopped while waiting for the etcd server'))
      o.signal?.addEventListener('abort', onAbort, { once: true })
      this.#child.on('error', err =>
        finish(
          errCode(err) === 'ENOENT'
            ? new MgmtError('ERR_ETCD_MISSING', { binary: o.binary })
            : new MgmtError('ERR_ETCD_SERVER', { reason: describeError(err) }, { cause: err }),
        ),
      )
      this.#child.stderr!.on('data', (d: Buffer) => {
        file.write(d)
        buf += d.toString()
        const lines = buf.split('\n')
        buf = lines.pop()!
        for (const line of lines) {
          if (this.#log.isDebug) this.#log.debug(`etcd: ${line}`)
          if (FAILURE.test(line)) last.push(line.replace(/^\S+ \S+ /, ''))
          if (last.length > 3) last.shift()
          if (READY.test(line)) finish()
        }
      })
      void this.#exited.then(({ code, signal }) => {
        file.end()
        if (!done)
          finish(
            new MgmtError('ERR_ETCD_SERVER', {
              reason: `it exited (${signal ?? `code ${code}`}) before serving${last.length ? `: ${last.join('; ')}` : ''}`,
            }),
          )
        else if (!this.#stopping)
          this.#log.error(`the etcd server exited (${signal ?? `code ${code}`}); see ${o.logFile}`)
      })
    })
  }
}

/**
 * Raft timing. When every peer is on this machine (loopback), a 10 ms heartbeat and a 100 ms
 * election timeout make a cluster form and re-elect within a fraction of a second; across a
 * network etcd's own defaults (100 ms, 1 s) are kept.
 */
function timing(peerUrls: readonly string[]): string[] {
  const loopback = peerUrls.every(u => {
    const h = new URL(u).hostname
    return h === 'localhost' || h === '[::1]' || h.startsWith('127.')
  })
  return loopback ? ['--heartbeat-interval=10', '--election-timeout=100'] : []
}
