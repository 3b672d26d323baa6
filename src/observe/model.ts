/**
 * The running graph as the views see it, kept up to date from the engine's events: each vertex with
 * its state, its last change and why, its error; the edges; whether the engine has converged. The
 * web view, the graph picture and progress read it. Like the events, it holds no parameter values.
 */
import {
  describeCause,
  type EdgeInfo,
  type EngineEvent,
  type ResourceState,
  type VertexInfo,
} from '../engine/events.js'

/** A vertex's last change: when, why, and whether it was only a dry run. */
export interface LastChange {
  /** Milliseconds since the epoch. */
  readonly time: number
  readonly cause: string
  readonly noop: boolean
}

export interface VertexView extends VertexInfo {
  state: ResourceState
  /** With `retrying` and `failed`: the error's message. */
  error?: string
  last?: LastChange
  /** checkApply calls so far. */
  checks: number
}

/** The whole view, as JSON for the web page. */
export interface Snapshot {
  readonly name: string
  readonly hostname: string
  /** Every resource has settled: nothing running, nothing pending. */
  readonly idle: boolean
  /** Converged per `--converged-timeout` (never true without one). */
  readonly converged: boolean
  readonly vertices: readonly VertexView[]
  readonly edges: readonly EdgeInfo[]
}

/** What changed in the model, for views that follow it (the web view streams these). */
export type Delta =
  | { readonly t: 'graph' }
  | {
      readonly t: 'vertex'
      readonly id: string
      readonly state: ResourceState
      readonly error?: string
      readonly last?: LastChange
    }
  | { readonly t: 'converged'; readonly converged: boolean }
  | { readonly t: 'idle'; readonly idle: boolean }

export class GraphModel {
  name = ''
  idle = false
  converged = false
  readonly vertices = new Map<string, VertexView>()
  edges: readonly EdgeInfo[] = []
  readonly #listeners = new Set<(d: Delta) => void>()

  constructor(readonly hostname: string) {}

  /** Hears every change of the model; returns the unsubscribe function. */
  onDelta(fn: (d: Delta) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /** Counts of vertices by state. */
  counts(): Record<ResourceState, number> {
    const c: Record<ResourceState, number> = {
      pending: 0,
      checking: 0,
      changed: 0,
      clean: 0,
      retrying: 0,
      failed: 0,
    }
    for (const v of this.vertices.values()) c[v.state]++
    return c
  }

  snapshot(): Snapshot {
    return {
      name: this.name,
      hostname: this.hostname,
      idle: this.idle,
      converged: this.converged,
      vertices: [...this.vertices.values()],
      edges: this.edges,
    }
  }

  /** Takes in one engine event. */
  apply(e: EngineEvent): void {
    switch (e.type) {
      case 'graph': {
        const started = new Set(e.started)
        const old = new Map(this.vertices)
        this.vertices.clear()
        for (const v of e.vertices) {
          const prev = started.has(v.id) ? undefined : old.get(v.id)
          this.vertices.set(v.id, prev ? { ...prev, ...v } : { ...v, state: 'pending', checks: 0 })
        }
        this.name = e.name
        this.edges = e.edges
        this.idle = false
        this.converged = false
        this.#emit({ t: 'graph' })
        return
      }
      case 'state': {
        const v = this.vertices.get(e.id)
        if (!v) return
        v.state = e.state
        if (e.error === undefined) delete v.error
        else v.error = e.error
        if (this.idle && e.state === 'checking') this.#setIdle(false)
        this.#emitVertex(v)
        return
      }
      case 'checkApply': {
        const v = this.vertices.get(e.id)
        if (!v) return
        v.checks++
        if (e.changed && e.error === undefined) {
          v.last = { time: e.time, cause: describeCause(e.cause), noop: !e.apply }
          this.#emitVertex(v)
        }
        return
      }
      case 'converged':
        this.converged = e.converged
        this.#emit({ t: 'converged', converged: e.converged })
        return
      case 'idle':
        this.#setIdle(true)
        return
    }
  }

  #setIdle(idle: boolean): void {
    this.idle = idle
    this.#emit({ t: 'idle', idle })
  }

  #emitVertex(v: VertexView): void {
    if (!this.#listeners.size) return
    this.#emit({ t: 'vertex', id: v.id, state: v.state, error: v.error, last: v.last })
  }

  #emit(d: Delta): void {
    for (const fn of this.#listeners) fn(d)
  }
}
