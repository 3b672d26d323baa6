/**
 * Running graphs from code: `run(graph, opts)` applies one graph, or a stream of them (any async
 * iterable: each new graph is applied as a diff against the running one). The `mgmt` command runs
 * its YAML graphs through the same function.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { hostname as osHostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  CompileCache,
  type Compiled,
  type CompileOptions,
  compileGraph,
  type GraphSpec,
} from '../engine/compile.js'
import type { Registry } from '../engine/registry.js'
import { Runner, type RunResult } from '../engine/runner.js'
import { builtinRegistry } from '../resources/index.js'
import { describeError } from '../util/errors.js'
import { createLogger, type Logger, silentLogger } from '../util/logger.js'
import { MemoryWorld } from '../world/memory.js'
import { Graph } from './graph.js'

/** What `run` takes: a builder, a plain spec, or a graph the YAML frontend already compiled. */
export type GraphInput = Graph | GraphSpec | Compiled

export interface RunOptions {
  readonly hostname?: string
  /** State directory; by default a temporary one, removed at the end. */
  readonly prefix?: string
  readonly noop?: boolean
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
  const compileOpts: CompileOptions = { strict: opts.strict, noop: opts.noop, cache: new CompileCache() }
  const registry = builtinRegistry()
  let runner: Runner | undefined
  let stop = false
  const done = (async (): Promise<RunResult> => {
    const temp = opts.prefix === undefined
    const prefix = temp ? await mkdtemp(join(tmpdir(), 'mgmt-')) : resolve(opts.prefix!)
    await mkdir(prefix, { recursive: true, mode: 0o700 })
    const hostname = opts.hostname ?? osHostname()
    try {
      const stream = isAsyncIterable(graphs) ? graphs[Symbol.asyncIterator]() : once(graphs)
      const first = await stream.next()
      // Compiled before anything starts: an invalid first graph rejects and applies nothing.
      const graph = first.done ? undefined : compile(first.value, registry, compileOpts)
      const r = new Runner({ ...opts, registry, hostname, prefix, log, world: new MemoryWorld(hostname) })
      runner = r
      if (stop || opts.signal?.aborted) r.shutdown()
      opts.signal?.addEventListener('abort', () => r.shutdown(), { once: true })
      if (graph) await r.commit(graph)
      void follow(stream, r, registry, compileOpts, log)
      return await r.done
    } finally {
      if (temp) await rm(prefix, { recursive: true, force: true })
    }
  })()
  return {
    done,
    shutdown: () => {
      stop = true
      runner?.shutdown()
    },
    cancel: () => runner?.engine.cancel(),
    interrupt: () => runner?.engine.interrupt(),
  }
}

/**
 * Applies each later graph of the stream; one that fails to compile, for whatever reason, is logged
 * and the running graph stays. A stream that fails is logged, and the running graph stays too.
 */
async function follow(
  stream: AsyncIterator<GraphInput>,
  r: Runner,
  registry: Registry,
  opts: CompileOptions,
  log: Logger,
): Promise<void> {
  const ended = r.done.then(() => ({ done: true as const, value: undefined }))
  for (;;) {
    let next: IteratorResult<GraphInput, unknown>
    try {
      next = await Promise.race([stream.next(), ended])
    } catch (err) {
      log.error(
        `the graph source failed: ${describeError(err)}\n  (keeping the running graph; no more graphs from it)`,
      )
      return
    }
    if (next.done) {
      if (next.value === undefined) await stream.return?.()
      return
    }
    try {
      await r.commit(compile(next.value, registry, opts))
    } catch (err) {
      log.error(`${describeError(err)}\n  (keeping the running graph)`)
    }
  }
}

function compile(g: GraphInput, registry: Registry, opts: CompileOptions) {
  if ('graph' in g && 'warnings' in g) return g.graph
  return compileGraph(g instanceof Graph ? g.toSpec() : g, registry, opts).graph
}

function isAsyncIterable(x: unknown): x is AsyncIterable<GraphInput> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x
}

async function* once(g: GraphInput): AsyncGenerator<GraphInput> {
  yield g
}
