/**
 * The engine: it runs one resource graph at a time and swaps in the next one as a diff.
 *
 * commit(graph): resources that are unchanged (same kind, name, params and meta) keep their
 * running worker, untouched; removed and changed ones stop and clean up (all removals before any
 * addition); added and changed ones are initialised, then started. Ordering between resources is
 * the workers' business (timestamps and pokes, see worker.ts).
 */
import { setMaxListeners } from 'node:events'
import { join } from 'node:path'
import { describeError, MgmtError } from '../util/errors.js'
import { FsWatcher } from '../util/fswatch.js'
import { type Logger, RedactingLogger } from '../util/logger.js'
import { MAX_TIMER_MS, monotonicMs } from '../util/timers.js'
import { graphSize } from '../util/v8flags.js'
import type { World } from '../world/world.js'
import { differs, type Res, type ResEdge, type ResGraph } from './compiled.js'
import { type ContextHost, LinkedContext } from './context.js'
import { Converger } from './converger.js'
import { Dag } from './dag.js'
import { type Cause, type Change, EngineEvents, GRAPH_CHANGE, graphEvent, STARTUP } from './events.js'
import { composite, readyGate } from './features/group.js'
import { RefreshStore } from './features/refresh.js'
import { ReverseStore } from './features/reverse.js'
import { Semaphores } from './features/semaphore.js'
import { receiveValues, type Transfer } from './features/sendrecv.js'
import { GraphViews } from './graphview.js'
import { mustParseParams } from './params.js'
import type { Registry } from './registry.js'
import { type GraphResource, type Instance, type ResourceContext, repr } from './resource.js'
import { IN_FLIGHT, inTurns, PER_TURN, TurnQueue } from './turns.js'
import { type Peer, type Receiver, STOPPED, Worker, type WorkerHost } from './worker.js'

export interface EngineOptions {
  readonly hostname: string
  /** The state prefix; resources keep their state under `<prefix>/engine/state/`. */
  readonly prefix: string
  readonly world: World
  readonly log: Logger
  /** The kinds, for reversals of resources that are no longer in any graph. */
  readonly registry: Registry
  /** Run every resource with apply=false. */
  readonly noop?: boolean
  /** Resources show what a real run changes in detail (`--diff`). */
  readonly diff?: boolean
  /** Seconds of idleness after which the engine is converged; negative = never. */
  readonly convergedTimeout?: number
  /** Where the engine publishes what it does; by default a stream of its own (`engine.events`). */
  readonly events?: EngineEvents
}

/** Counters since the engine started. */
export interface EngineStats {
  /** checkApply calls. */
  checked: number
  /** checkApply calls that changed something (or would have, in noop). */
  changed: number
  /** Passes of the workers (each decides to wait, to check, or that nothing is to be done). */
  passes: number
  /** checkApply calls under way that a cancel (the second ^C) aborted. */
  cancelled: number
  /**
   * Running resources the last graph swap compared with their vertex in the new graph: every one,
   * unless the new graph only replaced some vertices' values (then those, and the failed ones).
   */
  compared: number
}

export interface Failure {
  readonly id: string
  readonly error: unknown
}

/** Resources named in a graph-swap line, per list; the rest are counted. */
const SWAP_NAMED = 3

/** `2 changed (file[a], exec[b])`, `10 added (file[a], file[b], file[c], and 7 more)`, `0 removed`. */
function named(ids: readonly string[], what: string): string {
  if (!ids.length) return `0 ${what}`
  const more = ids.length - SWAP_NAMED
  return `${ids.length} ${what} (${ids.slice(0, SWAP_NAMED).join(', ')}${more > 0 ? `, and ${more} more` : ''})`
}

function cached<V>(m: Map<string, V>, key: string, make: () => V): V {
  const hit = m.get(key)
  if (hit !== undefined) return hit
  const v = make()
  m.set(key, v)
  return v
}

const NO_SECRETS: ReadonlySet<string> = new Set()
const NO_MEMBERS: Map<string, Receiver> = new Map()
const NO_PEERS: Peer[] = []

/** The secrets a resource's worker holds, for its logger (made before the worker). */
class SecretsOf {
  worker: Worker | undefined
  secrets(): ReadonlySet<string> {
    return this.worker?.secrets() ?? NO_SECRETS
  }
}

export class Engine implements WorkerHost, ContextHost {
  readonly converger: Converger
  readonly noop: boolean
  readonly stats: EngineStats = { checked: 0, changed: 0, passes: 0, cancelled: 0, compared: 0 }
  readonly events: EngineEvents
  readonly stateDir: string
  readonly #opts: EngineOptions
  readonly #registry: Registry
  readonly #watcher: FsWatcher
  /** The second ^C: aborts every running checkApply. */
  readonly #cancel = new AbortController()
  /** Aborted on close: the watch signal shared by the resources whose kind follows paths only. */
  readonly #closing = new AbortController()
  readonly #workers = new Map<string, Worker>()
  /** Workers due to pass, run a bounded number a turn and at once (turns.ts). */
  readonly #passes = new TurnQueue<Worker>(w => w.drive(), PER_TURN, IN_FLIGHT)
  readonly #failures = new Map<string, unknown>()
  /** Resources that cannot run because one they depend on failed: by id, that failed resource. */
  readonly #skipped = new Map<string, string>()
  readonly semaphores = new Semaphores()
  readonly #retries = new Map<string, number>()
  readonly #refresh: RefreshStore
  readonly #reverse: ReverseStore
  #graph: ResGraph = new Dag()
  /** Neighbour lists, built on demand for the current graph and workers. */
  readonly #up = new Map<string, Peer[]>()
  readonly #down = new Map<string, Peer[]>()
  /** What resources see of the graph (`ctx.graph()`), and its resources counted. */
  readonly views = new GraphViews()
  /** The last commit went through: the workers are those of `#graph`. */
  #whole = false
  #clock = 0
  #closed = false
  /** Since the engine was last idle: checkApply calls, and the changes with their causes. */
  #checks = 0
  #changes: Change[] = []
  #committed = false

  constructor(opts: EngineOptions) {
    // Each timed check and each request links a signal of its own to it while it runs (util/signals.ts).
    setMaxListeners(0, this.#cancel.signal)
    this.#opts = opts
    this.noop = opts.noop ?? false
    this.#registry = opts.registry
    // A directory that cannot be watched once a watch is running (it appeared later, and the
    // inotify limit was reached meanwhile): said loudly, since its changes would go unseen.
    this.#watcher = new FsWatcher({
      onError: (path, err) => opts.log.error(`${path ? `watching ${path}: ` : ''}${describeError(err)}`),
    })
    this.converger = new Converger(opts.convergedTimeout ?? -1)
    this.stateDir = join(opts.prefix, 'engine', 'state')
    // The engine ends the paths of each worker it stops, and closes the watcher with the rest.
    this.#watcher.adopt(this.#closing.signal)
    this.#refresh = new RefreshStore(join(opts.prefix, 'engine', 'refresh'), opts.log)
    this.#reverse = new ReverseStore(join(opts.prefix, 'engine', 'reverse'), opts.log)
    this.events = opts.events ?? new EngineEvents()
    this.converger.onIdle(idle => {
      if (idle) this.#idle()
    })
    this.converger.onChange(converged => {
      if (this.events.listening('converged'))
        this.events.emit({ type: 'converged', time: Date.now(), converged })
    })
  }

  /** Every resource settled: publish what changed since the last time, and why. */
  #idle(): void {
    if (this.#closed) return
    const changes = this.#changes
    const checks = this.#checks
    this.#changes = []
    this.#checks = 0
    const afterCommit = this.#committed
    this.#committed = false
    if (!this.events.listening('idle')) return
    this.events.emit({
      type: 'idle',
      time: Date.now(),
      resources: this.resourceCount,
      checks,
      changes,
      failed: [...this.#failures.keys()],
      skipped: [...this.#skipped.keys()],
      afterCommit,
    })
  }

  /** Resources in the graph, grouped ones counted one by one. */
  get resourceCount(): number {
    return this.views.count(this.#graph)
  }

  /** Resources that failed permanently, and why. */
  get failures(): Failure[] {
    return [...this.#failures].map(([id, error]) => ({ id, error }))
  }

  /** Resources that do not run because one they depend on failed, with that resource. */
  get skipped(): { id: string; dependsOn: string }[] {
    return [...this.#skipped].map(([id, dependsOn]) => ({ id, dependsOn }))
  }

  /**
   * Marks everything downstream of the failed `id` as skipped (it waits for `id` forever), saying
   * so once per resource: `skipped: depends on failed exec[a]`.
   */
  #skip(id: string): void {
    const todo = [...this.#graph.outgoing(id).keys()]
    for (let d = todo.pop(); d !== undefined; d = todo.pop()) {
      if (this.#skipped.has(d) || this.#failures.has(d)) continue
      this.#skipped.set(d, id)
      const log = this.#workers.get(d)?.log ?? this.#opts.log.child(d)
      log.warn(`skipped: depends on failed ${id}`)
      todo.push(...this.#graph.outgoing(d).keys())
    }
  }

  /** After a graph swap: what is still skipped (a failed resource may be gone or replaced). */
  #reskip(): void {
    for (const [id, cause] of this.#skipped)
      if (!this.#graph.has(id) || !this.#failures.has(cause)) this.#skipped.delete(id)
    for (const id of this.#failures.keys()) if (this.#graph.has(id)) this.#skip(id)
  }

  get graph(): ResGraph {
    return this.#graph
  }

  get hostname(): string {
    return this.#opts.hostname
  }

  get world(): World {
    return this.#opts.world
  }

  get watcher(): FsWatcher {
    return this.#watcher
  }

  get cancelled(): AbortSignal {
    return this.#cancel.signal
  }

  /** `--diff`: resources show what a real run changes in detail. */
  get diff(): boolean {
    return this.#opts.diff ?? false
  }

  get closing(): AbortSignal {
    return this.#closing.signal
  }

  /** The running worker of a resource (tests and tools look at its state). */
  worker(id: string): Worker | undefined {
    return this.#workers.get(id)
  }

  schedule(w: Worker): void {
    this.#passes.push(w)
  }

  tick(): number {
    return ++this.#clock
  }

  upstream(id: string): Peer[] {
    return cached(this.#up, id, () => this.#neighbours(this.#graph.incoming(id)))
  }

  downstream(id: string): Peer[] {
    return cached(this.#down, id, () => this.#neighbours(this.#graph.outgoing(id)))
  }

  checked(w: Worker, ok: boolean, apply: boolean, cause: Cause): void {
    this.stats.checked++
    this.#checks++
    if (ok) return
    this.stats.changed++
    this.#changes.push({ id: w.id, cause, noop: !apply })
  }

  pendingRefresh(id: string): ReadonlyMap<string, number> {
    const from = new Map<string, number>()
    for (const [src, e] of this.#graph.incoming(id))
      if (e.notify && this.#refresh.isPending(src, id)) from.set(src, this.#refresh.generation(src, id))
    return from
  }

  notifyTargets(id: string): string[] {
    const tos: string[] = []
    for (const [to, e] of this.#graph.outgoing(id)) if (e.notify) tos.push(to)
    return tos
  }

  /** Undefined at once when `id` notifies nobody (most resources): no promise made, none waited for. */
  intendNotify(id: string): Promise<(changed: boolean) => Promise<void>> | undefined {
    const tos: string[] = []
    for (const [to, e] of this.#graph.outgoing(id)) if (e.notify) tos.push(to)
    return tos.length ? this.#intend(id, tos) : undefined
  }

  async #intend(id: string, tos: string[]): Promise<(changed: boolean) => Promise<void>> {
    await this.#refresh.load()
    const fresh = await this.#refresh.intend(id, tos)
    return changed => this.#refresh.settle(id, tos, fresh, changed)
  }

  async delivered(id: string, from: ReadonlyMap<string, number>): Promise<void> {
    await Promise.all([...from].map(([src, gen]) => this.#refresh.clear(src, id, gen)))
  }

  receive(w: Worker): Transfer {
    return receiveValues(this.#graph, w, id => this.#workers.get(id), this.noop || w.res.meta.noop)
  }

  retriesLeft(res: Res): number {
    return this.#retries.get(res.id) ?? res.meta.retry
  }

  saveRetries(id: string, left: number): void {
    this.#retries.set(id, left)
  }

  failed(w: Worker, err: unknown): void {
    this.#failures.set(w.id, err)
    this.#watcher.release(w)
    this.#skip(w.id)
  }

  /** Neighbours by id; one without a worker (its init failed) never runs, so it blocks its dependents. */
  #neighbours(edges: ReadonlyMap<string, ResEdge>): Peer[] {
    if (edges.size === 0) return NO_PEERS
    const out: Peer[] = []
    for (const id of edges.keys())
      out.push(this.#workers.get(id) ?? { id, ts: 0, settled: false, poke: () => {}, backPoke: () => {} })
    return out
  }

  /** Swaps in `next` (named `name`), keeping every unchanged resource running. */
  async commit(next: ResGraph, name = ''): Promise<void> {
    if (this.#closed) throw new Error('the engine is closed')
    this.converger.pause()
    graphSize(next.size)
    const started = monotonicMs()
    const swap = this.#workers.size > 0
    // Only the replaced vertices can differ when that is all `next` changed (Dag.changedSince).
    const replaced = this.#whole ? next.changedSince(this.#graph) : undefined
    this.#whole = false
    try {
      const { removed, workerless } = replaced ? this.#toReplace(next, replaced) : this.#toRemove(next)
      await Promise.all(removed.map(w => this.#remove(w, next.vertex(w.id))))
      await this.#reverseGone(next)
      if (replaced) this.views.swapped(this.#graph, next, replaced)
      this.#graph = next
      this.#up.clear()
      this.#down.clear()
      await this.#refresh.load()
      await this.#refresh.prune((from, to) => next.outgoing(from).get(to)?.notify === true)
      const added = workerless
        ? [...removed.map(w => w.id), ...workerless].map(id => next.vertex(id)!)
        : [...next.entries()].filter(([id]) => !this.#workers.has(id)).map(([, res]) => res)
      const created = await inTurns(added, res => this.#create(res, swap ? GRAPH_CHANGE : STARTUP))
      this.#up.clear()
      this.#down.clear()
      this.#committed = true
      if (this.events.listening('graph'))
        this.events.emit(
          graphEvent(
            next,
            name,
            added.map(r => r.id),
            removed.filter(w => !next.has(w.id)).map(w => w.id),
          ),
        )
      this.#initFailures(added)
      this.#reskip()
      await inTurns(created, w => w?.start())
      if (swap) {
        const changed = removed.filter(w => next.has(w.id)).map(w => w.id)
        const gone = removed.filter(w => !next.has(w.id)).map(w => w.id)
        const replaced = new Set(changed)
        const fresh = added.filter(r => !replaced.has(r.id)).map(r => r.id)
        const kept = next.size - added.length
        this.#opts.log.info(
          `graph swap: ${kept} kept, ${named(changed, 'changed')}, ${named(fresh, 'added')}, ` +
            `${named(gone, 'removed')} (${(monotonicMs() - started).toFixed(1)} ms)`,
        )
      }
      this.#whole = true
    } finally {
      this.converger.resume()
    }
  }

  /** The workers whose resource `next` removes or changes, or that failed and are to be watched again. */
  #toRemove(next: ResGraph): { removed: Worker[]; workerless?: undefined } {
    const removed: Worker[] = []
    for (const [id, w] of this.#workers) {
      const n = next.vertex(id)
      if (!n || differs(w.res, n) !== undefined || (w.hasFailed && n.meta.rewatch)) removed.push(w)
    }
    this.stats.compared = this.#workers.size
    return { removed }
  }

  /**
   * As #toRemove, for a `next` that only replaces the values of the vertices `replaced`: only
   * those and the failed ones are looked at. Also the vertices that have no worker (their init
   * failed, which left them among the failures), to start again with the replaced ones.
   */
  #toReplace(next: ResGraph, replaced: readonly string[]): { removed: Worker[]; workerless: string[] } {
    const removed = new Set<Worker>()
    const workerless: string[] = []
    for (const id of replaced) {
      const w = this.#workers.get(id)
      if (w && differs(w.res, next.vertex(id)!) !== undefined) removed.add(w)
    }
    for (const id of this.#failures.keys()) {
      const w = this.#workers.get(id)
      if (!w) {
        if (next.has(id)) workerless.push(id)
      } else if (w.hasFailed && next.vertex(id)!.meta.rewatch) removed.add(w)
    }
    this.stats.compared = replaced.length + this.#failures.size
    return { removed: [...removed], workerless }
  }

  async #remove(w: Worker, replacement: Res | undefined): Promise<void> {
    if (replacement && this.#opts.log.isDebug)
      this.#opts.log.debug(`${w.id}: replaced: ${differs(w.res, replacement) ?? 'it had failed'}`)
    const stopped = w.stop()
    this.#watcher.release(w)
    await stopped
    if (!replacement) await this.#realize(w)
    this.#workers.delete(w.id)
    this.#failures.delete(w.id)
    // Retry budgets are kept by kind and name across a replacement, unless meta `reset` says otherwise.
    if (!replacement || replacement.meta.reset) this.#retries.delete(w.id)
    try {
      await w.instance.cleanup?.()
    } catch (err) {
      w.log.error(`cleanup: ${describeError(err)}`)
    }
  }

  /** Applies, once, the recorded reversal of each resource that is not in `next`. */
  async #reverseGone(next: ResGraph): Promise<void> {
    for (const { reversal, done } of await this.#reverse.list()) {
      const id = repr(reversal.kind, reversal.name)
      if (next.has(id) || !this.#registry.has(reversal.kind)) continue
      const log = this.#opts.log.child(id)
      const apply = !this.noop
      try {
        const def = this.#registry.get(reversal.kind)
        const params = mustParseParams(def, reversal.name, reversal.params)
        const ctx = this.#context(def.kind, reversal.name, log)
        const instance = await def.init(params, ctx)
        const ok = await instance.checkApply(apply, AbortSignal.timeout(60_000))
        await instance.cleanup?.()
        log.info(
          ok
            ? 'reverse: nothing to put back'
            : apply
              ? 'reverse: put back what was there before'
              : 'reverse: would put back what was there before',
        )
        if (apply) await done()
      } catch (err) {
        log.error(`reverse: ${describeError(err)}`)
      }
    }
  }

  /** Meta `realize`: a resource leaving the graph that was never applied is applied once. */
  async #realize(w: Worker): Promise<void> {
    if (!w.res.meta.realize || w.applied || w.hasFailed || this.#closed) return
    const apply = !(this.noop || w.res.meta.noop)
    w.log.info('realize: applying once before removal')
    try {
      await w.instance.checkApply(apply, AbortSignal.timeout(w.res.meta.timeout || MAX_TIMER_MS))
    } catch (err) {
      w.log.error(`realize: ${describeError(err)}`)
    }
  }

  /** Publishes the resources among `added` whose init failed: they never run. */
  #initFailures(added: readonly Res[]): void {
    if (!this.events.listening('state')) return
    for (const res of added) {
      const err = this.#workers.has(res.id) ? undefined : this.#failures.get(res.id)
      if (err !== undefined)
        this.events.emit({
          type: 'state',
          time: Date.now(),
          id: res.id,
          kind: res.kind,
          state: 'failed',
          error: describeError(err),
        })
    }
  }

  async #create(res: Res, firstCause: Cause): Promise<Worker | undefined> {
    const members = [res, ...(res.group ?? [])]
    // A kind that runs its groups itself gets one instance; its members report as the vertex.
    const together = members.length > 1 && res.def.initGroup !== undefined
    // Whatever logs for this resource (its kind, the engine) never shows a secret it holds.
    const secrets = new SecretsOf()
    const log = new RedactingLogger(this.#opts.log.child(res.id), secrets)
    const handle = this.converger.register(true)
    try {
      if (res.meta.reverse) await this.#reverse.record(res)
      const params = { ...res.params }
      // Each other member has its own copy of its params and its own received state.
      const receivers = members.length > 1 ? new Map<string, Receiver>() : NO_MEMBERS
      for (const m of members.slice(1))
        receivers.set(m.id, { id: m.id, name: m.name, def: m.def, params: { ...m.params }, recvState: {} })
      const paramsOf = (m: Res): Record<string, unknown> => receivers.get(m.id)?.params ?? params
      // Grouped members each report ready through a gate; the vertex is ready once all of them are.
      const gate =
        members.length > 1 && !together ? readyGate(members.length, () => own.link?.event()) : undefined
      const own = new LinkedContext(this, res.kind, res.name, log, gate?.())
      const contexts = members.map((m, i) =>
        i === 0
          ? own
          : new LinkedContext(
              this,
              m.kind,
              m.name,
              this.#opts.log.child(m.id),
              gate?.(),
              receivers.get(m.id),
            ),
      )
      const instance = await this.#init(res, members, together, contexts, paramsOf)
      const worker = new Worker(res, params, instance, log, this, handle, receivers, firstCause)
      for (const c of contexts) c.link = worker
      secrets.worker = worker
      this.#watcher.adopt(worker.watchSignal)
      this.#workers.set(res.id, worker)
      return worker
    } catch (err) {
      handle.remove()
      const e = new MgmtError('ERR_RES_INIT', { res: res.id }, { cause: err })
      log.error(describeError(e))
      this.#failures.set(res.id, e)
      return undefined
    }
  }

  /** The vertex's running instance: its own, one of the group's kind, or its members' together. */
  async #init(
    res: Res,
    members: readonly Res[],
    together: boolean,
    contexts: readonly LinkedContext[],
    paramsOf: (m: Res) => Record<string, unknown>,
  ): Promise<Instance> {
    if (members.length === 1) return res.def.init(paramsOf(res), contexts[0]!)
    if (together)
      return res.def.initGroup!(
        members.map((m, i) => ({ name: m.name, params: paramsOf(m), ctx: contexts[i]! })),
      )
    const inited = await Promise.all(
      members.map(async (m, i) => ({ id: m.id, instance: await m.def.init(paramsOf(m), contexts[i]!) })),
    )
    contexts[0]!.members = members
      .slice(1)
      .map((m, i) => ({ kind: m.kind, name: m.name, instance: inited[i + 1]!.instance }))
    if (contexts[0]!.log.isDebug)
      contexts[0]!.log.debug(
        `grouped with ${members
          .slice(1)
          .map(m => m.id)
          .join(', ')}`,
      )
    return composite(inited)
  }

  /** A context for a resource without a worker (a reversal): its events go nowhere. */
  #context(kind: string, name: string, log: Logger): ResourceContext {
    return new LinkedContext(this, kind, name, log)
  }

  /** The running graph's resources, grouped ones included; one array per graph, so kinds may cache by it. */
  resources(): readonly GraphResource[] {
    return this.views.view(this.#graph)
  }

  /**
   * Orderly shutdown: stop every watch, let running work finish, clean up. In bulk: every worker
   * is told at once, the shared watcher closes every watch at once, and only instances that have
   * a cleanup are waited for one by one.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const workers = [...this.#workers.values()]
    const stopped = workers.map(w => w.stop())
    this.#closing.abort(STOPPED)
    this.#watcher.close()
    await Promise.all(stopped)
    this.#workers.clear()
    await Promise.all(
      workers
        .filter(w => w.instance.cleanup)
        .map(async w => {
          try {
            await w.instance.cleanup!()
          } catch (err) {
            w.log.error(`cleanup: ${describeError(err)}`)
          }
        }),
    )
    this.converger.close()
  }

  /** Second ^C: abort running checkApply calls (one shared signal); returns how many were under way. */
  cancel(): number {
    let running = 0
    for (const w of this.#workers.values()) if (w.processing) running++
    this.#cancel.abort(STOPPED)
    this.stats.cancelled += running
    return running
  }

  /** Third ^C: ask each resource to stop at once (exec kills its processes). */
  interrupt(): void {
    for (const w of this.#workers.values()) w.instance.interrupt?.()
  }
}
