/**
 * Running graphs from code: `run(graph, opts)` applies one graph, or a stream of them (any async
 * iterable: each new graph is applied as a diff against the running one). The `mgmt` command runs
 * its YAML graphs through the same function.
 */
import { rm } from 'node:fs/promises'
import { homedir, hostname as osHostname } from 'node:os'
import { join, resolve } from 'node:path'
import { compileGraph } from '../engine/compile.js'
import { CompileCache, type Compiled, type CompileOptions } from '../engine/compiled.js'
import type { ConvergerHandle } from '../engine/converger.js'
import {
  type EngineEvent,
  EngineEvents,
  type EngineEventType,
  type EngineListener,
} from '../engine/events.js'
import type { Registry } from '../engine/registry.js'
import {
  type AnyResourceDef,
  anyDef,
  type ParamsSchema,
  type ResourceDef,
  type SendsShape,
} from '../engine/resource.js'
import { Runner, type RunResult } from '../engine/runner.js'
import type { GraphSpec } from '../engine/spec.js'
import { builtinRegistry } from '../resources/index.js'
import { describeError, MgmtError } from '../util/errors.js'
import { createLogger, type Logger, silentLogger } from '../util/logger.js'
import { type HeldPrefix, holdPrefix, tempPrefix } from '../util/prefix.js'
import { linkSignal } from '../util/signals.js'
import { MAX_TIMER_S } from '../util/timers.js'
import { Exchange } from '../world/exchange.js'
import { LocalWorld } from '../world/local.js'
import type { World } from '../world/world.js'
import { Graph } from './graph.js'
import { checkSpec } from './spec.js'

/** What `run` takes: a builder, a plain spec, or a graph the YAML frontend already compiled. */
export type GraphInput = Graph | GraphSpec | Compiled

/**
 * The state directory by default, the CLI's and the library's: `/var/lib/mgmt/` as root, else
 * `$XDG_CACHE_HOME/mgmt` (`~/.cache/mgmt`). It persists: a password, a pending notification, a
 * reversal survive the run.
 */
export function defaultPrefix(): string {
  if (process.getuid?.() === 0) return '/var/lib/mgmt/'
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mgmt')
}

export interface RunOptions {
  readonly hostname?: string
  /**
   * State directory; by default the CLI's (`defaultPrefix()`), so that what a resource keeps (a
   * password) is kept across runs. `'temporary'`: a fresh one, removed at the end. The run holds
   * it (one run per prefix at a time), unless the caller holds it already (the CLI does).
   */
  readonly prefix?: string | HeldPrefix
  /** Custom kinds (made with `defineResource`) beside the built-in ones. */
  readonly kinds?: readonly ResourceDef<string, ParamsSchema, SendsShape>[]
  readonly noop?: boolean
  /** Log what a real run changes in detail: a file's new content as a diff (secrets never shown). */
  readonly diff?: boolean
  /** Unknown keys are warnings, not errors. */
  readonly lenient?: boolean
  /** Obsolete keys of the original are errors, not warnings. */
  readonly strict?: boolean
  /** Seconds idle before converged; the run ends then unless `convergedTimeoutNoExit`. Default -1: never. */
  readonly convergedTimeout?: number
  readonly convergedTimeoutNoExit?: boolean
  readonly convergedStatusFile?: string
  /** Seconds after which the run ends; 0 = never. */
  readonly maxRuntime?: number
  /** Where logs go: a Logger, 'silent', or by default info lines on stderr. */
  readonly log?: Logger | 'silent'
  /** Aborting it shuts the run down in order. */
  readonly signal?: AbortSignal
  /**
   * What the hosts share (kv values, exported resources, deploys, convergence); its owner closes
   * it. By default a local world, persisted under `<prefix>/world/` and closed at the end.
   */
  readonly world?: World
  /** Hears every engine event (see `RunHandle.on` for one type). */
  readonly onEvent?: (e: EngineEvent) => void
  /**
   * Called once the engine exists, before the first graph is committed, with a way to add a
   * component to the run's converger (a remote host: busy until it has converged). The run only
   * counts as converged when every component is idle.
   */
  readonly attach?: (register: () => ConvergerHandle) => void
}

export interface RunHandle {
  /** Resolves when the run has ended and everything is cleaned up. */
  readonly done: Promise<RunResult>
  /** Orderly shutdown (the first ^C). */
  shutdown(): void
  /** Abort running checkApply calls (the second ^C). */
  cancel(): void
  /** Stop at once: kill running commands (the third ^C). */
  interrupt(): void
  /**
   * Calls `fn` for each engine event of `type` ('*': all), from now until the run ends; returns the
   * unsubscribe function. Subscribed before the first await, it hears the first graph too.
   */
  on<T extends EngineEventType | '*'>(type: T, fn: EngineListener<T>): () => void
  /** The engine events from now until the run ends, as an async iterator (they queue meanwhile). */
  events(): AsyncIterable<EngineEvent>
}

/** The run's durations are whole seconds that a timer can take (a longer one would fire at once). */
function checkDurations(opts: RunOptions): void {
  const ranges = [
    ['convergedTimeout', opts.convergedTimeout, -1],
    ['maxRuntime', opts.maxRuntime, 0],
  ] as const
  for (const [name, v, min] of ranges)
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= MAX_TIMER_S))
      throw new MgmtError('ERR_USAGE', {
        reason: `${name} expects a whole number of seconds from ${min} to ${MAX_TIMER_S}, not ${v}`,
      })
}

/** Applies `graphs` and resolves when the run ends (converged, max runtime, or `signal`). */
export function run(
  graphs: GraphInput | AsyncIterable<GraphInput>,
  opts: RunOptions = {},
): Promise<RunResult> {
  return start(graphs, opts).done
}

/** Like run, with a handle to stop it. The first graph must be valid: it rejects otherwise. */
export function start(graphs: GraphInput | AsyncIterable<GraphInput>, opts: RunOptions = {}): RunHandle {
  const log = opts.log === 'silent' ? silentLogger : (opts.log ?? createLogger('info'))
  const compileOpts: CompileOptions = {
    strict: opts.strict,
    lenient: opts.lenient,
    noop: opts.noop,
    cache: new CompileCache(),
  }
  const registry = builtinRegistry()
  const custom = new Map<string, AnyResourceDef>()
  for (const d of opts.kinds ?? []) custom.set(d.kind, anyDef(d))
  for (const g of isAsyncIterable(graphs) ? [] : [graphs])
    if (g instanceof Graph) for (const d of g.kinds) custom.set(d.kind, d)
  for (const d of custom.values()) registry.register(d)
  const events = new EngineEvents(err => log.error(`an event listener threw: ${describeError(err)}`))
  if (opts.onEvent) events.on('*', opts.onEvent)
  const ended = new AbortController()
  let runner: Runner | undefined
  // Ends the stream of graphs: on shutdown, and once the run is over.
  // The run stops on shutdown() or when the caller's signal aborts: linked to it, not
  // AbortSignal.any, which would keep an entry in the caller's signal for every run (util/signals.ts).
  const stopping = linkSignal(opts.signal ?? new AbortController().signal)
  const done = (async (): Promise<RunResult> => {
    checkDurations(opts)
    const asked = opts.prefix
    const temp = asked === 'temporary'
    // A temporary prefix is this run's alone; another one is held until the run ends (util/prefix.ts).
    // The run lets go of what it took; a prefix the caller holds, the caller lets go of.
    const held =
      typeof asked === 'object'
        ? asked
        : temp
          ? await tempPrefix()
          : await holdPrefix(resolve(asked ?? defaultPrefix()), log)
    const taken = held === asked ? undefined : held
    const prefix = held.path
    const hostname = opts.world?.hostname ?? opts.hostname ?? osHostname()
    const own = opts.world ? undefined : new LocalWorld(hostname, join(prefix, 'world'))
    const world = opts.world ?? own!
    const exchange = new Exchange({ world, registry, log, noop: opts.noop })
    const ends = stopping.signal
    try {
      // Its saved state is read, and checked, before anything runs (as the command does).
      await own?.ready()
      // Compiled before anything starts: an invalid first graph rejects and applies nothing.
      const stream = exchange.run(compiledStream(graphs, registry, compileOpts, log), ends)
      // A stop does not wait for the first graph: its exports may be on their way to a world that
      // does not answer, for as long as the world's deadlines allow.
      let first: IteratorResult<Compiled, unknown> | undefined = await unlessAborted(stream.next(), ends)
      if (ends.aborted || !first)
        return {
          reason: 'shutdown',
          resources: 0,
          checked: 0,
          changed: 0,
          failed: [],
          failures: [],
          skipped: [],
          cancelled: 0,
        }
      const r = new Runner({ ...opts, registry, hostname, prefix, log, world, events })
      runner = r
      exchange.attach(r.engine.converger)
      opts.attach?.(() => r.engine.converger.register())
      ends.addEventListener('abort', () => r.shutdown(), { once: true })
      if (!first.done) await r.commit(first.value.graph, first.value.name)
      // The engine holds the graph it runs: this frame, which waits for the run's end, lets go of it.
      first = undefined
      void follow(stream, r, log)
      return await r.done
    } finally {
      try {
        stopping.abort()
        ended.abort()
        if (!opts.world) await world.close()
        if (temp) await rm(prefix, { recursive: true, force: true })
      } finally {
        taken?.release()
      }
    }
  })()
  return {
    done,
    shutdown: () => {
      stopping.abort()
      runner?.shutdown()
    },
    cancel: () => runner?.engine.cancel(),
    interrupt: () => runner?.engine.interrupt(),
    on: (type, fn) => events.on(type, fn),
    events: () => events.stream(ended.signal),
  }
}

/**
 * Commits each later graph of the stream, until the run ends. A stream that fails is logged, and the
 * running graph stays.
 */
async function follow(stream: AsyncIterator<Compiled>, r: Runner, log: Logger): Promise<void> {
  // The run's end wakes the one wait in progress. A Promise.race of each next() with the end would
  // leave a reaction on the end's promise per graph, each holding the graph it resolved with, for
  // as long as the engine runs: every graph a long-running engine was given.
  const END = { done: true as const, value: undefined }
  let ended = false
  let wake: ((end: typeof END) => void) | undefined
  const end = (): void => {
    ended = true
    wake?.(END)
  }
  r.done.then(end, end)
  for (;;) {
    let next: IteratorResult<Compiled, unknown>
    try {
      next = ended
        ? END
        : await new Promise<IteratorResult<Compiled, unknown>>((resolve, reject) => {
            wake = resolve
            stream.next().then(resolve, reject)
          })
    } catch (err) {
      log.error(
        `the graph source failed: ${describeError(err)}\n  (keeping the running graph; no more graphs from it)`,
      )
      return
    } finally {
      wake = undefined
    }
    if (next.done) return
    await r.commit(next.value.graph, next.value.name)
  }
}

/**
 * The inputs, compiled; a later one that fails to compile, for whatever reason, is logged and
 * skipped, so the running graph stays.
 */
async function* compiledStream(
  graphs: GraphInput | AsyncIterable<GraphInput>,
  registry: Registry,
  opts: CompileOptions,
  log: Logger,
): AsyncGenerator<Compiled> {
  let first = true
  for await (const g of isAsyncIterable(graphs) ? graphs : once(graphs)) {
    let c: Compiled
    try {
      c = compile(g, registry, opts)
    } catch (err) {
      if (first) throw err
      log.error(`${describeError(err)}\n  (keeping the running graph)`)
      continue
    }
    first = false
    yield c
  }
}

function compile(g: GraphInput, registry: Registry, opts: CompileOptions): Compiled {
  if (!(g instanceof Graph) && typeof g === 'object' && g !== null && 'graph' in g && 'warnings' in g)
    return g
  // A spec may come from anywhere (parsed JSON, JavaScript, params given to a Graph): its shape is
  // checked first.
  const spec: unknown = g instanceof Graph ? g.toSpec() : g
  checkSpec(spec)
  return compileGraph(spec, registry, opts)
}

/** What `p` gives, or undefined as soon as `signal` aborts (`p` goes on, its outcome unheard). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined)
  return new Promise((resolve, reject) => {
    const aborted = (): void => resolve(undefined)
    signal.addEventListener('abort', aborted, { once: true })
    p.then(
      v => {
        signal.removeEventListener('abort', aborted)
        resolve(v)
      },
      e => {
        signal.removeEventListener('abort', aborted)
        reject(e)
      },
    )
  })
}

function isAsyncIterable(x: unknown): x is AsyncIterable<GraphInput> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x
}

async function* once(g: GraphInput): AsyncGenerator<GraphInput> {
  yield g
}
