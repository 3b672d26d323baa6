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
 * A failure at any step ends this host only, with a coded error naming it.
 */
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { Client } from 'ssh2'
import type { YamlRemote } from '../frontends/yaml/parse.js'
import { describeError, MgmtError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { Credentials } from './auth.js'
import { DETACHED_LOG, type PassedFlags, remoteCommand } from './command.js'
import { connect } from './connect.js'
import { Sftp } from './copy.js'
import { execCapture, shq } from './exec.js'
import { type HostPlan, travellingText } from './files.js'
import { type Probe, probe } from './probe.js'
import {
  etcdBinary,
  MIN_NODE_MAJOR,
  type NodePayload,
  nodeBinary,
  type Payload,
  programBundle,
} from './program.js'
import type { CopyProgress } from './progress.js'
import { lineSplitter, relay } from './relay.js'
import { reverseTunnel, type Tunnel, type TunnelTarget } from './tunnel.js'
import { formatRemote } from './url.js'

/** How a remote run reaches the cluster's world (etcd): given by the world (link.ts). */
export interface WorldLink {
  /** Where the tunnel's connections go, as seen from here (asked when the tunnel opens). */
  target(): Promise<TunnelTarget>
  /**
   * With `--detach`: this host's etcd peer port, when the remote's new member must reach it through
   * a tunnel (bound to the same port on the remote's loopback); undefined when it need not.
   */
  peer?(): Promise<TunnelTarget | undefined>
  /**
   * The arguments that point the remote run at the tunnel's port on its loopback; `addr` is the
   * address the host was reached at. Throws an Error saying why when they cannot be made.
   */
  args(remotePort: number, addr: string | undefined): string[]
  /** Follows a host's converged state in the world; returns the unfollow. */
  converged?(hostname: string, fn: (converged: boolean) => void): () => void
}

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

  /** Runs the host to its end; never rejects. */
  async run(): Promise<HostOutcome> {
    let probed: Probe | undefined
    let sftp: Sftp | undefined
    let tunnels: Tunnel[] = []
    let watchers: FSWatcher[] = []
    let error: Error | undefined
    try {
      this.#o.log.debug(`connecting to ${this.#remote}`)
      const conn = await connect(this.#o.plan.remote.target, {
        credentials: this.#o.credentials,
        knownHosts: this.#o.knownHosts,
        signal: this.#abort.signal,
      })
      this.#conn = conn
      const started = performance.now()
      probed = await probe(conn, this.#remote, this.#o.flags.caching, this.#runDir)
      if (probed.detached !== undefined) {
        const pid = probed.detached
        probed = undefined // not ours to clean up
        throw this.#setupError(
          'start mgmt there',
          `a detached run (--detach) of this host is still going as pid ${pid}: stop it first with kill -INT ${pid}`,
        )
      }
      sftp = await Sftp.open(conn)
      const { node, etcd } = await this.#prepare(sftp, probed, started)
      tunnels = await this.#openTunnels(conn)
      if (this.#stopping) return this.#outcome()
      if (this.#o.flags.watch) watchers = this.#watchFiles(sftp, probed.wd)
      this.#running = true
      const end = await this.#runRemote(conn, probed, node, etcd, tunnels[0])
      error = this.#judge(end, probed.wd)
    } catch (err) {
      // Stopped while connecting or preparing: what failed then is the stop's doing.
      error = this.#stopping ? undefined : asError(err)
    } finally {
      this.#ended = true
      clearTimeout(this.#killTimer)
      for (const w of watchers) w.close()
      for (const t of tunnels) await t.close().catch(() => {})
      sftp?.end()
      // A detached run's directory stays once it ran: the run goes on there, or its log says why not.
      const leave = this.#o.flags.detach && this.#running
      if (this.#conn && probed && (this.#running || !this.#stopping) && !leave)
        await this.#cleanUp(this.#conn, probed.wd)
      this.#conn?.end()
      this.#o.progress?.finish(this.hostname)
    }
    return this.#outcome(error)
  }

  /** Copies what the run needs; resolves with the Node.js (and the etcd) to run it with. */
  async #prepare(
    sftp: Sftp,
    probed: Probe,
    started: number,
  ): Promise<{ node: string; etcd: string | undefined }> {
    const node = await this.#chooseNode(probed)
    const etcd = this.#o.flags.detach ? await this.#chooseEtcd(probed) : undefined
    await this.#copyProgram(sftp, probed, [
      ...(node.copy ? [[node.copy, 'node'] as const] : []),
      ...(etcd?.copy ? [[etcd.copy, 'etcd'] as const] : []),
    ])
    await this.#copyGraphs(sftp, probed.wd)
    const c = this.#copied
    this.#o.log.info(
      `ready in ${((performance.now() - started) / 1000).toFixed(2)} s: copied ${c.program} program bytes, ` +
        `${c.node} Node.js bytes, ${etcd ? `${c.etcd} etcd bytes, ` : ''}${c.graphs} graph bytes (${node.describe})`,
    )
    return { node: node.path, etcd: etcd?.path }
  }

  /** The tunnel to the world, and with --detach the one to this host's etcd peer port if needed. */
  async #openTunnels(conn: Client): Promise<Tunnel[]> {
    const link = this.#o.world
    if (!link) return []
    const out: Tunnel[] = []
    const open = async (target: TunnelTarget, port = 0): Promise<Tunnel> => {
      const t = await reverseTunnel(conn, target, port).catch(err => {
        throw this.#setupError(
          'open the tunnel',
          `${describeError(err)}${port ? ` (port ${port} on its loopback must be free)` : ''}`,
        )
      })
      out.push(t)
      return t
    }
    try {
      const target = await link.target()
      const t = await open(target)
      this.#o.log.info(
        `tunnel: port ${t.remotePort} on its loopback leads to ${target.host}:${target.port} here`,
      )
      const peer = this.#o.flags.detach ? await link.peer?.() : undefined
      if (peer) {
        await open(peer, peer.port)
        this.#o.log.info(`tunnel: port ${peer.port} on its loopback leads to etcd's peers port here`)
      }
      return out
    } catch (err) {
      for (const t of out) await t.close().catch(() => {})
      throw err
    }
  }

  #outcome(error?: Error): HostOutcome {
    return { hostname: this.hostname, ...(error ? { error } : {}), copied: { ...this.#copied } }
  }

  /** The remote's Node.js when it is recent enough, else ours, to be copied. */
  async #chooseNode(p: Probe): Promise<{ path: string; copy?: NodePayload; describe: string }> {
    const major = Number(p.node?.version.split('.')[0])
    if (p.node && major >= MIN_NODE_MAJOR)
      return { path: p.node.path, describe: `Node.js ${p.node.version} there` }
    const ours = await nodeBinary()
    const found = p.node ? `Node.js ${p.node.version}` : 'no Node.js'
    this.#sameSystem(p, `find a Node.js >= ${MIN_NODE_MAJOR} to run with`, `it has ${found} on its PATH`)
    return {
      path: `${p.wd}/node`,
      copy: ours,
      describe: `${found} there: this Node.js ${ours.version} copied along`,
    }
  }

  /** A detached member's etcd server: the one on its PATH, else ours, to be copied. */
  async #chooseEtcd(p: Probe): Promise<{ path?: string; copy?: Payload }> {
    if (p.etcd) return {}
    const step = 'find an etcd server to run (a detached host is an etcd member)'
    this.#sameSystem(p, step, 'it has no etcd on its PATH')
    const ours = await etcdBinary(this.#o.etcdBinary ?? 'etcd').catch(err => {
      throw this.#setupError(step, `it has no etcd on its PATH, and ${describeError(err)}`)
    })
    return { path: `${p.wd}/etcd`, copy: ours }
  }

  /** Throws unless a binary of this machine runs there (Linux, the same architecture). */
  #sameSystem(p: Probe, step: string, found: string): void {
    const arch = ARCH[process.arch]
    if (
      p.os !== 'Linux' ||
      process.platform !== 'linux' ||
      (arch !== p.machine && !(arch === 'armv7l' && p.machine.startsWith('armv')))
    )
      throw this.#setupError(
        step,
        `${found}, and this machine's binaries are for ${process.platform}-${process.arch}, not ${p.os} ${p.machine}`,
      )
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
        const text = await readFile(f.abs, 'utf8')
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
    } else if (relayed) {
      this.#relayPid = Number(relayed[1])
      if (this.#detaching && this.#conn) execCapture(this.#conn, `kill ${this.#relayPid}`).catch(() => {})
    } else if (line === 'true' || line === 'false') for (const fn of this.#listeners) fn(line === 'true')
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

  /** Copies a graph file again when it is saved with a valid graph. */
  #watchFiles(sftp: Sftp, wd: string): FSWatcher[] {
    const byDir = new Map<string, HostPlan['files'][number][]>()
    for (const f of this.#o.plan.files) byDir.set(dirname(f.abs), [...(byDir.get(dirname(f.abs)) ?? []), f])
    let queue = Promise.resolve()
    const copy = (f: HostPlan['files'][number], own: boolean): void => {
      queue = queue.then(async () => {
        const text = await readFile(f.abs, 'utf8').catch(() => undefined)
        if (text === undefined || text === this.#sent.get(f.abs)) return
        this.#sent.set(f.abs, text)
        try {
          const remote = await this.#o.check(f.abs)
          if (own && !sameHost(remote, this.#o.plan.remote))
            this.#o.log.warn(
              `${basename(f.abs)}: its remote, hostname or remotes changed: that takes effect at the next start`,
            )
        } catch (err) {
          this.#o.log.error(
            `${describeError(err)}\n  (not copied: ${this.hostname} keeps running its last graph)`,
          )
          return
        }
        await sftp
          .putData(`${wd}/${this.#runDir}/${f.rel}`, travellingText(text, own), 0o600)
          .then(n => this.#o.log.info(`${basename(f.abs)} changed: copied (${n} bytes)`))
          .catch(err =>
            this.#o.log.error(`${basename(f.abs)} changed, but cannot be copied: ${describeError(err)}`),
          )
      })
    }
    return [...byDir].map(([dir, files]) => {
      const w = watch(dir, (_ev, name) => {
        for (const f of files)
          if (name === null || name === basename(f.abs)) copy(f, f === this.#o.plan.files[0])
      })
      w.on('error', err => this.#o.log.warn(`cannot watch ${dir}: ${describeError(err)}`))
      return w
    })
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

/** `uname -m` for Node's `process.arch`. */
const ARCH: Readonly<Record<string, string>> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  arm: 'armv7l',
  ppc64: 'ppc64le',
  s390x: 's390x',
}

const sameHost = (a: YamlRemote | undefined, b: YamlRemote): boolean =>
  a !== undefined &&
  a.url === b.url &&
  a.hostname === b.hostname &&
  a.remotes.join('\n') === b.remotes.join('\n')

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))
