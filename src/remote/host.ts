/**
 * One remote host, from connection to clean-up:
 *
 * 1. connect (host key checked, login: connect.ts);
 * 2. probe: make the working directory, find Node.js, read the cached files' hashes (probe.ts);
 * 3. copy the program (the bundle, and this Node.js if the host has no usable one) unless the cached
 *    copy has the same sha256, then the graph files (copy.ts);
 * 4. open the reverse tunnel to the world (tunnel.ts; link.ts says where it leads), and with
 *    `--detach` a second one to this host's etcd peer port when that is on loopback;
 * 5. run mgmt there (command.ts), its output relayed under the host's name, its converged status
 *    reported; graph files saved here are validated and copied again, and the remote applies them;
 * 6. on stop: INT to the remote run, KILL after 10 s; then close the tunnels, remove this run's
 *    files (the whole temporary directory without caching), disconnect. On detach: close the
 *    tunnels and disconnect, leaving the run and its files there.
 *
 * A failure at any step ends this host only, with a coded error naming it. Once the remote run has
 * started, though, a lost connection (closed, reset, keepalives unanswered) is not the end: the
 * host says so once and connects again with a growing wait (reconnect.ts), back to the same working
 * directory, where the lost run is stopped if it still goes, what is missing is copied, the tunnels
 * are opened and the run starts again from its own state; then it says it is back. A run that
 * exits by itself (its exit status came back), a refused login or a changed host key still end it;
 * so does `--reconnect-timeout`, and a stop, at once, during the wait or the reconnection.
 */
import type { FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Client } from 'ssh2'
import type { YamlRemote } from '../frontends/yaml/parse.js'
import { describeError, isMgmtError, MgmtError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { monotonicMs } from '../util/timers.js'
import type { Credentials } from './auth.js'
import { DETACHED_LOG, type PassedFlags, remoteCommand } from './command.js'
import { connect } from './connect.js'
import { Sftp } from './copy.js'
import { execCapture, shq } from './exec.js'
import { type HostPlan, travellingText } from './files.js'
import { watchGraphs } from './graphwatch.js'
import { openTunnels, type WorldLink } from './link.js'
import { type Probe, probe } from './probe.js'
import { chooseEtcd, chooseNode, type Payload, programBundle } from './program.js'
import type { CopyProgress } from './progress.js'
import {
  Backoff,
  follow,
  type Link,
  lossCause,
  pause,
  reconnectWindowMs,
  retriable,
  STABLE_MS,
} from './reconnect.js'
import { lineSplitter, relay } from './relay.js'
import type { Tunnel } from './tunnel.js'
import { formatRemote } from './url.js'

export interface HostOptions {
  readonly plan: HostPlan
  /** This process's depth: the remote run gets depth + 1. */
  readonly depth: number
  readonly flags: PassedFlags
  readonly credentials: Credentials
  readonly knownHosts: string
  /** The host's logger (lines prefixed with its name). */
  readonly log: Logger
  readonly progress?: CopyProgress
  readonly world?: WorldLink
  /** The etcd server to copy to a detached host that has none (`--etcd-binary`). */
  readonly etcdBinary?: string
  /**
   * Checks a graph file before a changed copy is sent: throws an MgmtError when it is invalid, else
   * resolves with what it says about its host.
   */
  readonly check: (file: string) => Promise<YamlRemote | undefined>
}

/** Bytes copied to the host. */
export interface CopyStats {
  program: number
  node: number
  etcd: number
  graphs: number
}

export interface HostOutcome {
  readonly hostname: string
  /** Why the host failed; absent when it ran and stopped cleanly. */
  readonly error?: Error
  readonly copied: CopyStats
}

/** Grace before KILL, after INT. */
const STOP_GRACE_MS = 10_000

export class RemoteHost {
  readonly hostname: string
  readonly #o: HostOptions
  readonly #remote: string
  readonly #runDir: string
  readonly #abort = new AbortController()
  readonly #listeners = new Set<(converged: boolean) => void>()
  readonly #copied: CopyStats = { program: 0, node: 0, etcd: 0, graphs: 0 }
  #conn: Client | undefined
  #pid: number | undefined
  /** A detached run's relay (its `tail`), stopped on detach. */
  #relayPid: number | undefined
  #stopping = false
  /** Stopped because it converged (`--cconns` waves): it finished. */
  #finishing = false
  #detaching = false
  #killTimer: NodeJS.Timeout | undefined
  #killed = false
  #ended = false
  #running = false
  /** The text of each graph file as last copied, by local path. */
  readonly #sent = new Map<string, string>()
  /** The working directory there, once probed: a reconnection goes back to it. */
  #wd: string | undefined
  /** The remote run has started once: a lost connection is made again from then on. */
  #everRan = false
  /** When the remote run last started (monotonicMs()). */
  #runningSince = 0
  /** Since the connection was lost, until the host is back: its cause, the lost run's pid. */
  #lost: { at: number; cause: string; attempts: number; waited: number; pid?: number } | undefined
  readonly #backoff = new Backoff()
  /** Back after a loss, until the new run says it has converged (or has started, without status). */
  #settling = false
  readonly #reconnecting = new Set<(reconnecting: boolean) => void>()

  constructor(o: HostOptions) {
    this.#o = o
    this.hostname = o.plan.remote.hostname
    this.#remote = formatRemote(o.plan.remote.target)
    this.#runDir = `run-${this.hostname}`
  }

  /** Hears each change of the remote run's converged state, from its own status. */
  onConverged(fn: (converged: boolean) => void): void {
    this.#listeners.add(fn)
  }

  /**
   * Hears when the connection is lost while the run goes on (true), and when the host is back and
   * its new run has converged (false): the host has not converged in between, whatever the world
   * still says of its lost run.
   */
  onReconnecting(fn: (reconnecting: boolean) => void): void {
    this.#reconnecting.add(fn)
  }

  /** Stops the run because it has converged (its connection is wanted by the next host). */
  finish(): void {
    this.#finishing = true
    this.stop()
  }

  /**
   * Lets a detached run go: its relay stops, the tunnels close and the connection ends; the run
   * and its files stay. A host still preparing is dropped, as by stop.
   */
  detach(): void {
    if (this.#ended || this.#stopping || this.#detaching) return
    if (!this.#running) {
      this.stop()
      return
    }
    this.#detaching = true
    this.#abort.abort()
    const conn = this.#conn
    if (conn && this.#relayPid !== undefined)
      execCapture(conn, `kill ${this.#relayPid}`).catch(() => conn.end())
    else conn?.end()
  }

  /** Stops the host: INT to its run (KILL after 10 s), or KILL at once with `force`. */
  stop(force = false): void {
    if (this.#ended) return
    const first = !this.#stopping
    this.#stopping = true
    this.#abort.abort()
    if (!this.#running) {
      // Still preparing (a copy may take long): drop the connection; the next run's probe clears
      // what is left.
      this.#conn?.end()
      return
    }
    if (this.#pid === undefined) return
    if (force) this.#signal('KILL')
    else if (first) this.#signalStop()
  }

  /**
   * Runs the host to its end; never rejects. A connection lost while the run goes on is made again
   * (reconnect.ts), until the host is back, the window for it has passed, or the host is stopped.
   */
  async run(): Promise<HostOutcome> {
    let error: Error | undefined
    try {
      for (;;) {
        const end = await this.#session()
        if (!('lost' in end)) {
          error = end.error
          break
        }
        const wait = this.#onLost(end.lost)
        if (typeof wait !== 'number') {
          error = wait
          break
        }
        this.#o.log.debug(`trying again in ${(wait / 1000).toFixed(1)} s`)
        // Stopped while waiting: nothing is connected, nothing to stop or remove there.
        if (!(await pause(wait, this.#abort.signal))) {
          this.#o.log.info('stopped while reconnecting')
          break
        }
      }
    } finally {
      this.#ended = true
      this.#o.progress?.finish(this.hostname)
    }
    return this.#outcome(error)
  }

  /** One connection, from connecting to its end: the run's end (final), or its loss. */
  async #session(): Promise<{ error?: Error } | { lost: string }> {
    const again = this.#lost !== undefined && this.#wd !== undefined
    let link: Link | undefined
    let probed: Probe | undefined
    let sftp: Sftp | undefined
    let tunnels: Tunnel[] = []
    let watchers: FSWatcher[] = []
    let ran = false
    let lost: string | undefined
    try {
      this.#o.log.debug(`connecting to ${this.#remote}`)
      const conn = await connect(this.#o.plan.remote.target, {
        credentials: this.#o.credentials,
        knownHosts: this.#o.knownHosts,
        signal: this.#abort.signal,
      })
      link = follow(conn)
      this.#conn = conn
      const started = monotonicMs()
      probed = await this.#probe(conn, again)
      sftp = await Sftp.open(conn)
      const { node, etcd } = await this.#prepare(sftp, probed, started)
      tunnels = await openTunnels(conn, this.#o.world, !!this.#o.flags.detach, this.#o.log, reason =>
        this.#setupError('open the tunnel', reason),
      )
      if (this.#stopping) return {}
      if (this.#o.flags.watch) watchers = this.#watchGraphs(sftp, probed.wd, again)
      this.#running = true
      this.#everRan = true
      this.#runningSince = monotonicMs()
      ran = true
      const end = await this.#runRemote(conn, probed, node, etcd, tunnels[0])
      this.#running = false
      if (end.lost && !this.#stopping && !this.#detaching && !this.#o.flags.detach) {
        lost = lossCause(link.error)
        return { lost }
      }
      return { error: this.#judge(end, probed.wd) }
    } catch (err) {
      // Stopped while connecting or preparing: what failed then is the stop's doing.
      if (this.#stopping) {
        if (this.#lost) this.#o.log.info('stopped while reconnecting')
        return {}
      }
      if (this.#everRan && retriable(err, link?.closed ?? false)) {
        lost = isMgmtError(err, 'ERR_REMOTE_CONNECT') ? err.details.reason : describeError(err)
        return { lost }
      }
      return { error: asError(err) }
    } finally {
      this.#running = false
      clearTimeout(this.#killTimer)
      for (const w of watchers) w.close()
      for (const t of tunnels) await t.close().catch(() => {})
      sftp?.end()
      // A detached run's directory stays once it ran: the run goes on there, or its log says why not.
      const leave = this.#o.flags.detach && ran
      if (lost === undefined && link && !link.closed && probed && (ran || !this.#stopping) && !leave)
        await this.#cleanUp(link.conn, probed.wd)
      link?.conn.end()
    }
  }

  /**
   * Probes the host (probe.ts); again after a loss, in the same working directory, stopping the
   * lost connection's run if it still goes. A detached run of this host still going is refused.
   */
  async #probe(conn: Client, again: boolean): Promise<Probe> {
    const lost = this.#lost
    const probed = await probe(
      conn,
      this.#remote,
      this.#o.flags.caching,
      this.#runDir,
      again && this.#wd ? { wd: this.#wd, ...(lost?.pid ? { pid: lost.pid } : {}) } : undefined,
    )
    if (probed.detached !== undefined)
      throw this.#setupError(
        'start mgmt there',
        `a detached run (--detach) of this host is still going as pid ${probed.detached}: stop it first with kill -INT ${probed.detached}`,
      )
    this.#wd = probed.wd
    const previous = probed.previous
    if (previous)
      this.#o.log.info(
        `its previous run (pid ${previous.pid}) was still going: ${previous.killed ? 'killed' : 'stopped'}`,
      )
    return probed
  }

  /** Copies the graph files again when they are saved (graphwatch.ts). */
  #watchGraphs(sftp: Sftp, wd: string, recheck: boolean): FSWatcher[] {
    return watchGraphs({
      plan: this.#o.plan,
      hostname: this.hostname,
      log: this.#o.log,
      check: this.#o.check,
      sent: this.#sent,
      put: (f, text, own) => sftp.putData(`${wd}/${this.#runDir}/${f.rel}`, travellingText(text, own), 0o600),
      recheck,
    })
  }

  /**
   * A lost connection: said once (with its cause) when the host was running, each failed attempt
   * after that in debug lines. Resolves with the wait before the next attempt, or the host's error
   * once the window for it to come back has passed.
   */
  #onLost(cause: string): number | Error {
    const now = monotonicMs()
    const window = reconnectWindowMs(this.#o.flags)
    if (!this.#lost) {
      // A connection that had held for a while starts again from the first wait.
      if (now - this.#runningSince >= STABLE_MS) this.#backoff.reset()
      this.#lost = { at: now, cause, attempts: 0, waited: 0, ...(this.#pid ? { pid: this.#pid } : {}) }
      this.#pid = undefined
      this.#relayPid = undefined
      this.#settling = true
      for (const fn of this.#reconnecting) fn(true)
      if (window > 0)
        this.#o.log.warn(
          `connection lost (${cause}): reconnecting${Number.isFinite(window) ? ` for up to ${window / 1000} s` : ''}`,
        )
    } else this.#o.log.debug(`not back yet (attempt ${this.#lost.attempts}): ${cause}`)
    const lost = this.#lost
    lost.attempts++
    const wait = this.#backoff.next()
    if (now + wait - lost.at <= window) {
      lost.waited += wait
      return wait
    }
    const last = lost.attempts > 1 ? `; the last attempt: ${cause}` : ''
    return new MgmtError('ERR_REMOTE_CONNECT', {
      remote: this.#remote,
      reason:
        window === 0
          ? `the connection was lost (${lost.cause})`
          : `the connection was lost (${lost.cause}) and could not be made again within ${window / 1000} s${last}`,
    })
  }

  /** Copies what the run needs; resolves with the Node.js (and the etcd) to run it with. */
  async #prepare(
    sftp: Sftp,
    probed: Probe,
    started: number,
  ): Promise<{ node: string; etcd: string | undefined }> {
    const before = { ...this.#copied }
    const fail = (step: string, reason: string): MgmtError => this.#setupError(step, reason)
    const node = await chooseNode(probed, fail)
    const etcd = this.#o.flags.detach
      ? await chooseEtcd(probed, this.#o.etcdBinary ?? 'etcd', fail)
      : undefined
    await this.#copyProgram(sftp, probed, [
      ...(node.copy ? [[node.copy, 'node'] as const] : []),
      ...(etcd?.copy ? [[etcd.copy, 'etcd'] as const] : []),
    ])
    await this.#copyGraphs(sftp, probed.wd)
    // This connection's copies (a reconnection copies only what is missing).
    const c = (k: keyof CopyStats): number => this.#copied[k] - before[k]
    this.#o.log.info(
      `ready in ${((monotonicMs() - started) / 1000).toFixed(2)} s: copied ${c('program')} program bytes, ` +
        `${c('node')} Node.js bytes, ${etcd ? `${c('etcd')} etcd bytes, ` : ''}${c('graphs')} graph bytes (${node.describe})`,
    )
    return { node: node.path, etcd: etcd?.path }
  }

  #outcome(error?: Error): HostOutcome {
    return { hostname: this.hostname, ...(error ? { error } : {}), copied: { ...this.#copied } }
  }

  #setupError(step: string, reason: string): MgmtError {
    return new MgmtError('ERR_REMOTE_SETUP', { remote: this.#remote, step, reason })
  }

  async #copyProgram(
    sftp: Sftp,
    p: Probe,
    more: readonly (readonly [Payload, keyof CopyStats])[],
  ): Promise<void> {
    const files: (readonly [Payload, keyof CopyStats])[] = [[await programBundle(), 'program'], ...more]
    for (const [f, stat] of files) {
      if (p.hashes.get(f.name) === f.sha256) continue
      this.#copied[stat] += await sftp
        .putFile(f.path, `${p.wd}/${f.name}`, 0o700, f.size, (done, total) =>
          this.#o.progress?.update(this.hostname, f.name, done, total),
        )
        .catch(err => {
          throw new MgmtError('ERR_REMOTE_SETUP', {
            remote: this.#remote,
            step: `copy ${f.name}`,
            reason: describeError(err),
          })
        })
    }
    this.#o.progress?.finish(this.hostname)
  }

  async #copyGraphs(sftp: Sftp, wd: string): Promise<void> {
    try {
      for (const [i, f] of this.#o.plan.files.entries()) {
        // Again after a reconnection: the text last copied, the one checked (see graphwatch.ts).
        const text = this.#sent.get(f.abs) ?? (await readFile(f.abs, 'utf8'))
        this.#sent.set(f.abs, text)
        this.#copied.graphs += await sftp.putData(
          `${wd}/${this.#runDir}/${f.rel}`,
          travellingText(text, i === 0),
          0o600,
        )
      }
      if (this.#o.plan.children.length) {
        const known = await readFile(this.#o.knownHosts).catch(() => Buffer.alloc(0))
        this.#copied.graphs += await sftp.putData(`${wd}/${this.#runDir}/known_hosts`, known, 0o600)
      }
    } catch (err) {
      throw new MgmtError('ERR_REMOTE_SETUP', {
        remote: this.#remote,
        step: 'copy the graph files',
        reason: describeError(err),
      })
    }
  }

  /** Runs mgmt there until it exits or the connection is lost. */
  #runRemote(
    conn: Client,
    p: Probe,
    node: string,
    etcd: string | undefined,
    tunnel: Tunnel | undefined,
  ): Promise<{ code: number | null; signal: string | null; lost: boolean }> {
    const plan = this.#o.plan
    let extra: string[] | undefined
    try {
      extra = tunnel && this.#o.world?.args(tunnel.remotePort, p.addr)
    } catch (err) {
      return Promise.reject(this.#setupError('join the cluster', describeError(err)))
    }
    const command = remoteCommand({
      node,
      wd: p.wd,
      runDir: `${p.wd}/${this.#runDir}`,
      graph: plan.files[0]!.rel,
      hostname: this.hostname,
      depth: this.#o.depth + 1,
      children: plan.files.filter(f => plan.children.some(c => c.file === f.abs)).map(f => f.rel),
      ...(plan.children.length ? { knownHosts: 'known_hosts' } : {}),
      ...(etcd ? { etcdBinary: etcd } : {}),
      ...(extra ? { extra } : {}),
      flags: this.#o.flags,
    })
    this.#o.log.debug(`running: ${command}`)
    return new Promise((resolve, reject) => {
      conn.exec(command, (err, ch) => {
        if (err)
          return reject(
            new MgmtError('ERR_REMOTE_SETUP', {
              remote: this.#remote,
              step: 'start mgmt',
              reason: err.message,
            }),
          )
        const output = relay(this.#o.log)
        const status = lineSplitter(line => this.#onStatus(line))
        let exit: { code: number | null; signal: string | null } | undefined
        ch.on('data', (d: Buffer) => status.push(d))
        ch.stderr.on('data', (d: Buffer) => output.push(d))
        ch.on('exit', (code: number | null, signal?: string) => {
          exit = { code, signal: signal ?? null }
        })
        const done = (): void => {
          conn.off('close', done)
          output.flush()
          status.flush()
          resolve(exit ? { ...exit, lost: false } : { code: null, signal: null, lost: true })
        }
        ch.on('close', done)
        conn.once('close', done)
      })
    })
  }

  #onStatus(line: string): void {
    const pid = /^pid=(\d+)$/.exec(line)
    const relayed = /^relay=(\d+)$/.exec(line)
    if (pid) {
      this.#pid = Number(pid[1])
      if (this.#stopping) this.#signalStop()
      else if (this.#lost) this.#back()
    } else if (relayed) {
      this.#relayPid = Number(relayed[1])
      if (this.#detaching && this.#conn) execCapture(this.#conn, `kill ${this.#relayPid}`).catch(() => {})
    } else if (line === 'true' || line === 'false') {
      if (line === 'true' && this.#settling) this.#settled()
      for (const fn of this.#listeners) fn(line === 'true')
    }
  }

  /** The new run has started: the host is back. */
  #back(): void {
    const lost = this.#lost!
    this.#lost = undefined
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
    const attempts = `${lost.attempts} attempt${lost.attempts === 1 ? '' : 's'}`
    this.#o.log.info(
      `back ${s(monotonicMs() - lost.at)} after the loss (${attempts}, ${s(lost.waited)} of it waiting): mgmt started again`,
    )
    // Without a converged status on the channel, nothing more will say it has settled.
    if (this.#o.flags.convergedTimeout < 0) this.#settled()
  }

  #settled(): void {
    this.#settling = false
    for (const fn of this.#reconnecting) fn(false)
  }

  #judge(end: { code: number | null; signal: string | null; lost: boolean }, wd: string): Error | undefined {
    if (this.#detaching) {
      const pid = this.#pid === undefined ? '' : ` as pid ${this.#pid}`
      this.#o.log.info(
        `detached: mgmt keeps running there${pid}, its output in ${wd}/${this.#runDir}/${DETACHED_LOG}` +
          (this.#pid === undefined ? '' : `; stop it with: kill -INT ${this.#pid}`),
      )
      return undefined
    }
    if (end.lost)
      return new MgmtError('ERR_REMOTE_CONNECT', { remote: this.#remote, reason: 'the connection was lost' })
    if (this.#stopping && this.#killed) {
      this.#o.log.warn(`did not stop within ${STOP_GRACE_MS / 1000} s of INT: killed`)
      return undefined
    }
    // Stopped by our own signal: INT that came as the run was already ending, or a forced KILL.
    if (this.#stopping && /^(SIG)?(INT|KILL)$/.test(end.signal ?? '')) {
      this.#o.log.info(this.#finishing ? 'finished' : 'stopped')
      return undefined
    }
    if (end.code === 0 && !this.#o.flags.detach) {
      this.#o.log.info(this.#stopping && !this.#finishing ? 'stopped' : 'finished')
      return undefined
    }
    // A detached run's channel relays its log: it ends when the run does, whatever its code.
    if (this.#o.flags.detach)
      return new MgmtError('ERR_REMOTE_RUN', {
        host: this.hostname,
        exitCode: null,
        signal: null,
        log: `${wd}/${this.#runDir}/${DETACHED_LOG}`,
      })
    return new MgmtError('ERR_REMOTE_RUN', { host: this.hostname, exitCode: end.code, signal: end.signal })
  }

  #signalStop(): void {
    this.#signal('INT')
    this.#killTimer = setTimeout(() => {
      this.#killed = true
      this.#signal('KILL')
    }, STOP_GRACE_MS)
  }

  #signal(sig: 'INT' | 'KILL'): void {
    const conn = this.#conn
    if (!conn || this.#pid === undefined) return
    execCapture(conn, `kill -${sig} ${this.#pid}`).catch(() => {})
  }

  async #cleanUp(conn: Client, wd: string): Promise<void> {
    const target = this.#o.flags.caching ? `${wd}/${this.#runDir}` : wd
    const r = await execCapture(conn, `rm -rf ${shq(target)}`).catch(err => ({
      code: -1,
      stderr: describeError(err),
    }))
    if (r.code !== 0) this.#o.log.warn(`cannot remove ${target}: ${r.stderr.trim()}`)
  }
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))
