/**
 * The World on a real etcd (3.4+), through the `etcd3` client. Every key is under `/_mgmt/`:
 *
 *   strings/<key>                          a shared string (kv)
 *   strings/<key>/<host>                   one host's value of a per-host string (kv `mapped`)
 *   exported/<host>/resources/<kind>/<name>  an exported resource, JSON
 *   hosts/<host>                           a live host (under its lease: a dead host disappears)
 *   converged/<host>                       `true` or `false` (under the same lease)
 *   deploy/<id>, deploy/latest             deploys (JSON) and the newest one's number
 *
 * One etcd watch on the whole prefix feeds every watch of this world. When etcd is lost, the
 * watch reconnects by itself (from the revision it had, so nothing is missed); once it is back,
 * every watcher is woken (they re-read), the exports are written if a write failed meanwhile, and
 * the host's lease is granted again if it expired.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Etcd3, IKeyValue, Lease, Namespace, Watcher } from 'etcd3'
import { describeError, MgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { writeStateFile } from '../../util/statefile.js'
import { readDeploy, readExported } from '../stored.js'
import {
  type CollectedResource,
  type CollectFilter,
  type Deploy,
  type ExportedResource,
  exportedTo,
  exportJson,
  matches,
  sortCollected,
  validHostname,
  type World,
} from '../world.js'
import { etcdClient, reach, say, sayLimits, served, sleep } from './client.js'

export interface EtcdWorldOptions {
  readonly hostname: string
  readonly log: Logger
  /** etcd's client URLs, or how to get them (start or join a cluster first). */
  readonly endpoints: readonly string[] | ((signal: AbortSignal) => Promise<readonly string[]>)
  /** Register this host (hosts/, converged/); off for a client that only deploys. Default on. */
  readonly register?: boolean
  /** Seconds a dead host stays registered. */
  readonly leaseTtl?: number
  /** Runs at the end of close(), once this host is unregistered (leave the cluster). */
  readonly afterClose?: () => Promise<void>
  /** The peer URLs of this host's own etcd server, when it runs one (a cluster's member). */
  readonly peerUrls?: () => readonly string[] | undefined
  /**
   * Where this host keeps the id of its registration's lease: started again (after a crash, a
   * kill), it revokes its own registration at once instead of waiting for it to expire. Without
   * it, it waits, as for another live host of its name.
   */
  readonly leaseFile?: string
}

/** How this host reaches the cluster: what a host it configures over SSH is tunnelled to. */
export interface EtcdEndpoints {
  /** The client URLs this host talks to (its own server's, or the seeds). */
  readonly clientUrls: readonly string[]
  /** Its own server's peer URLs, when it is a member. */
  readonly peerUrls?: readonly string[]
}

const NS = '/_mgmt/'

interface Sub {
  readonly match: (key: string) => boolean
  readonly fn: () => void
}

export class EtcdWorld implements World {
  readonly hostname: string
  readonly #opts: EtcdWorldOptions
  readonly #closing = new AbortController()
  readonly #subs = new Set<Sub>()
  #client: Etcd3 | undefined
  #endpoints: readonly string[] = []
  #ns: Namespace | undefined
  #ready: Promise<void> | undefined
  #watcher: Watcher | undefined
  #online = true
  #lease: { lease: Lease; id: string } | undefined
  #renewing: Promise<void> | undefined
  #converged = false
  /** This host's exports as last asked for, and the write of them in progress. */
  #wanted: readonly ExportedResource[] | undefined
  /** The stored exports that are not exports, by key, with their problem: each said once. */
  readonly #badExports = new Map<string, string>()
  #exporting: Promise<unknown> = Promise.resolve()

  constructor(opts: EtcdWorldOptions) {
    if (!validHostname(opts.hostname)) throw new Error(`invalid host name \`${opts.hostname}\``)
    this.hostname = opts.hostname
    this.#opts = opts
  }

  ready(): Promise<void> {
    this.#ready ??= this.#connect()
    return this.#ready
  }

  /** Where this host reaches the cluster, once connected. */
  async endpoints(): Promise<EtcdEndpoints> {
    await this.ready()
    const peerUrls = this.#opts.peerUrls?.()
    return { clientUrls: this.#endpoints, ...(peerUrls ? { peerUrls } : {}) }
  }

  // --- strings ------------------------------------------------------------------------------

  async strGet(key: string): Promise<string | undefined> {
    return (await (await this.#kv()).get(`strings/${key}`).string()) ?? undefined
  }
  async strSet(key: string, value: string): Promise<void> {
    await (await this.#kv()).put(`strings/${key}`).value(value).catch(sayLimits)
  }
  async strDel(key: string): Promise<void> {
    await (await this.#kv()).delete().key(`strings/${key}`)
  }
  strWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    const k = `strings/${key}`
    return this.#sub(x => x === k, signal, onChange)
  }

  async strMapGet(key: string): Promise<Readonly<Record<string, string>>> {
    const prefix = `strings/${key}/`
    const all = await (await this.#kv()).getAll().prefix(prefix).strings()
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(all)) {
      const host = k.slice(prefix.length)
      if (validHostname(host)) out[host] = v
    }
    return out
  }
  async strMapSet(key: string, value: string): Promise<void> {
    await (await this.#kv()).put(`strings/${key}/${this.hostname}`).value(value).catch(sayLimits)
  }
  async strMapDel(key: string): Promise<void> {
    await (await this.#kv()).delete().key(`strings/${key}/${this.hostname}`)
  }
  strMapWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    const prefix = `strings/${key}/`
    return this.#sub(x => x.startsWith(prefix) && validHostname(x.slice(prefix.length)), signal, onChange)
  }

  // --- exported resources -------------------------------------------------------------------

  async resExport(resources: readonly ExportedResource[]): Promise<boolean> {
    await this.ready()
    this.#wanted = resources
    const run = this.#exporting.then(() => this.#writeExports().catch(sayLimits))
    this.#exporting = run.catch(() => {})
    return run
  }

  async resCollect(filter?: CollectFilter): Promise<CollectedResource[]> {
    const prefix = filter?.host ? `exported/${filter.host}/resources/` : 'exported/'
    const all = await (await this.#kv()).getAll().prefix(prefix).strings()
    const out: CollectedResource[] = []
    for (const [k, v] of Object.entries(all)) {
      const host = k.slice('exported/'.length).split('/', 1)[0]!
      let r: CollectedResource
      try {
        r = { ...readExported(k, v), host }
      } catch (err) {
        // One bad value (another program's, a hand's) costs its own resource, not every collect.
        this.#badExport(k, describeError(err))
        continue
      }
      if (exportedTo(r, this.hostname) && matches(r, filter)) out.push(r)
    }
    return sortCollected(out)
  }

  resWatch(signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#sub(x => x.startsWith('exported/'), signal, onChange)
  }

  /** A stored export that is not one: skipped, and said once for as long as it stays the same. */
  #badExport(key: string, problem: string): void {
    if (this.#badExports.get(key) === problem) return
    this.#badExports.set(key, problem)
    this.#opts.log.warn(`${problem}; it is not collected`)
  }

  // --- hosts and convergence ----------------------------------------------------------------

  async setConverged(converged: boolean): Promise<void> {
    this.#converged = converged
    const l = this.#lease
    if (!l || this.#closing.signal.aborted) return
    await (await this.#kv()).put(`converged/${this.hostname}`).value(String(converged)).lease(l.id)
  }

  async convergedGet(): Promise<ReadonlyMap<string, boolean>> {
    const kv = await this.#kv()
    const [hosts, states] = await Promise.all([
      kv.getAll().prefix('hosts/').keys(),
      kv.getAll().prefix('converged/').strings(),
    ])
    const out = new Map<string, boolean>()
    for (const k of hosts.sort()) {
      const h = k.slice('hosts/'.length)
      out.set(h, states[`converged/${h}`] === 'true')
    }
    return out
  }

  convergedWatch(signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#sub(x => x.startsWith('hosts/') || x.startsWith('converged/'), signal, onChange)
  }

  // --- deploys ------------------------------------------------------------------------------

  deployAdd(deploy: Omit<Deploy, 'id'>): Promise<number> {
    return this.#storeDeploy(deploy).catch(sayLimits)
  }

  async #storeDeploy(deploy: Omit<Deploy, 'id'>): Promise<number> {
    const kv = await this.#kv()
    for (;;) {
      const latest = (await kv.get('deploy/latest').exec()).kvs[0]
      const id = (latest ? Number(latest.value.toString()) : 0) + 1
      const guard = latest
        ? kv.if('deploy/latest', 'Mod', '==', latest.mod_revision)
        : kv.if('deploy/latest', 'Create', '==', 0)
      const res = await guard
        .then(
          kv.put(`deploy/${id}`).value(JSON.stringify({ ...deploy, id })),
          kv.put('deploy/latest').value(String(id)),
        )
        .commit()
      if (res.succeeded) return id
    }
  }

  async deployGet(id?: number): Promise<Deploy | undefined> {
    const kv = await this.#kv()
    const n = id ?? Number((await kv.get('deploy/latest').string()) ?? 0)
    if (!n) return undefined
    const text = await kv.get(`deploy/${n}`).string()
    return text === null ? undefined : readDeploy(n, text)
  }

  deployWatch(signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#sub(x => x === 'deploy/latest', signal, onChange)
  }

  // --- life ---------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return
    this.#closing.abort()
    this.#subs.clear()
    const client = this.#client
    // An etcd that no longer answers (stopped, or behind a tunnel half gone) holds every call on
    // it: each step waits until the same deadline at most, and the close goes on.
    const deadline = Date.now() + CLOSE_MS
    try {
      await settled(this.#ready, deadline)
      await settled(this.#exporting, deadline)
      await settled(this.#watcher?.cancel(), deadline)
      // Unregistering deletes hosts/<me> and converged/<me> at once (the lease's keys).
      const l = this.#lease
      this.#lease = undefined
      // The revoke gets half a second at least, even past the deadline: it is what others see.
      const by = Math.max(deadline, Date.now() + 500)
      if (l) await settled(l.lease.revoke({ deadline: by }), by)
    } finally {
      client?.close()
      await this.#opts.afterClose?.()
    }
  }

  /** The namespace, once the world is ready. */
  async #kv(): Promise<Namespace> {
    await this.ready()
    return this.#ns!
  }

  async #sub(match: (key: string) => boolean, signal: AbortSignal, fn: () => void): Promise<void> {
    await this.ready()
    if (signal.aborted || this.#closing.signal.aborted) return
    const sub = { match, fn }
    this.#subs.add(sub)
    signal.addEventListener('abort', () => this.#subs.delete(sub), { once: true })
    fn()
  }

  async #connect(): Promise<void> {
    const signal = this.#closing.signal
    const e = this.#opts.endpoints
    const endpoints = typeof e === 'function' ? await e(signal) : e
    signal.throwIfAborted()
    this.#endpoints = endpoints
    const client = etcdClient(endpoints)
    this.#client = client
    const ns = client.namespace(NS)
    await reach(served(ns), endpoints, this.#opts.log, signal)
    this.#ns = ns
    await this.#watch(ns)
    if (this.#opts.register ?? true) await this.#register(ns, signal)
  }

  async #watch(ns: Namespace): Promise<void> {
    const w = await ns.watch().prefix('').create()
    this.#watcher = w
    w.on('data', res => {
      const keys = (res.events ?? []).map(ev => (ev.kv as IKeyValue).key.toString())
      for (const s of [...this.#subs]) if (keys.some(s.match)) s.fn()
    })
    w.on('disconnected', err => {
      if (!this.#online || this.#closing.signal.aborted) return
      this.#online = false
      this.#opts.log.warn(`lost etcd (${say(err)}); resources keep running, waiting for it to come back`)
    })
    w.on('connected', () => {
      if (this.#online || this.#closing.signal.aborted) return
      this.#online = true
      this.#opts.log.info('etcd is back')
      void this.#resync()
    })
    w.on('error', err => this.#opts.log.warn(`etcd watch: ${say(err)}`))
  }

  /** After an outage: what failed is written again, and every watcher re-reads. */
  async #resync(): Promise<void> {
    const l = this.#lease
    if (l) {
      // Written again: a write may have failed meanwhile, or etcd may have come back without them.
      void this.#ns!.put(`hosts/${this.hostname}`)
        .value(new Date().toISOString())
        .lease(l.id)
        .catch(() => {})
      void this.setConverged(this.#converged).catch(() => {})
    } else if (this.#opts.register ?? true) void this.#renew()
    // Only what differs is written (nothing when nothing does).
    if (this.#wanted) void this.resExport(this.#wanted).catch(() => {})
    for (const s of [...this.#subs]) s.fn()
  }

  /** Registers this host under a fresh lease; waits for a previous registration to expire. */
  async #register(ns: Namespace, signal: AbortSignal): Promise<void> {
    const ttl = this.#opts.leaseTtl ?? 10
    const deadline = Date.now() + 2 * ttl * 1000 + 1000
    const key = `hosts/${this.hostname}`
    // The lease of this host's previous run, read once, and revoked if it holds the name.
    let previous = await this.#keptLeaseId()
    let said = false
    for (;;) {
      const lease = await this.#grant(ns, ttl)
      const res = await ns
        .if(key, 'Create', '==', 0)
        .then(
          ns.put(key).value(new Date().toISOString()).lease(lease.id),
          ns.put(`converged/${this.hostname}`).value(String(this.#converged)).lease(lease.id),
        )
        .commit()
      if (res.succeeded) {
        this.#lease = lease
        await this.#keepLeaseId(lease.id)
        return
      }
      await lease.lease.revoke().catch(() => {})
      if (previous) {
        // Asked once: a name held under another lease does not come to hold this one.
        const revoked = await this.#revokePrevious(ns, key, previous)
        previous = undefined
        if (revoked) continue
      }
      if (Date.now() > deadline) throw new MgmtError('ERR_HOSTNAME_TAKEN', { hostname: this.hostname })
      if (!said) {
        this.#opts.log.info(
          `host ${this.hostname} is still registered (a previous run?); waiting for that to expire`,
        )
        said = true
      }
      await sleep(500, signal)
    }
  }

  /** Keeps the registration's lease id in the lease file, when there is one. */
  async #keepLeaseId(id: string): Promise<void> {
    const file = this.#opts.leaseFile
    if (!file) return
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 })
      await writeStateFile(file, `${id}\n`)
    } catch (err) {
      this.#opts.log.warn(`cannot keep the registration's lease id: ${describeError(err)}`)
    }
  }

  /** The lease id that the lease file keeps from this host's previous run, if any. */
  async #keptLeaseId(): Promise<string | undefined> {
    const file = this.#opts.leaseFile
    const kept = file ? (await readFile(file, 'utf8').catch(() => '')).trim() : ''
    return /^\d+$/.test(kept) ? kept : undefined
  }

  /**
   * The registration at `key`, when it is held by `previous`, this host's previous run's lease, is
   * revoked at once; true then. Another host's, or one of unknown origin, is left to expire.
   */
  async #revokePrevious(ns: Namespace, key: string, previous: string): Promise<boolean> {
    const held = (await ns.get(key).exec()).kvs[0]?.lease
    if (held !== previous) return false
    await ns.leaseClient.leaseRevoke({ ID: previous })
    this.#opts.log.info(`revoked the registration of this host's previous run (lease ${previous})`)
    return true
  }

  async #grant(ns: Namespace, ttl: number): Promise<{ lease: Lease; id: string }> {
    const lease = ns.lease(ttl)
    const id = String(await lease.grant())
    lease.on('lost', err => {
      if (this.#lease?.lease !== lease || this.#closing.signal.aborted) return
      this.#lease = undefined
      this.#opts.log.warn(`this host's registration expired (${say(err)}); it is renewed once etcd answers`)
      void this.#renew()
    })
    return { lease, id }
  }

  /** Registers again after the lease was lost: tried until it works or the world closes. */
  #renew(): Promise<void> {
    this.#renewing ??= (async () => {
      let delay = 100
      while (!this.#lease && !this.#closing.signal.aborted) {
        try {
          const l = await this.#grant(this.#ns!, this.#opts.leaseTtl ?? 10)
          await this.#ns!.put(`hosts/${this.hostname}`).value(new Date().toISOString()).lease(l.id)
          await this.#ns!.put(`converged/${this.hostname}`).value(String(this.#converged)).lease(l.id)
          this.#lease = l
          await this.#keepLeaseId(l.id)
          this.#opts.log.info(`host ${this.hostname} registered again`)
        } catch {
          await sleep(delay, this.#closing.signal).catch(() => {})
          delay = Math.min(delay * 2, 1000)
        }
      }
    })().finally(() => {
      this.#renewing = undefined
    })
    return this.#renewing
  }

  /**
   * This host's new and changed exports, and the deletion of stale ones, in transactions that any
   * etcd takes: at most TXN_OPS keys and TXN_BYTES of values each (an etcd of its defaults takes
   * 128 operations and 1.5 MiB a request; the one mgmt runs, more). Each key written is guarded by
   * the revision read: a concurrent change fails its transaction, and everything is read again.
   * Whoever collects meanwhile may see a part of a large change; the rest follows at once.
   */
  async #writeExports(): Promise<boolean> {
    const ns = this.#ns!
    const prefix = `exported/${this.hostname}/resources/`
    let wrote = false
    for (;;) {
      const want = new Map((this.#wanted ?? []).map(r => [`${prefix}${r.kind}/${r.name}`, exportJson(r)]))
      const changes: ExportChange[] = []
      const have = (await ns.getAll().prefix(prefix).exec()).kvs
      for (const kv of have) {
        const key = kv.key.toString()
        const value = want.get(key)
        if (value !== kv.value.toString()) changes.push({ key, value, column: 'Mod', rev: kv.mod_revision })
      }
      const old = new Set(have.map(kv => kv.key.toString()))
      for (const [key, value] of want)
        if (!old.has(key)) changes.push({ key, value, column: 'Create', rev: 0 })
      if (!changes.length) return wrote
      let raced = false
      for (const part of txnParts(changes)) {
        let txn = ns.if(part[0]!.key, part[0]!.column, '==', part[0]!.rev)
        for (const c of part.slice(1)) txn = txn.and(c.key, c.column, '==', c.rev)
        const ops = part.map(c =>
          c.value === undefined ? ns.delete().key(c.key) : ns.put(c.key).value(c.value),
        )
        if (!(await txn.then(...ops).commit()).succeeded) {
          raced = true
          break
        }
        wrote = true
      }
      // Changed under us (another process with this host name?): read and write again.
      if (!raced) return wrote
    }
  }
}

/** One key of this host's exports to write (`value`) or delete, guarded by the revision read. */
interface ExportChange {
  readonly key: string
  readonly value: string | undefined
  readonly column: 'Mod' | 'Create'
  readonly rev: string | number
}

/** Keys a transaction writes at most: etcd's default `--max-txn-ops`. */
const TXN_OPS = 128
/** Bytes of values a transaction writes at most, under etcd's default request limit of 1.5 MiB. */
const TXN_BYTES = 1 << 20

/** The changes in transactions of at most TXN_OPS keys and TXN_BYTES (a larger one alone). */
function* txnParts(changes: readonly ExportChange[]): Generator<ExportChange[]> {
  let part: ExportChange[] = []
  let bytes = 0
  for (const c of changes) {
    const size = Buffer.byteLength(c.key) + (c.value === undefined ? 0 : Buffer.byteLength(c.value))
    if (part.length && (part.length === TXN_OPS || bytes + size > TXN_BYTES)) {
      yield part
      part = []
      bytes = 0
    }
    part.push(c)
    bytes += size
  }
  if (part.length) yield part
}

/** How long closing waits, in all, for an etcd that does not answer. */
const CLOSE_MS = 2000

/** Resolves once `p` has settled (either way), or at `deadline`, whichever comes first. */
async function settled(p: Promise<unknown> | undefined, deadline: number): Promise<void> {
  if (!p) return
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    p.then(
      () => {},
      () => {},
    ),
    new Promise<void>(resolve => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
    }),
  ])
  clearTimeout(timer)
}
