/**
 * Forming and leaving an etcd cluster, for the etcd world:
 *
 * - without seeds, this host starts a managed etcd server: a new one-member cluster (or the one
 *   whose data is already under `<prefix>/etcd/`);
 * - with seeds, it joins that cluster: as a member (MemberAdd, then its own server started to
 *   join the others) while the cluster has fewer members than the ideal size, else (or with
 *   `--no-server`) as a client only; one host at a time (a lock in etcd), so that hosts started
 *   together (remote hosts with `--detach`) each name every member when their server starts;
 * - on leaving, a member removes itself first (so the others keep their quorum) and stops its
 *   server; the last member keeps its data for the next start.
 */
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { type Etcd3, EtcdLockFailedError, type IMember, type Namespace } from 'etcd3'
import { describeError, isMgmtError, MgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { linkSignal } from '../../util/signals.js'
import { etcdClient, reach, say, served, sleep } from './client.js'
import { EtcdServer } from './server.js'
import { EtcdWorld } from './world.js'

export interface ClusterOptions {
  readonly hostname: string
  /** The state directory: the server's data goes in `<prefix>/etcd/`. */
  readonly prefix: string
  readonly log: Logger
  /** Client URLs of an existing cluster to join; none: start a new one. */
  readonly seeds: readonly string[]
  /** This host's server: where it serves clients, and its peers. */
  readonly clientUrls: readonly string[]
  readonly serverUrls: readonly string[]
  /** May this host run an etcd server (`--no-server`: no)? */
  readonly server: boolean
  /** A joining host becomes a member while the cluster has fewer members than this. */
  readonly idealClusterSize: number
  /** The etcd binary. */
  readonly etcdBinary: string
  /**
   * Members will be on other hosts (remote hosts joining with `--detach`), though this host's peer
   * URLs are on loopback: keep etcd's network timing.
   */
  readonly spansHosts?: boolean
}

/** The etcd world of a cluster: it is formed or joined when the world gets ready, left when it closes. */
export function clusterWorld(opts: ClusterOptions): EtcdWorld {
  const cluster = new Cluster(opts)
  return new EtcdWorld({
    hostname: opts.hostname,
    log: opts.log,
    endpoints: signal => cluster.start(signal),
    afterClose: () => cluster.leave(),
    peerUrls: () => cluster.peerUrls,
    leaseFile: join(opts.prefix, 'etcd', 'lease'),
  })
}

class Cluster {
  readonly #o: ClusterOptions
  readonly #log: Logger
  readonly #dir: string
  #server: EtcdServer | undefined
  /** Aborted on leaving: no server is started again after that. */
  readonly #life = new AbortController()
  /** The wait before the server is started again (see #supervise); the first quick exit doubles it. */
  #restartDelay = FIRST_RESTART_MS / 2
  /** A client for membership changes, to this host's server and the seeds. */
  #admin: Etcd3 | undefined

  constructor(opts: ClusterOptions) {
    this.#o = opts
    this.#log = opts.log.child('etcd')
    this.#dir = join(opts.prefix, 'etcd')
  }

  /** This host's server's peer URLs, while it runs one. */
  get peerUrls(): readonly string[] | undefined {
    return this.#server ? this.#o.serverUrls : undefined
  }

  /** Forms or joins the cluster; resolves with the client URLs to use. */
  async start(signal: AbortSignal): Promise<readonly string[]> {
    const o = this.#o
    if (!o.seeds.length) {
      await this.#serve('new', `${peers(o.hostname, o.serverUrls)}`, signal)
      this.#admin = etcdClient(o.clientUrls)
      return o.clientUrls
    }
    // A client talks to the seeds, and only to them: the members' own URLs may mean nothing from
    // here (a host that reaches the cluster through a tunnel). More seeds, more failover.
    if (!o.server) return o.seeds
    const admin = etcdClient(o.seeds)
    this.#admin = admin
    if (existsSync(join(this.#dir, 'data', 'member')) && (await this.#comeBack(admin, signal)))
      return this.#member()
    if (await this.#completeJoin(admin, signal)) return this.#member()
    await reach(served(admin), o.seeds, this.#log, signal)
    const as = await joining(admin, this.#log, signal, () => this.#enter(admin, signal))
    return as === 'member' ? this.#member() : o.seeds
  }

  /**
   * A host with member data here was a member, and comes back from that data (killed, rebooted).
   * Its server starts at once, without waiting for the cluster: in a cluster of two, the other
   * member has no quorum without it, and answers nothing that needs one. Meanwhile the seeds say
   * who the members are, which needs no quorum. A host that is not among them (the cluster removed
   * it, or the data is of another cluster) stops that server, removes the data, and joins anew:
   * then this returns false.
   */
  async #comeBack(admin: Etcd3, signal: AbortSignal): Promise<boolean> {
    const o = this.#o
    this.#log.info(`rejoining the cluster as member ${o.hostname}, from its data`)
    const starting = linkSignal(signal)
    // etcd takes the cluster from its data; the initial cluster is only read to form one.
    const serving = this.#serve('existing', peers(o.hostname, o.serverUrls), starting.signal)
    serving.catch(() => {})
    const asking = linkSignal(signal)
    const listed = reach(listMembers(admin), o.seeds, this.#log, asking.signal)
    listed.catch(() => {})
    try {
      // A server that fails to start says so without waiting for the seeds.
      const members = await Promise.race([listed, serving.then(() => listed)])
      if (members.some(m => m.name === o.hostname)) {
        await serving
        return true
      }
      this.#log.info(
        `${o.hostname} is no member of the cluster at ${o.seeds.join(', ')} (any more): joining anew`,
      )
    } catch (err) {
      if (!isMgmtError(err, 'ERR_ETCD_SERVER') || !REMOVED.test(err.message)) throw err
      this.#log.info(`the cluster removed the member ${o.hostname}: joining anew`)
    } finally {
      starting.unlink()
      asking.abort()
    }
    starting.abort()
    await serving.catch(() => {})
    const server = this.#server
    this.#server = undefined
    await server?.stop()
    await this.#dropData()
    return false
  }

  /**
   * A host killed between its MemberAdd and its server's start left a member that never started
   * (etcd lists it without a name) at this host's peer URLs. In a cluster of one, that member took
   * the quorum away, and nothing that needs one is answered until it starts: its server starts now
   * as that member, which completes the join.
   */
  async #completeJoin(admin: Etcd3, signal: AbortSignal): Promise<boolean> {
    const o = this.#o
    const members = await reach(listMembers(admin), o.seeds, this.#log, signal)
    const urls = (l: readonly string[]): string => [...l].sort().join(',')
    const added = members.find(m => !m.name && urls(m.peerURLs) === urls(o.serverUrls))
    if (!added) return false
    this.#log.info(`completing the join as member ${o.hostname}: it was added, and its server never started`)
    await this.#dropData()
    await this.#serve('existing', initialCluster(members, added.ID, o.hostname), signal)
    return true
  }

  /** Joins as a member, or stays a client; with the join lock held. */
  async #enter(admin: Etcd3, signal: AbortSignal): Promise<'member' | 'client'> {
    const o = this.#o
    const members = (await admin.cluster.memberList({})).members
    const mine = members.find(m => m.name === o.hostname)
    if (mine) {
      this.#log.info(`removing the stale member ${o.hostname} (its data is gone)`)
      await admin.cluster.memberRemove({ ID: mine.ID }, { deadline: Date.now() + UNDO_MS }).catch(err => {
        throw new MgmtError(
          'ERR_CLUSTER_JOIN',
          { seeds: o.seeds, reason: `the stale member ${o.hostname} cannot be removed (${say(err)})` },
          { cause: err },
        )
      })
    }
    const others = members.filter(m => m !== mine)
    if (others.length >= o.idealClusterSize) {
      this.#log.info(
        `the cluster has ${others.length} members (ideal size ${o.idealClusterSize}): joining as a client`,
      )
      return 'client'
    }
    await this.#join(admin, signal)
    return 'member'
  }

  /**
   * A member talks to its own server only (the seeds may leave; its own server is there as long as
   * it is), for its world and for membership changes.
   */
  #member(): readonly string[] {
    this.#admin?.close()
    this.#admin = etcdClient(this.#o.clientUrls)
    return this.#o.clientUrls
  }

  /** Adds this host as a member, then starts its server to join; undoes the add if it cannot start. */
  async #join(admin: Etcd3, signal: AbortSignal): Promise<void> {
    const o = this.#o
    // A new member starts from nothing: what is here belonged to another cluster.
    await this.#dropData()
    await reach(deadline => versionDecided(o.seeds, deadline), o.seeds, this.#log, signal)
    let added: { member: IMember; members: IMember[] }
    try {
      added = await admin.cluster.memberAdd({ peerURLs: [...o.serverUrls] })
    } catch (err) {
      throw new MgmtError('ERR_CLUSTER_JOIN', { seeds: o.seeds, reason: say(err) }, { cause: err })
    }
    this.#log.info(`joining the cluster as member ${o.hostname} (${added.members.length} members)`)
    try {
      await this.#serve('existing', initialCluster(added.members, added.member.ID, o.hostname), signal)
    } catch (err) {
      // Undone, so that the cluster keeps its quorum. In a cluster of one, the member just added
      // counts for the quorum that its removal needs: it cannot be undone, and is said.
      await admin.cluster
        .memberRemove({ ID: added.member.ID }, { deadline: Date.now() + UNDO_MS })
        .catch(e =>
          this.#log.warn(
            `could not remove the member ${o.hostname} again (${say(e)}): start this host again with the same --server-urls to complete its join, or remove the member with etcdctl`,
          ),
        )
      throw err
    }
  }

  async #serve(state: 'new' | 'existing', initial: string, signal: AbortSignal): Promise<void> {
    const o = this.#o
    const server = await EtcdServer.start({
      binary: o.etcdBinary,
      name: o.hostname,
      dataDir: join(this.#dir, 'data'),
      logFile: join(this.#dir, 'server.log'),
      clientUrls: o.clientUrls,
      peerUrls: o.serverUrls,
      initialCluster: initial,
      state,
      log: this.#log,
      signal,
      ...(o.spansHosts ? { networkTiming: true } : {}),
    })
    this.#server = server
    this.#supervise(server)
    this.#log.info(`serving clients on ${o.clientUrls.join(', ')}, peers on ${o.serverUrls.join(', ')}`)
  }

  /**
   * A server that exits on its own (killed, out of memory) is started again from its data: after
   * 1 s, then twice as long after each start that fails or each exit within 30 s of a start, at most
   * 30 s. Meanwhile the world waits for etcd as for any outage, and the resources keep running. A
   * member that the cluster removed is not started again.
   */
  #supervise(server: EtcdServer): void {
    const life = this.#life.signal
    const started = Date.now()
    const longer = (): number => Math.min(this.#restartDelay * 2, MAX_RESTART_MS)
    void server.exited.then(async () => {
      this.#restartDelay = Date.now() - started < QUICK_EXIT_MS ? longer() : FIRST_RESTART_MS
      while (this.#server === server && !life.aborted) {
        this.#log.info(`starting the etcd server again in ${this.#restartDelay / 1000} s`)
        try {
          await sleep(this.#restartDelay, life)
          // From its data: the cluster it belongs to is there.
          await this.#serve('existing', peers(this.#o.hostname, this.#o.serverUrls), life)
          return
        } catch (err) {
          if (life.aborted) return
          if (isMgmtError(err, 'ERR_ETCD_SERVER') && REMOVED.test(err.message)) {
            this.#log.error(
              'the etcd server cannot start again: the cluster removed this member (start mgmt again to join anew)',
            )
            return
          }
          this.#log.warn(`the etcd server does not start again: ${describeError(err)}`)
          this.#restartDelay = longer()
        }
      }
    })
  }

  /** Leaves the cluster: a member removes itself unless it is the last one, then stops its server. */
  async leave(): Promise<void> {
    this.#life.abort()
    const server = this.#server
    const admin = this.#admin
    this.#server = undefined
    this.#admin = undefined
    try {
      if (server && admin) await this.#removeSelf(admin, server)
    } finally {
      admin?.close()
      await server?.stop()
    }
  }

  async #removeSelf(admin: Etcd3, server: EtcdServer): Promise<void> {
    const me = this.#o.hostname
    let gone = false
    void server.exited.then(() => {
      gone = true
    })
    // A removal can be refused while the cluster settles (a leader election): tried for a while.
    // When every member leaves at once, the last ones may have no quorum left: give up then.
    const deadline = Date.now() + 5000
    const soon = () => ({ deadline: Math.min(deadline, Date.now() + 2000) })
    let asked = false
    /** How many members remain once this one is removed, from the list read before asking. */
    let remain: number | undefined
    let first: unknown
    for (;;) {
      try {
        // Removed, our server stops at once, often before its answer to the removal gets out.
        if (asked && gone) return await this.#left(remain)
        const members = (await admin.cluster.memberList({}, soon())).members
        const mine = members.find(m => m.name === me)
        if (!mine) return await this.#left()
        if (members.length === 1) return // the last member keeps its data, and the cluster
        server.expectExit() // a removed member's server stops by itself
        asked = true
        remain = members.length - 1
        await admin.cluster.memberRemove({ ID: mine.ID }, soon())
        return await this.#left(remain)
      } catch (err) {
        first ??= err
        if (asked) await Promise.race([server.exited, sleep(1000, new AbortController().signal)])
        if (asked && gone) return await this.#left(remain)
        if (Date.now() > deadline) {
          this.#log.warn(`could not leave the cluster cleanly: ${describeError(first)}`)
          return
        }
        this.#log.debug(`leaving the cluster: ${describeError(err)}`)
        await sleep(200, new AbortController().signal)
      }
    }
  }

  /** This host's member data, gone: it belonged to another cluster, or to a member that is no more. */
  #dropData(): Promise<void> {
    return rm(join(this.#dir, 'data'), { recursive: true, force: true })
  }

  /** No longer a member: this data cannot start a server again. */
  async #left(remain?: number): Promise<void> {
    const n = remain === undefined ? '' : ` (${remain} member${remain === 1 ? ' remains' : 's remain'})`
    this.#log.info(`left the cluster${n}`)
    await this.#dropData()
  }
}

/**
 * Runs `fn` holding the cluster's join lock (`/_mgmt/join`, under a lease): one host joins at a
 * time. A new member's server must name every member when it starts, so a host added meanwhile
 * by another (both seeing the other's add, or not) would make it refuse to start.
 */
async function joining<T>(admin: Etcd3, log: Logger, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const ns = admin.namespace('/_mgmt/')
  let said = false
  for (;;) {
    signal.throwIfAborted()
    const lock = ns.lock('join').ttl(JOIN_LOCK_TTL)
    try {
      await lock.acquire()
    } catch (err) {
      if (!(err instanceof EtcdLockFailedError)) throw err
      if (!said) log.info('another host is joining the cluster: waiting for it')
      said = true
      await released(ns, signal)
      continue
    }
    try {
      return await fn()
    } finally {
      await lock.release().catch(() => {})
    }
  }
}

/** Asks for the members: etcd answers this without a quorum. */
const listMembers =
  (admin: Etcd3) =>
  (deadline: number): Promise<IMember[]> =>
    admin.cluster.memberList({}, { deadline }).then(r => r.members)

/** What etcd says when it starts as a member that the cluster removed. */
const REMOVED = /permanently removed from the cluster|member.*removed/i

/**
 * Resolves once the cluster has decided its version, which its leader does soon after it forms: a
 * member that joins before then cannot start ("cannot understand the cluster version of member X
 * (not_decided is not in dotted-tri format)"), and in a cluster of one, the member it was added as
 * holds the quorum away. Asked of etcd's /version, at the first seed that answers.
 */
export async function versionDecided(seeds: readonly string[], deadline: number): Promise<void> {
  let why: unknown
  for (const seed of seeds) {
    try {
      const res = await fetch(new URL('/version', seed), {
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      })
      const { etcdcluster } = (await res.json()) as { etcdcluster?: unknown }
      if (typeof etcdcluster === 'string' && /^\d+\.\d+\.\d+$/.test(etcdcluster)) return
      why = new Error(`the cluster's version is not decided yet (${String(etcdcluster)})`)
    } catch (err) {
      why = err
    }
  }
  throw why
}

/** The first wait before a server that exited is started again, and the longest. */
const FIRST_RESTART_MS = 1000
const MAX_RESTART_MS = 30_000
/** A server that exits sooner than this after its start waits longer before the next. */
const QUICK_EXIT_MS = 30_000

/** How long the removal of a member (one whose server did not start, a stale one) may take. */
const UNDO_MS = 5000

/** Seconds a host that died while joining holds the others back. */
const JOIN_LOCK_TTL = 30

/** Resolves once the join lock is free (its key deleted, or gone already); rejects on abort. */
async function released(ns: Namespace, signal: AbortSignal): Promise<void> {
  const w = await ns.watch().key('join').create()
  try {
    // Looked at once the watch is there, so that a release in between is not missed.
    if (!(await ns.get('join').exists())) return
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      w.once('delete', () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      })
    })
  } finally {
    await w.cancel().catch(() => {})
  }
}

/** `name=url,...` for a member's peer URLs. */
const peers = (name: string, urls: readonly string[]): string => urls.map(u => `${name}=${u}`).join(',')

/** Every member's peers, this one named; members that have not started yet have no name. */
function initialCluster(members: readonly IMember[], myId: string, me: string): string {
  return members.map(m => peers(m.ID === myId ? me : m.name, m.peerURLs)).join(',')
}
