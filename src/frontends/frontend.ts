/**
 * A frontend (the original's GAPI) turns some input into a stream of compiled graphs: a YAML file,
 * later a Puppet manifest, an mcl program, or a deploy stored in the world. The CLI opens one and
 * runs its stream; each new graph is applied as a diff against the running one.
 *
 * The contract:
 * - `open` reads and compiles the first graph. An invalid first graph throws (an `MgmtError` with a
 *   located message), and nothing is applied.
 * - `later` yields each new valid graph (the input changed, or a reload was asked for). Any
 *   failure meanwhile (an invalid graph, logged with its location; an input that is gone or
 *   unreadable) is logged by the frontend and skipped, so the running graph stays. It ends when
 *   `ctx.signal` aborts.
 */

import { compileGraph } from '../engine/compile.js'
import type { Compiled, CompileOptions } from '../engine/compiled.js'
import type { Registry } from '../engine/registry.js'
import type { Logger } from '../util/logger.js'
import type { World } from '../world/world.js'

/** What every frontend is given. */
export interface FrontendContext {
  readonly registry: Registry
  /** `--lenient`, `--strict`, `--noop`, `--sema`, and a compile cache for this source's reloads. */
  readonly compile: CompileOptions
  readonly log: Logger
  /** Follow changes of the input (`--no-watch` turns it off). */
  readonly watch: boolean
  /** Ends `later`. */
  readonly signal: AbortSignal
  /**
   * The world the run shares with other hosts (not ready yet: `await world.ready()`). A frontend
   * reads deploys from it, or exported resources when its collection has semantics of its own
   * (Puppet's `<<| |>>`, mcl's `collect`); publishing exports is never its business: it marks
   * resources `exported`, and `world/exchange.ts` publishes them (and collects what a spec's
   * `collect` lists) for every frontend.
   */
  readonly world?: World
  /** The state directory (a deploy's files are unpacked below it). */
  readonly prefix?: string
  /** Subscribes to reload requests (SIGHUP: read the input again); returns the unsubscribe function. */
  readonly onReload?: (fn: () => void) => () => void
}

/** An opened frontend: its first graph, and the ones that follow. */
export interface GraphStream {
  readonly first: Compiled
  readonly later?: AsyncIterable<Compiled>
}

/** Opens a frontend's input; throws when the first graph is invalid. */
export type Frontend = (ctx: FrontendContext) => Promise<GraphStream>

/**
 * The graph of nothing: a frontend's first graph when the run was stopped before its input could
 * be read (or, for deploys, when the cluster holds none yet).
 */
export function emptyGraph(ctx: Pick<FrontendContext, 'registry' | 'compile'>): Compiled {
  return compileGraph({ name: '', resources: [], edges: [] }, ctx.registry, ctx.compile)
}
