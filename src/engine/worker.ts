/**
 * The per-vertex worker: it runs the resource's watch for the whole life of the vertex, and a
 * loop that processes (checkApply) when watch reports a change or a neighbour pokes.
 *
 * Ordering is by timestamps, as in mgmt: a vertex may process only when every upstream vertex has
 * processed more recently than it has. When that does not hold it pokes the stale upstreams (a
 * "back-poke") and waits to be poked in turn. After processing it pokes each downstream vertex
 * whose upstreams are now all fresh. So startup runs the graph in topological order with all the
 * parallelism it allows, and later a changed resource re-runs itself, then its dependents.
 *
 * The clean-state cache: after a successful checkApply the vertex is clean; a poke alone never
 * re-runs a clean resource. Only a watch event (or a refresh, a received value, a replacement)
 * makes it dirty.
 *
 * A vertex that waits for its upstream vertices (its last pass back-poked them) does not pass
 * again when a dependent back-pokes it: it notes the dependent and pokes it after running. So a
 * chain of N vertices starts in about 2N passes, not N²/3.
 *
 * An idle worker holds nothing in flight: no parked loop, no promise. When an event or a poke
 * arrives, the worker is queued to pass, and its turn comes after the caller's synchronous work (a
 * bounded number of workers a turn of the event loop, see turns.ts). The worker's only signal (its
 * watch's) has no listener of the engine's: the shared watcher drops a stopped worker's paths when
 * told, and the engine stops every worker at once on shutdown.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describeError, isAbortError, isMgmtError, MgmtError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { linkSignal } from '../util/signals.js'
import { monotonicMs } from '../util/timers.js'
import type { Res } from './compiled.js'
import type { ConvergerHandle } from './converger.js'
import {
  type Cause,
  describeCause,
  type EngineEvents,
  type ResourceState,
  STARTUP,
  WATCH_EVENT,
} from './events.js'
import { TokenBucket } from './features/ratelimit.js'
import type { Semaphores } from './features/semaphore.js'
import { markApplied, sendIsSensitive, stringsIn, type Transfer } from './features/sendrecv.js'
import { nulIssues } from './params.js'
import type { Instance, RecvState } from './resource.js'

/** A neighbour, as a worker sees it. */
export interface Peer {
  readonly id: string
  readonly ts: number
  poke(): void
  /** A downstream vertex waits for this one to process: poke it afterwards. */
  backPoke(from: Peer): void
  /** Has processed, is clean and has nothing pending or running: nobody needs to wait for it. */
  readonly settled: boolean
}

/** What a worker needs from its engine. */
export interface WorkerHost {
  /** A strictly increasing clock for timestamps. */
  tick(): number
  /** Counters; a worker counts its passes. */
  readonly stats: { passes: number }
  /** Aborts every running checkApply (the second ^C). */
  readonly cancelled: AbortSignal
  /** Aborted when the engine closes: the watch signal of the resources whose kind follows paths only. */
  readonly closing: AbortSignal
  upstream(id: string): Peer[]
  downstream(id: string): Peer[]
  /** Engine-wide noop (`--noop`). */
  readonly noop: boolean
  /** Runs `w.drive()` soon: after the caller's synchronous work, a bounded number a turn (turns.ts). */
  schedule(w: Worker): void
  /** Called once when the worker gives up (retries exhausted). */
  failed(w: Worker, err: unknown): void
  /** Called after each checkApply that ran. */
  checked(w: Worker, ok: boolean, apply: boolean, cause: Cause): void
  /** The resources whose notifications are pending for `id`, each with its edge's generation. */
  pendingRefresh(id: string): ReadonlyMap<string, number>
  /** The targets of `id`'s outgoing notify edges. */
  notifyTargets(id: string): string[]
  /** The event stream (workers publish state changes and checks). */
  readonly events: EngineEvents
  /**
   * Before a checkApply with apply=true: persist a notification on each outgoing notify edge.
   * Resolves once it is on disk, with the function that settles it after the check (`changed`:
   * keep it pending; otherwise drop it); undefined (at once, not a promise) when there is no
   * outgoing notify edge.
   */
  intendNotify(id: string): Promise<(changed: boolean) => Promise<void>> | undefined
  /**
   * Remove the delivered notifications (those `pendingRefresh` gave when the check began; one that
   * came along an edge since stays pending).
   */
  delivered(id: string, from: ReadonlyMap<string, number>): Promise<void>
  /** Copy the values sent along incoming edges into `w.params` (and into its members'). */
  receive(w: Worker): Transfer
  /** The graph's semaphores (meta `sema`). */
  readonly semaphores: Semaphores
  /** The checkApply retry budget left for a resource; it survives a replacement unless meta `reset`. */
  retriesLeft(res: Res): number
  saveRetries(id: string, left: number): void
}

/**
 * The reason every stop aborts with: one shared object instead of a new DOMException per abort
 * (which costs, at 10,000 resources). Named like the platform's, so it reads as a normal stop.
 */
export const STOPPED: Error = Object.freeze(Object.assign(new Error('stopped'), { name: 'AbortError' }))

/** A member of a grouped vertex that receives values: its own params and received state. */
export interface Receiver {
  readonly id: string
  readonly name: string
  readonly def: Res['def']
  readonly params: Record<string, unknown>
  readonly recvState: Record<string, RecvState>
}

const NO_SECRETS: ReadonlySet<string> = new Set()
const NO_MEMBERS: ReadonlyMap<string, Receiver> = new Map()

export class Worker implements Peer {
  /** Timestamp of the last successful process; 0 = never. */
  ts = 0
  /** True once the resource was applied without error (for `realize`). */
  applied = false
  /** During checkApply: a notification is being delivered (ctx.refresh()). */
  refreshing = false
  /** Values of this resource's last successful checkApply (ctx.send). */
  sent: Readonly<Record<string, unknown>> | undefined
  /** Received params (ctx.recv()). */
  readonly recvState: Record<string, RecvState> = {}
  /** Why the resource is dirty (set when it becomes dirty, cleared when it is clean again). */
  #dirty: Cause | undefined
  #clean = false
  /** Why the last pass waited (ERR_RES_WAITING), so that a long wait is logged once. */
  #waitingFor: string | undefined
  #started = false
  #failed = false
  #stopping = false
  #eventPending = false
  #pokePending = false
  #processing = false
  /** Its last pass back-poked its stale upstreams and nothing woke it since: a back-poke only registers. */
  #blocked = false
  /** Downstream vertices that back-poked this one and wait for it (made on the first). */
  #waiting: Set<Peer> | undefined
  /** A drive (passes until nothing is pending) is running. */
  #driving = false
  /** The running drive, or the last one (settled). */
  #loop: Promise<void> | undefined
  /** The watch task, settled once watch returned. */
  #watching: Promise<void> | undefined
  /** Aborted when the worker stops: its watch's signal (unless shared) and its waits'. Made on first use. */
  #abort: AbortController | undefined
  /** Its kind follows paths only (traits.pathWatch): its watch has the engine's closing signal. */
  readonly #sharedWatch: boolean
  /** Only with a finite `limit`. */
  readonly #bucket: TokenBucket | undefined

  constructor(
    readonly res: Res,
    /** The params the instance reads: a copy of res.params that received values are written into. */
    readonly params: Record<string, unknown>,
    readonly instance: Instance,
    readonly log: Logger,
    readonly host: WorkerHost,
    readonly converger: ConvergerHandle,
    /** The other members of a grouped vertex, by id. */
    readonly members: ReadonlyMap<string, Receiver> = NO_MEMBERS,
    /** The cause of its first run: startup, or the graph change that added or replaced it. */
    readonly firstCause: Cause = STARTUP,
  ) {
    if (res.meta.limit !== Number.POSITIVE_INFINITY)
      this.#bucket = new TokenBucket(res.meta.limit, res.meta.burst)
    // Polling keeps a timer that must end with the worker: it needs the worker's own signal.
    this.#sharedWatch = res.def.traits?.pathWatch === true && members.size === 0 && res.meta.poll === 0
  }

  get id(): string {
    return this.res.id
  }

  /** Aborted when the worker stops (made on first use). */
  get signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController()
      // Asked for after the worker stopped or failed (a retry's delay): already over.
      if (this.#stopping || this.#failed) this.#abort.abort(STOPPED)
    }
    return this.#abort.signal
  }

  /** The signal handed to watch: the worker's own, or for a kind that follows paths only, the engine's. */
  get watchSignal(): AbortSignal {
    return this.#sharedWatch ? this.host.closing : this.signal
  }

  /** Is what this resource sends under `key` a secret? (Its kind says so, or it received one.) */
  sensitive(key: string): boolean {
    return sendIsSensitive(this.res.def, key, this.recvState)
  }

  /** The secrets this resource holds (sent or received), which its logger never shows. */
  secrets(): ReadonlySet<string> {
    const received = Object.entries(this.recvState).filter(([, s]) => s.sensitive)
    if (!received.length && !this.res.def.sensitive?.length) return NO_SECRETS
    const out = new Set<string>()
    for (const [k] of received) stringsIn(this.params[k], out)
    for (const [k, v] of Object.entries(this.sent ?? {})) if (this.sensitive(k)) stringsIn(v, out)
    return out
  }
  get hasFailed(): boolean {
    return this.#failed
  }
  /** A pass (checkApply) is under way. */
  get processing(): boolean {
    return this.#processing
  }
  get started(): boolean {
    return this.#started
  }
  get settled(): boolean {
    return (
      this.ts > 0 &&
      this.#clean &&
      !this.#processing &&
      !this.#eventPending &&
      !this.#pokePending &&
      !this.#failed
    )
  }

  /** Starts watch; passes follow its first event. */
  start(): void {
    if (!this.#stopping) this.#watching = this.#runWatch()
  }

  /** From watch (through ctx.event): a possible change; the first call means ready. */
  event(): void {
    if (this.#stopping || this.#failed) return
    this.#started = true
    this.#eventPending = true
    this.#blocked = false
    this.#signal()
  }

  /** From a neighbour: time to check whether this vertex may run. */
  poke(): void {
    if (this.#stopping || this.#failed) return
    this.#pokePending = true
    this.#blocked = false
    this.#signal()
  }

  backPoke(from: Peer): void {
    this.#waiting ??= new Set()
    this.#waiting.add(from)
    // It waits for its own upstream vertices: it runs once they have, and then pokes `from`.
    if (!this.#blocked) this.poke()
  }

  /**
   * Stops: no new pass, the watch's signal aborted. Resolves once the running pass (if any) and
   * watch have returned; undefined when neither runs (most workers of a graph at rest): stopped
   * at once, no promise made.
   */
  stop(): Promise<void> | undefined {
    this.#stopping = true
    this.#abort?.abort(STOPPED)
    // A watch on the shared signal has returned (its paths end with the worker): never waited for.
    const watching = this.#sharedWatch ? undefined : this.#watching
    if (!this.#loop && !watching) return void this.converger.remove()
    return Promise.all([this.#loop, watching]).then(() => this.converger.remove())
  }

  #signal(): void {
    if (this.#failed || this.#stopping) return
    const due = this.#eventPending || this.#pokePending
    if (!this.#started || due) this.converger.setBusy(true)
    if (!due || !this.#started || this.#driving) return
    // Never inside the caller: a neighbour's pass pokes this one, which must not nest in it. Nor
    // with a frame of its own before its turn: that would keep thousands of them alive at once.
    this.#driving = true
    this.host.schedule(this)
  }

  /** Its turn to pass (from the host's queue, after `schedule`). */
  drive(): Promise<void> {
    this.#loop = this.#drive()
    return this.#loop
  }

  /** Passes until nothing is pending; then the worker is idle and holds nothing in flight. */
  async #drive(): Promise<void> {
    try {
      while (!this.#stopping && this.#started && (this.#eventPending || this.#pokePending)) {
        if (this.#eventPending) {
          this.#clean = false
          this.#dirty ??= this.ts === 0 ? this.firstCause : WATCH_EVENT
          // Events past the rate limit wait here; more events meanwhile coalesce into this one.
          if (this.ts > 0 && this.#bucket) await this.#bucket.take(this.signal).catch(() => {})
          if (this.#stopping) return
        }
        this.#eventPending = false
        this.#pokePending = false
        this.#processing = true
        try {
          await this.#processWithRetry()
        } finally {
          this.#processing = false
        }
        if (this.#failed) return
        if (!this.#eventPending && !this.#pokePending) this.converger.setBusy(false)
      }
    } finally {
      this.#driving = false
      this.#loop = undefined
    }
  }

  async #processWithRetry(): Promise<void> {
    let stateFailures = 0
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#process()
        this.#waitingFor = undefined
        if (this.res.meta.retryreset) this.host.saveRetries(this.id, this.res.meta.retry)
        return
      } catch (err) {
        if (this.#stopping || isAbortError(err)) return
        if (isMgmtError(err, 'ERR_RES_WAITING')) return this.#wait(err.message)
        if (isMgmtError(err, 'ERR_STATE_WRITE')) {
          await this.#stateRetry(err, ++stateFailures)
          if (this.#stopping) return
          continue
        }
        const left = this.host.retriesLeft(this.res)
        this.log.error(`${describeError(err)}${left === 0 ? '' : `; ${this.#retryLine(left, attempt)}`}`)
        if (left === 0) return this.#giveUp(err, attempt)
        if (left > 0) this.host.saveRetries(this.id, left - 1)
        this.#state('retrying', () => describeError(err))
        await this.#delay()
        if (this.#stopping) return
      }
    }
  }

  /** `retry 2/3 in 500 ms`: the retry about to be made, of how many, and after what delay. */
  #retryLine(left: number, attempt: number): string {
    const total = this.res.meta.retry
    const n = left < 0 ? `${attempt}` : `${total - left + 1}/${total}`
    return `retry ${n} in ${this.res.meta.delay} ms`
  }

  /**
   * The resource cannot act until another one repairs what it stands on (ERR_RES_WAITING): not a
   * failure, no retry spent. It stays dirty and runs again when poked (that resource has run) or
   * on its next watch event.
   */
  #wait(why: string): void {
    this.#clean = false
    if (why !== this.#waitingFor) this.log.info(why)
    this.#waitingFor = why
  }

  /**
   * The engine's own state could not be written (a full disk): nothing was changed, and nothing
   * may be until it can be, or a notification could be lost. Retried for as long as it takes, with
   * a growing delay and an error line each time, no retry of the resource spent; the vertex stays
   * busy, so the run is never reported converged meanwhile.
   */
  async #stateRetry(err: MgmtError, failures: number): Promise<void> {
    const ms = Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6))
    this.log.error(`${err.message}; nothing was changed, retrying in ${ms / 1000} s`)
    await sleep(ms, undefined, { signal: this.signal }).catch(() => {})
  }

  #giveUp(err: unknown, attempts: number): void {
    this.#failed = true
    this.#abort?.abort(STOPPED)
    const e = new MgmtError('ERR_RES_FAILED', { res: this.id, attempts }, { cause: err })
    this.log.error(`failed permanently after ${attempts} attempt${attempts === 1 ? '' : 's'}`)
    this.#state('failed', () => describeError(err))
    // Recorded before going idle, so that whoever hears the engine settle knows of the failure.
    this.host.failed(this, e)
    this.converger.setBusy(false)
  }

  /** Publishes a state change, when someone listens. */
  #state(state: ResourceState, error?: () => string): void {
    const events = this.host.events
    if (!events.listening('state')) return
    const e = { type: 'state', time: Date.now(), id: this.id, kind: this.res.kind, state } as const
    events.emit(error ? { ...e, error: error() } : e)
  }

  async #delay(): Promise<void> {
    if (this.res.meta.delay > 0)
      await sleep(this.res.meta.delay, undefined, { signal: this.host.cancelled }).catch(() => {})
  }

  /** One pass: back-poke, or checkApply if needed, then poke downstream. */
  async #process(): Promise<void> {
    this.host.stats.passes++
    // Wait for an upstream vertex that has not run since this one did, unless it is settled: then
    // its state is known good and nothing of it is pending, so there is nothing to wait for.
    const up = this.host.upstream(this.id)
    if (up.some(u => u.ts <= this.ts && !u.settled)) {
      const stale = up.filter(u => u.ts <= this.ts && !u.settled)
      if (this.log.isDebug) this.log.debug(`waiting for ${stale.map(u => u.id).join(', ')}`)
      this.#blocked = true
      for (const u of stale) u.backPoke(this)
      return
    }
    const release = this.res.meta.sema.length
      ? await this.host.semaphores.acquire(this.res.meta.sema)
      : undefined
    try {
      await this.#run()
    } finally {
      release?.()
    }
  }

  /** The part of a pass that holds the semaphores. */
  async #run(): Promise<void> {
    const noop = this.host.noop || this.res.meta.noop
    const unknown = this.#receive()
    const pending = this.host.pendingRefresh(this.id)
    const refresh = pending.size > 0
    let ok = true
    const first = this.ts === 0
    const ran = (!this.#clean || refresh) && !this.res.meta.hidden
    if (ran) {
      const cause = refresh
        ? { type: 'refresh' as const, from: [...pending.keys()] }
        : (this.#dirty ?? WATCH_EVENT)
      ok = await this.#timedCheckApply(!noop, refresh, cause)
      // A dry run whose received values are not known yet would change them: say so.
      if (unknown) ok = false
      // A dry run that would change something would also notify: the rest of the story.
      if (noop && !ok) for (const to of this.host.notifyTargets(this.id)) this.log.info(`would notify ${to}`)
      if (this.log.isDebug)
        this.log.debug(`checkApply(apply=${!noop}) = ${ok} (cause: ${describeCause(cause)})`)
      this.host.checked(this, ok, !noop, cause)
    }
    // In noop too the state is known until the next event, so a dry run reports each change once.
    this.#clean = true
    this.#dirty = undefined
    if (ran || first) this.#state(ok ? 'clean' : 'changed')
    if (!noop) {
      this.applied = true
      markApplied(this.recvState)
      for (const m of this.members.values()) markApplied(m.recvState)
      if (refresh) await this.host.delivered(this.id, pending)
    }
    this.ts = this.host.tick()
    // After a real check every dependent may need to run; after a pass that only confirmed a clean
    // state, just the ones that asked. (A directory back-poked by one of its 1,000 files wakes that
    // file, not all of them.)
    const waiting = this.#waiting
    this.#waiting = undefined
    const targets = ran || first ? this.host.downstream(this.id) : waiting ? [...waiting] : []
    // A dependent may run once every upstream is fresher than it or settled (as #process decides):
    // a change of one of two upstreams must not wait for the other one to run again.
    for (const d of targets) if (this.host.upstream(d.id).every(u => u.ts > d.ts || u.settled)) d.poke()
  }

  /** checkApply, published as an event (with its duration) when someone listens. */
  async #timedCheckApply(apply: boolean, refresh: boolean, cause: Cause): Promise<boolean> {
    const events = this.host.events
    const listening = events.listening('checkApply')
    const t0 = listening ? monotonicMs() : 0
    this.#state('checking')
    this.refreshing = refresh
    let ok: boolean
    try {
      ok = await this.#checkApplyNotifying(apply)
    } catch (err) {
      if (listening && !this.#stopping && !isAbortError(err))
        events.emit({
          type: 'checkApply',
          time: Date.now(),
          id: this.id,
          kind: this.res.kind,
          apply,
          changed: true,
          error: describeError(err),
          durationMs: monotonicMs() - t0,
          cause,
        })
      throw err
    } finally {
      this.refreshing = false
    }
    if (listening)
      events.emit({
        type: 'checkApply',
        time: Date.now(),
        id: this.id,
        kind: this.res.kind,
        apply,
        changed: !ok,
        durationMs: monotonicMs() - t0,
        cause,
      })
    return ok
  }

  /**
   * Send/recv: a changed value makes this resource dirty, and its params are checked again. True
   * when, in a dry run, a value is not known yet (its sender never ran).
   */
  #receive(): boolean {
    const t = this.host.receive(this)
    for (const line of t.lines) this.log.info(line)
    if (t.unknown.length) this.#clean = false
    if (!t.changed.length) return t.unknown.length > 0
    this.#clean = false
    const self: Receiver = {
      id: this.id,
      name: this.res.name,
      def: this.res.def,
      params: this.params,
      recvState: this.recvState,
    }
    const receivers = [self, ...this.members.values()]
    // A first run keeps its own cause; later, a new value says more than the event that came with it.
    if (this.ts > 0)
      this.#dirty = {
        type: 'received',
        values: receivers.flatMap(r =>
          Object.entries(r.recvState)
            .filter(([, s]) => s.changed)
            .map(([param, s]) => ({ from: s.from, key: s.key, param })),
        ),
      }
    for (const r of receivers) {
      if (!Object.values(r.recvState).some(s => s.changed)) continue
      const issues = [...nulIssues(r.def, r.params), ...(r.def.validate?.(r.params, r.name) ?? [])]
      if (issues.length) throw new MgmtError('ERR_RES_PARAMS_INVALID', { res: r.id, issues })
    }
    return t.unknown.length > 0
  }
  /**
   * checkApply, with the notifications of its outgoing notify edges on disk before anything can
   * change: kept when it changed something or failed (it may have changed something first),
   * dropped when it found nothing to change. A crash at any point loses none.
   */
  async #checkApplyNotifying(apply: boolean): Promise<boolean> {
    if (!apply) return this.#checkApply(false)
    let settle: ((changed: boolean) => Promise<void>) | undefined
    try {
      const intent = this.host.intendNotify(this.id)
      if (intent) settle = await intent
    } catch (err) {
      throw new MgmtError(
        'ERR_STATE_WRITE',
        { what: 'the notifications this change will send', reason: describeError(err) },
        { cause: err },
      )
    }
    let ok: boolean
    try {
      ok = await this.#checkApply(true)
    } catch (err) {
      await settle?.(true)
      throw err
    }
    await settle?.(!ok)
    return ok
  }

  async #checkApply(apply: boolean): Promise<boolean> {
    const ms = this.res.meta.timeout
    if (ms <= 0) return this.instance.checkApply(apply, this.host.cancelled)
    // Linked, not AbortSignal.any: that would keep an entry in the engine's signal for every check.
    const link = linkSignal(this.host.cancelled)
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        link.abort()
        reject(new MgmtError('ERR_RES_CHECKAPPLY_TIMEOUT', { res: this.id, ms }))
      }, ms)
    })
    try {
      return await Promise.race([this.instance.checkApply(apply, link.signal), timedOut])
    } finally {
      clearTimeout(timer)
      link.unlink()
    }
  }

  /** Watch for the whole life of the vertex, with retries; or poll, per meta. */
  async #runWatch(): Promise<void> {
    const signal = this.watchSignal
    const { hidden, poll } = this.res.meta
    if (hidden || poll < 0) {
      this.event()
      return
    }
    if (poll > 0) {
      this.event()
      const timer = setInterval(() => this.event(), poll * 1000)
      signal.addEventListener('abort', () => clearInterval(timer), { once: true })
      return
    }
    let retriesLeft = this.res.meta.retry
    for (let attempt = 1; ; attempt++) {
      try {
        await this.instance.watch(signal)
        // Returned (and so settled after start() kept it): nothing of it stays in flight.
        this.#watching = undefined
        return
      } catch (err) {
        // A shared signal does not abort when this worker stops: its own state says so.
        if (signal.aborted || this.#stopping) return
        const retry = retriesLeft === 0 ? '' : `; watch ${this.#retryLine(retriesLeft, attempt)}`
        this.log.error(`watch: ${describeError(err)}${retry}`)
        if (retriesLeft === 0) return this.#giveUp(err, attempt)
        if (retriesLeft > 0) retriesLeft--
        this.#state('retrying', () => `watch: ${describeError(err)}`)
        // A restarted watch must report ready again before the next checkApply.
        this.#started = false
        await this.#delay()
        if (signal.aborted || this.#stopping) return
      }
    }
  }
}
