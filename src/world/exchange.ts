/**
 * Exported and collected resources, for every frontend alike. This layer sits between a stream of
 * compiled graphs (from any frontend: YAML, the library, a deploy, later Puppet and mcl) and the
 * engine:
 *
 * - each new graph's exports (`Compiled.exports`: resources marked `exported`, and those with meta
 *   `export`) are published to the world, as this host's whole set (unchanged: nothing written);
 * - when the graph collects (`Compiled.collect`), the exports of every host that match are merged
 *   into the graph's spec and the whole is compiled again (unchanged resources come from the
 *   compile cache), and the layer watches the world: a change of any host's exports yields a new
 *   graph, which the engine applies as a diff like any other.
 *
 * A frontend only puts `exported` on resource specs and a `collect` list on its graph spec.
 */
import { compileGraph } from '../engine/compile.js'
import type { Compiled } from '../engine/compiled.js'
import type { Converger, ConvergerHandle } from '../engine/converger.js'
import type { Registry } from '../engine/registry.js'
import { repr } from '../engine/resource.js'
import type { CollectSpec, ResourceSpec } from '../engine/spec.js'
import { describeError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { type Link, linkSignal } from '../util/signals.js'
import { type CollectedResource, exportJson, type World, worldReady } from './world.js'

export interface ExchangeOptions {
  readonly world: World
  readonly registry: Registry
  readonly log: Logger
  /** `--noop`: publish nothing (what would be exported is logged). */
  readonly noop?: boolean
}

/** How a collect `pattern` moves a resource of a kind; kinds without an entry ignore it. */
const relocate: Readonly<
  Record<string, (params: Readonly<Record<string, unknown>>, pattern: string) => Record<string, unknown>>
> = {
  // The pattern replaces the directory of the file's path (the original's semantics).
  file: (p, pattern) => ({ ...p, dirname: pattern.endsWith('/') ? pattern : `${pattern}/` }),
}

export class Exchange {
  readonly #opts: ExchangeOptions
  #busy: ConvergerHandle | undefined
  /** Warnings already given, so that a graph rebuilt often does not repeat them. */
  #warned = new Set<string>()

  constructor(opts: ExchangeOptions) {
    this.#opts = opts
  }

  /** From now on, collecting after a world change holds off convergence until the graph is out. */
  attach(converger: Converger): void {
    this.#busy = converger.register(false)
  }

  /**
   * The graphs of `source`, with their exports published and collected resources merged in, and a
   * new graph whenever what they collect changes. Ends when `signal` aborts, or when `source`
   * ends and its last graph collects nothing.
   */
  async *run(source: AsyncIterable<Compiled>, signal: AbortSignal): AsyncGenerator<Compiled> {
    const { world, log } = this.#opts
    const inbox = new Inbox(source, signal)
    let local: Compiled | undefined
    let collected: CollectedResource[] = []
    let watch: Link | undefined
    // A collect that failed (the world unreachable, or just back) is tried again, 250 ms after the
    // first failure, up to 10 s between tries: no event says when the world answers again.
    let retry: NodeJS.Timeout | undefined
    let retryMs = 0
    const collect = async (g: Compiled): Promise<CollectedResource[] | undefined> => {
      clearTimeout(retry)
      const now = await this.#collect(g)
      if (now) retryMs = 0
      else {
        retryMs = Math.min(retryMs ? retryMs * 2 : 250, 10_000)
        retry = setTimeout(() => inbox.poke(true), retryMs)
      }
      return now
    }
    try {
      for (;;) {
        const ev = await inbox.next()
        if (ev === 'aborted') return
        if (ev === 'ended') {
          if (!local?.collect.length) return
          continue
        }
        if (ev === 'world') {
          const now = local?.collect.length ? await collect(local) : undefined
          if (local && now && !sameCollected(now, collected)) {
            collected = now
            log.info(`collected resources changed: ${now.length} collected`)
            yield this.#merge(local, collected)
          }
          if (!inbox.worldChanged) this.#busy?.setBusy(false)
          continue
        }
        local = ev
        if (!(await worldReady(world, signal))) return
        await this.#publish(local)
        if (local.collect.length && !watch) {
          // Linked, not AbortSignal.any, which would keep an entry in the run's signal for each watch.
          watch = linkSignal(signal)
          await world.resWatch(watch.signal, () => {
            this.#busy?.setBusy(true)
            inbox.poke(true)
          })
        } else if (!local.collect.length && watch) {
          watch.abort()
          watch = undefined
        }
        inbox.worldChanged = false
        collected = (await collect(local)) ?? collected
        yield this.#merge(local, collected)
        this.#busy?.setBusy(false)
      }
    } finally {
      clearTimeout(retry)
      watch?.abort()
      inbox.close()
      this.#busy?.remove()
    }
  }

  async #publish(g: Compiled): Promise<void> {
    const { world, log, noop } = this.#opts
    if (noop) {
      if (g.exports.length) log.info(`noop: would export ${list(g.exports.map(r => repr(r.kind, r.name)))}`)
      return
    }
    try {
      if (await world.resExport(g.exports))
        log.info(
          g.exports.length
            ? `exported ${list(g.exports.map(r => repr(r.kind, r.name)))}`
            : 'exports withdrawn',
        )
    } catch (err) {
      log.warn(`cannot publish the exports (${describeError(err)}); they are written when the world is back`)
    }
  }

  /** What the graph collects now; undefined when the world cannot say (it is unreachable). */
  async #collect(g: Compiled): Promise<CollectedResource[] | undefined> {
    if (!g.collect.length) return []
    try {
      const kinds = new Set(g.collect.map(c => c.kind))
      const all = await this.#opts.world.resCollect()
      return all.filter(r => kinds.has(r.kind))
    } catch (err) {
      this.#opts.log.warn(`cannot collect exported resources (${describeError(err)}); keeping the last ones`)
      return undefined
    }
  }

  /** The graph with the collected resources added, compiled; the graph alone when it collects nothing. */
  #merge(g: Compiled, collected: readonly CollectedResource[]): Compiled {
    if (!g.collect.length) return g
    const extra = this.#specs(g, collected)
    if (!extra.length) return g
    try {
      return compileGraph(
        { ...g.spec, resources: [...g.spec.resources, ...extra] },
        this.#opts.registry,
        g.options,
      )
    } catch (err) {
      this.#opts.log.error(`the graph with its collected resources is invalid: ${describeError(err)}`)
      return g
    }
  }

  /** Resource specs for the collected resources: matched, relocated, checked one by one. */
  #specs(g: Compiled, collected: readonly CollectedResource[]): ResourceSpec[] {
    const { world, registry } = this.#opts
    // Who has each id: this graph ('') or the host whose export was collected first.
    const taken = new Map<string, { host: string; json?: string }>()
    for (const r of g.spec.resources) if (!r.exported) taken.set(repr(r.kind, r.name), { host: '' })
    const out: ResourceSpec[] = []
    for (const c of g.collect)
      for (const r of collected) {
        if (!collects(c, r)) continue
        const id = repr(r.kind, r.name)
        const params = c.pattern && relocate[r.kind] ? relocate[r.kind]!(r.params, c.pattern) : r.params
        const spec: ResourceSpec = {
          kind: r.kind,
          name: r.name,
          params,
          meta: r.meta,
          origin: ['collected', r.host, id],
        }
        const json = exportJson(r)
        const owner = taken.get(id)
        if (owner) {
          // The same resource twice, or this host's own export collected back: nothing to say.
          const same = owner.host === r.host || owner.json === json || r.host === world.hostname
          if (!same)
            this.#warn(
              `${id} exported by ${r.host} is not collected: ${owner.host ? `${owner.host} exports` : 'this graph has'} another of the same name`,
            )
          continue
        }
        try {
          compileGraph({ name: 'collected', resources: [spec], edges: [] }, registry, {
            ...g.options,
            cache: undefined,
          })
        } catch (err) {
          const why = describeError(err)
            .replace(/^invalid graph:\s*/, '')
            .replace(/\n\s*/g, '; ')
          this.#warn(`${id} exported by ${r.host} is not collected: ${why}`)
          continue
        }
        taken.set(id, { host: r.host, json })
        out.push(spec)
      }
    return out
  }

  #warn(msg: string): void {
    if (this.#warned.has(msg)) return
    this.#warned.add(msg)
    this.#opts.log.warn(msg)
  }
}

/**
 * What the exchange waits on: the next graph of its source (pulled one at a time, so a frontend is
 * never read ahead), a change of the world, the source's end, or the abort of the run.
 */
class Inbox {
  readonly #it: AsyncIterator<Compiled>
  readonly #signal: AbortSignal
  #arrived: IteratorResult<Compiled> | undefined
  #failed: { error: unknown } | undefined
  #ended = false
  #wake: (() => void) | undefined
  /** Set by a world change, cleared when it is taken (or when a new graph collects anyway). */
  worldChanged = false

  constructor(source: AsyncIterable<Compiled>, signal: AbortSignal) {
    this.#it = source[Symbol.asyncIterator]()
    this.#signal = signal
    signal.addEventListener('abort', this.#onAbort, { once: true })
    this.#pull()
  }

  /** Wakes `next`; with `world`, for a change of the world. */
  poke(world = false): void {
    if (world) this.worldChanged = true
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }

  async next(): Promise<Compiled | 'world' | 'ended' | 'aborted'> {
    while (!this.#arrived && !this.#failed && !this.worldChanged && !this.#signal.aborted)
      await new Promise<void>(r => (this.#wake = r))
    if (this.#signal.aborted) return 'aborted'
    if (this.#failed) throw this.#failed.error
    const r = this.#arrived
    if (!r) {
      this.worldChanged = false
      return 'world'
    }
    this.#arrived = undefined
    if (r.done) {
      this.#ended = true
      return 'ended'
    }
    this.#pull()
    return r.value
  }

  close(): void {
    this.#signal.removeEventListener('abort', this.#onAbort)
    if (!this.#ended) void this.#it.return?.()
  }

  readonly #onAbort = (): void => this.poke()

  #pull(): void {
    this.#it.next().then(
      r => {
        this.#arrived = r
        this.poke()
      },
      error => {
        this.#failed = { error }
        this.poke()
      },
    )
  }
}

const collects = (c: CollectSpec, r: CollectedResource): boolean =>
  c.kind === r.kind &&
  (c.name === undefined || c.name === r.name) &&
  (c.host === undefined || c.host === r.host)

function sameCollected(a: readonly CollectedResource[], b: readonly CollectedResource[]): boolean {
  if (a.length !== b.length) return false
  return a.every((r, i) => r.host === b[i]!.host && exportJson(r) === exportJson(b[i]!))
}

function list(ids: string[]): string {
  return ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more`
}
