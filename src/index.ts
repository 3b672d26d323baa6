/**
 * mgmt as a library: build graphs in code and run them.
 *
 *   import { Graph, run } from 'mgmt'
 *   const g = new Graph('hello')
 *   g.add('file', 'hello', { path: '/tmp/hello', state: 'exists', content: 'hi\n' })
 *   await run(g, { convergedTimeout: 0 })
 */

export {
  type Cause,
  type Change,
  type CheckApplyEvent,
  type ConvergedEvent,
  describeCause,
  type EdgeInfo,
  type EngineEvent,
  type EngineEventOf,
  type EngineEventType,
  type EngineListener,
  type GraphEvent,
  type IdleEvent,
  type ReceivedValue,
  type ResourceInfo,
  type ResourceState,
  type StateEvent,
  type VertexInfo,
} from './engine/events.js'
export {
  defineResource,
  type Instance,
  type ParamsSchema,
  type ResourceContext,
  type ResourceDef,
  type SendsShape,
  untilAborted,
} from './engine/resource.js'
export type { RunFailure, RunResult } from './engine/runner.js'
export type { EdgeSpec, GraphSpec, ResourceSpec } from './engine/spec.js'
export { summaryLine } from './engine/summary.js'
export {
  type CustomKind,
  Graph,
  type Kind,
  type MetaInput,
  type ParamsInput,
  type Ref,
  type Sends,
} from './lib/graph.js'
export { defaultPrefix, type GraphInput, type RunHandle, type RunOptions, run, start } from './lib/run.js'
export { type ErrorCode, isMgmtError, MgmtError } from './util/errors.js'
export { createLogger, type LogFields, type Logger, memoryLogger } from './util/logger.js'
