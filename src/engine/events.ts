/**
 * The engine's event stream: what it does, as typed events, for whoever watches (metrics, the graph
 * picture, the web view, the converge summary, progress, and library users through `start()`).
 *
 * - `graph`: a graph was committed (its vertices and edges: kinds, names and keys, never params).
 * - `state`: a resource's state changed (checking, changed, clean, retrying, failed).
 * - `checkApply`: one checkApply ran: its apply flag, result, duration and cause.
 * - `idle`: every resource has settled (nothing running, nothing pending), with what changed since
 *   the engine was last idle, and why.
 * - `converged`: the converged state of `--converged-timeout` changed.
 *
 * Events carry kinds, names, states, causes and error messages only: no parameter values, which may
 * be secrets (a password, or a file's content received from one).
 *
 * Listening costs: a worker builds an event only when someone listens to its type (`listening`),
 * so an engine nobody watches allocates nothing per check.
 */
import type { ResGraph } from './compiled.js'

/** Why a resource ran checkApply. */
export type Cause =
  /** Its first run in the first graph. */
  | { readonly type: 'startup' }
  /** Its first run after a graph change added or replaced it. */
  | { readonly type: 'graph change' }
  /** Its watch reported a possible change (or a `poll` interval passed). */
  | { readonly type: 'watch event' }
  /** A notification along an incoming `notify` edge, from these resources. */
  | { readonly type: 'refresh'; readonly from: readonly string[] }
  /** Values received along send/recv edges changed. */
  | { readonly type: 'received'; readonly values: readonly ReceivedValue[] }

/** A received value: the sender (`kind[name]`), its key, and the receiver's parameter. */
export interface ReceivedValue {
  readonly from: string
  readonly key: string
  readonly param: string
}

/** The causes without details, shared (no allocation for the common cases). */
export const STARTUP: Cause = Object.freeze({ type: 'startup' })
export const GRAPH_CHANGE: Cause = Object.freeze({ type: 'graph change' })
export const WATCH_EVENT: Cause = Object.freeze({ type: 'watch event' })

/** `watch event`, `refresh from file[f1]`, `value received from exec[x].stdout`. */
export function describeCause(c: Cause): string {
  switch (c.type) {
    case 'refresh':
      return `refresh from ${c.from.join(', ') || 'an edge no longer in the graph'}`
    case 'received':
      return `value received from ${c.values.map(v => `${v.from}.${v.key}`).join(', ')}`
    default:
      return c.type
  }
}

/**
 * A resource's state, as the views show it.
 * - `pending`: in the graph, not processed yet (waiting for its watch or its dependencies);
 * - `checking`: its checkApply is running;
 * - `changed`: its last checkApply changed something (in noop: would have), so it is now as wanted;
 * - `clean`: its last check found it as wanted;
 * - `retrying`: its checkApply or watch failed and will be retried (`error` says why);
 * - `failed`: it gave up, its retries spent (`error` says why).
 */
export type ResourceState = 'pending' | 'checking' | 'changed' | 'clean' | 'retrying' | 'failed'

/** A resource of a committed graph. */
export interface ResourceInfo {
  /** `kind[name]`. */
  readonly id: string
  readonly kind: string
  readonly name: string
}

/** A vertex of a committed graph. */
export interface VertexInfo extends ResourceInfo {
  /** Resources merged into this vertex (autogroup). */
  readonly members: readonly ResourceInfo[]
}

/** An edge of a committed graph: `to` runs after `from`. */
export interface EdgeInfo {
  readonly from: string
  readonly to: string
  readonly name: string
  /** It carries notifications. */
  readonly notify: boolean
  /** Values it carries: the sender's key and the receiver's parameter. */
  readonly sendRecv: readonly { readonly send: string; readonly recv: string }[]
}

/** A change, as the converge summary reports it. */
export interface Change {
  readonly id: string
  readonly cause: Cause
  /** It was not applied (noop): it would have changed. */
  readonly noop: boolean
}

export interface GraphEvent {
  readonly type: 'graph'
  /** Milliseconds since the epoch. */
  readonly time: number
  /** The graph's name (empty when it has none). */
  readonly name: string
  readonly vertices: readonly VertexInfo[]
  readonly edges: readonly EdgeInfo[]
  /** Vertices started by this commit (new, or replaced because they changed): they are pending. */
  readonly started: readonly string[]
  /** Vertices stopped by this commit and not in the new graph. */
  readonly removed: readonly string[]
}

/** A committed graph as an event: kinds, names and edges, never params. */
export function graphEvent(
  graph: ResGraph,
  name: string,
  started: readonly string[],
  removed: readonly string[],
): GraphEvent {
  const vertices = [...graph.values()].map(r => ({
    id: r.id,
    kind: r.kind,
    name: r.name,
    members: (r.group ?? []).map(m => ({ id: m.id, kind: m.kind, name: m.name })),
  }))
  const edges = [...graph.edges()].map(([from, to, e]) => ({
    from,
    to,
    name: e.name,
    notify: e.notify,
    sendRecv: e.sendRecv.map(p => ({ send: p.send, recv: p.recv })),
  }))
  return { type: 'graph', time: Date.now(), name, vertices, edges, started, removed }
}

export interface StateEvent {
  readonly type: 'state'
  readonly time: number
  readonly id: string
  readonly kind: string
  readonly state: ResourceState
  /** With `retrying` and `failed`: the error's message. */
  readonly error?: string
}

export interface CheckApplyEvent {
  readonly type: 'checkApply'
  readonly time: number
  readonly id: string
  readonly kind: string
  /** False in noop: nothing was to be changed. */
  readonly apply: boolean
  /** It changed something (with apply false: it would have). Also true when it threw. */
  readonly changed: boolean
  /** The message of the error it threw, if it did. */
  readonly error?: string
  readonly durationMs: number
  readonly cause: Cause
}

export interface IdleEvent {
  readonly type: 'idle'
  readonly time: number
  /** Resources in the graph, grouped ones counted one by one. */
  readonly resources: number
  /** checkApply calls since the engine was last idle. */
  readonly checks: number
  /** The changes since the engine was last idle, in order. */
  readonly changes: readonly Change[]
  /** Resources that have failed permanently, now. */
  readonly failed: readonly string[]
  /** Resources that do not run because one they depend on failed, now. */
  readonly skipped: readonly string[]
  /** The first idle moment after a graph was committed. */
  readonly afterCommit: boolean
}

export interface ConvergedEvent {
  readonly type: 'converged'
  readonly time: number
  readonly converged: boolean
}

export type EngineEvent = GraphEvent | StateEvent | CheckApplyEvent | IdleEvent | ConvergedEvent
export type EngineEventType = EngineEvent['type']
export type EngineEventOf<T extends EngineEventType> = Extract<EngineEvent, { type: T }>
export type EngineListener<T extends EngineEventType | '*'> = (
  e: T extends EngineEventType ? EngineEventOf<T> : EngineEvent,
) => void

const TYPES: readonly EngineEventType[] = ['graph', 'state', 'checkApply', 'idle', 'converged']

/** The publish side of the stream, and its subscriptions. */
export class EngineEvents {
  readonly #by = new Map<EngineEventType | '*', Set<(e: EngineEvent) => void>>()
  readonly #onError: (err: unknown) => void

  /** `onError` hears what a listener throws (a listener never breaks the engine). */
  constructor(onError: (err: unknown) => void = () => {}) {
    this.#onError = onError
    for (const t of [...TYPES, '*' as const]) this.#by.set(t, new Set())
  }

  /** Calls `fn` for each event of `type` ('*': every event); returns the unsubscribe function. */
  on<T extends EngineEventType | '*'>(type: T, fn: EngineListener<T>): () => void {
    const set = this.#by.get(type)
    if (!set) throw new Error(`no engine event type \`${type}\``)
    const f = fn as (e: EngineEvent) => void
    set.add(f)
    return () => {
      set.delete(f)
    }
  }

  /** Does anyone listen to `type`? Check before building an event. */
  listening(type: EngineEventType): boolean {
    return this.#by.get(type)!.size > 0 || this.#by.get('*')!.size > 0
  }

  emit(e: EngineEvent): void {
    for (const set of [this.#by.get(e.type)!, this.#by.get('*')!])
      for (const fn of set)
        try {
          fn(e)
        } catch (err) {
          this.#onError(err)
        }
  }

  /**
   * Every event from now on (the subscription starts at this call), as an async iterator, until
   * `signal` aborts or the consumer stops. Events queue while the consumer is busy.
   */
  stream(signal?: AbortSignal): AsyncIterableIterator<EngineEvent> {
    const queue: EngineEvent[] = []
    let head = 0
    let wake: (() => void) | undefined
    let done = false
    const off = this.on('*', e => {
      queue.push(e)
      wake?.()
    })
    const finish = (): IteratorResult<EngineEvent> => {
      done = true
      off()
      signal?.removeEventListener('abort', onAbort)
      wake?.()
      return { done: true, value: undefined }
    }
    const onAbort = (): void => wake?.()
    signal?.addEventListener('abort', onAbort, { once: true })
    const it: AsyncIterableIterator<EngineEvent> = {
      async next() {
        for (;;) {
          if (head < queue.length) {
            const value = queue[head]!
            queue[head++] = undefined as never
            if (head === queue.length) queue.length = head = 0
            return { done: false, value }
          }
          if (done || signal?.aborted) return finish()
          await new Promise<void>(resolve => {
            wake = resolve
          })
          wake = undefined
        }
      },
      async return() {
        return finish()
      },
      [Symbol.asyncIterator]() {
        return it
      },
    }
    return it
  }
}
