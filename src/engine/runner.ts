/**
 * Running a stream of graphs: each new graph is committed to the engine as a diff; the run ends
 * on converged exit, on `--max-runtime`, or when asked to shut down. The CLI and the library API
 * both run graphs through here.
 *
 * Convergence is cluster-wide: this host publishes its converged state to the world, and a
 * converged exit waits until every live host of the world is converged too (with the local world,
 * this host is the only one).
 */
import { appendFile } from 'node:fs/promises'
import { describeError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { World } from '../world/world.js'
import type { ResGraph } from './compiled.js'
import { Engine } from './engine.js'
import type { EngineEvents } from './events.js'
import type { Registry } from './registry.js'
import { ConvergeSummary } from './summary.js'

export interface RunnerOptions {
  /** The resource kinds. */
  readonly registry: Registry
  readonly hostname: string
  readonly prefix: string
  readonly world: World
  readonly log: Logger
  readonly noop?: boolean
  /** Seconds idle before converged; negative = never. */
  readonly convergedTimeout?: number
  /** Keep running once converged. */
  readonly convergedTimeoutNoExit?: boolean
  /** Append `true`/`false` on every change of the converged state. */
  readonly convergedStatusFile?: string
  /** Seconds after which the run shuts down; 0 = never. */
  readonly maxRuntime?: number
  /** The engine's event stream (`engine.events`); by default one of its own. */
  readonly events?: EngineEvents
}

export type EndReason = 'converged' | 'max-runtime' | 'shutdown'

export interface RunResult {
  readonly reason: EndReason
  /** checkApply calls, and how many of them changed something (or would have, in noop). */
  readonly checked: number
  readonly changed: number
  /** Resources that failed permanently. */
  readonly failed: string[]
}

export class Runner {
  readonly engine: Engine
  readonly #opts: RunnerOptions
  readonly #done: Promise<RunResult>
  #end: ((r: EndReason) => void) | undefined
  #commits: Promise<void> = Promise.resolve()
  #status: Promise<void> = Promise.resolve()
  /** Ends the watch of the other hosts' convergence. */
  readonly #cluster = new AbortController()
  readonly #summary: ConvergeSummary

  constructor(opts: RunnerOptions) {
    this.#opts = opts
    this.engine = new Engine({
      registry: opts.registry,
      hostname: opts.hostname,
      prefix: opts.prefix,
      world: opts.world,
      log: opts.log,
      noop: opts.noop,
      convergedTimeout: opts.convergedTimeout,
      events: opts.events,
    })
    this.#summary = new ConvergeSummary((opts.convergedTimeout ?? -1) >= 0, line => opts.log.info(line))
    this.engine.events.on('idle', e => this.#summary.idle(e))
    const ended = new Promise<EndReason>(resolve => {
      this.#end = resolve
    })
    this.#done = this.#finish(ended)
    this.engine.converger.onChange(c => this.#onConverged(c))
    if ((opts.convergedTimeout ?? -1) >= 0 && !opts.convergedTimeoutNoExit)
      opts.world
        .convergedWatch(this.#cluster.signal, () => void this.#checkCluster())
        .catch(err => opts.log.warn(`cannot follow the cluster's convergence: ${describeError(err)}`))
    if (opts.maxRuntime && opts.maxRuntime > 0) {
      const t = setTimeout(() => this.#end?.('max-runtime'), opts.maxRuntime * 1000)
      void this.#done.then(() => clearTimeout(t))
    }
  }

  /** Queues a graph (named `name`); commits run one at a time, in order. */
  commit(graph: ResGraph, name = ''): Promise<void> {
    this.#commits = this.#commits.then(() =>
      this.engine
        .commit(graph, name)
        .catch(err => this.#opts.log.error(`graph swap failed: ${describeError(err)}`)),
    )
    return this.#commits
  }

  /** Ask for an orderly shutdown; `done` resolves once it is complete. */
  shutdown(): void {
    this.#end?.('shutdown')
  }

  get done(): Promise<RunResult> {
    return this.#done
  }

  #onConverged(converged: boolean): void {
    const file = this.#opts.convergedStatusFile
    // Appended one after the other, so the lines are in the order of the changes.
    if (file)
      this.#status = this.#status
        .then(() => appendFile(file, `${converged}\n`))
        .catch(err => this.#opts.log.warn(`status file: ${describeError(err)}`))
    if (converged) this.#summary.converged()
    this.#opts.world
      .setConverged(converged)
      .catch(err => this.#opts.log.warn(`cannot publish the converged state: ${describeError(err)}`))
    if (converged && !this.#opts.convergedTimeoutNoExit) void this.#checkCluster()
  }

  /** Ends the run once this host and every other live host are converged. */
  async #checkCluster(): Promise<void> {
    if (!this.#end || !this.engine.converger.converged) return
    let states: ReadonlyMap<string, boolean>
    try {
      states = await this.#opts.world.convergedGet()
    } catch {
      return // the world is unreachable: the next change of it asks again
    }
    if (!this.engine.converger.converged || !this.#end) return
    const others = [...states].filter(([h]) => h !== this.#opts.hostname)
    if (!others.every(([, c]) => c)) return
    // Once: two checks may have been under way together.
    const end = this.#end
    this.#end = undefined
    if (others.length) this.#opts.log.info(`the cluster converged: ${others.length + 1} hosts`)
    end('converged')
  }

  async #finish(ended: Promise<EndReason>): Promise<RunResult> {
    // A run lasts until it ends, even when nothing else (a watch, a child) holds the event loop,
    // as with an empty graph. This timer never fires in practice: it costs no CPU.
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
    const reason = await ended.finally(() => clearInterval(keepAlive))
    this.#end = undefined
    this.#cluster.abort()
    await this.#commits
    const failed = this.engine.failures.map(f => f.id)
    await this.engine.close()
    return { reason, failed, ...this.engine.stats }
  }
}
