/**
 * Running a stream of graphs: each new graph is committed to the engine as a diff; the run ends
 * on converged exit, on `--max-runtime`, or when asked to shut down. The CLI and the library API
 * both run graphs through here.
 *
 * Convergence is cluster-wide: this host publishes its converged state to the world, and a
 * converged exit waits until every live host of the world is converged too (with the local world,
 * this host is the only one).
 */
import { StatusLines } from '../util/appendonly.js'
import { describeError, isMgmtError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { MAX_TIMER_MS } from '../util/timers.js'
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
  /** Resources show what a real run changes in detail (`--diff`). */
  readonly diff?: boolean
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

/** A resource that failed permanently, and why. */
export interface RunFailure {
  /** `kind[name]`. */
  readonly id: string
  /** What it failed with: the last error of its checkApply, watch or init. */
  readonly error: Error
  /** The error in words, its causes joined (`command \`false\` exited with code 1`). */
  readonly message: string
}

export interface RunResult {
  readonly reason: EndReason
  /** Resources in the last graph. */
  readonly resources: number
  /** checkApply calls, and how many of them changed something (or would have, in noop). */
  readonly checked: number
  readonly changed: number
  /** Resources that failed permanently (their ids; `failures` has their errors). */
  readonly failed: string[]
  readonly failures: readonly RunFailure[]
  /** Resources that never ran (or stopped running) because one they depend on failed. */
  readonly skipped: readonly { readonly id: string; readonly dependsOn: string }[]
  /** checkApply calls under way that a cancel (`cancel()`, the second ^C) aborted. */
  readonly cancelled: number
}

export class Runner {
  readonly engine: Engine
  readonly #opts: RunnerOptions
  readonly #done: Promise<RunResult>
  #end: ((r: EndReason) => void) | undefined
  #commits: Promise<void> = Promise.resolve()
  /** The `--converged-status-file`, if one is named. */
  readonly #status: StatusLines | undefined
  /** Ends the watch of the other hosts' convergence. */
  readonly #cluster = new AbortController()
  readonly #summary: ConvergeSummary
  /** This host's convergence was said while the others' is awaited (once per converge). */
  #waitSaid = false

  constructor(opts: RunnerOptions) {
    this.#opts = opts
    const file = opts.convergedStatusFile
    this.#status = file
      ? new StatusLines(file, err => opts.log.warn(`status file: ${describeError(err)}`))
      : undefined
    this.engine = new Engine({
      registry: opts.registry,
      hostname: opts.hostname,
      prefix: opts.prefix,
      world: opts.world,
      log: opts.log,
      noop: opts.noop,
      diff: opts.diff,
      convergedTimeout: opts.convergedTimeout,
      events: opts.events,
    })
    const timed = (opts.convergedTimeout ?? -1) >= 0
    this.#summary = new ConvergeSummary(
      timed,
      (line, bad) => (bad ? opts.log.error(line) : opts.log.info(line)),
      timed && !opts.convergedTimeoutNoExit,
    )
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
    // In the order of the changes, written once the work that changed it has gone its first way.
    this.#status?.append(`${converged}\n`)
    if (converged) this.#summary.converged()
    else this.#waitSaid = false
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
    const waiting = others.filter(([, c]) => !c).map(([h]) => h)
    if (waiting.length) {
      if (!this.#waitSaid)
        this.#opts.log.info(
          `converged here; waiting for the cluster: ${waiting.join(', ')} not converged yet`,
        )
      this.#waitSaid = true
      return
    }
    // Once: two checks may have been under way together.
    const end = this.#end
    this.#end = undefined
    if (others.length) this.#opts.log.info(`the cluster converged: ${others.length + 1} hosts`)
    end('converged')
  }

  async #finish(ended: Promise<EndReason>): Promise<RunResult> {
    // A run lasts until it ends, even when nothing else (a watch, a child) holds the event loop,
    // as with an empty graph. This timer never fires in practice: it costs no CPU.
    const keepAlive = setInterval(() => {}, MAX_TIMER_MS)
    const reason = await ended.finally(() => clearInterval(keepAlive))
    this.#end = undefined
    this.#cluster.abort()
    await this.#commits
    const failures = this.engine.failures.map(f => toFailure(f.id, f.error))
    const skipped = this.engine.skipped
    const resources = this.engine.resourceCount
    await this.engine.close()
    await this.#status?.flushed()
    const { checked, changed, cancelled } = this.engine.stats
    const label =
      cancelled > 0
        ? `cancelled (${cancelled} running check${cancelled === 1 ? '' : 's'} aborted)`
        : reason === 'converged'
          ? 'converged'
          : reason === 'max-runtime'
            ? 'stopped at --max-runtime'
            : 'stopped'
    this.#summary.recap(label, {
      resources,
      failed: failures.map(f => f.id),
      skipped: skipped.map(s => s.id),
    })
    return {
      reason,
      resources,
      checked,
      changed,
      failed: failures.map(f => f.id),
      failures,
      skipped,
      cancelled,
    }
  }
}

/** A failure as the result carries it: the resource's own error (not the engine's wrapper). */
function toFailure(id: string, err: unknown): RunFailure {
  const own =
    isMgmtError(err, 'ERR_RES_FAILED') || isMgmtError(err, 'ERR_RES_INIT') ? (err as Error).cause : err
  const error = own instanceof Error ? own : new Error(String(own))
  return { id, error, message: describeError(own) }
}
