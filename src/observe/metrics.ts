/**
 * `--prometheus`: the engine's figures for Prometheus, counted from its events with `prom-client`,
 * beside Node's default process metrics (CPU, memory, heap, handles, GC, event-loop lag).
 *
 * - `mgmt_checkapply_total{apply,errorful,eventful,kind}`: checkApply calls. `eventful`: it changed
 *   something (or would have, in noop; a call that threw counts as eventful too, as in the original).
 * - `mgmt_checkapply_duration_seconds{kind}`: a histogram of checkApply durations.
 * - `mgmt_resources{kind}`: resources in the running graph (grouped ones counted one by one).
 * - `mgmt_failures_total{failure,kind}`: failures since start: `soft` (will be retried), `hard` (gave up).
 * - `mgmt_failures{failure,kind}`: resources failing now: `soft` retrying, `hard` given up.
 * - `mgmt_graph_start_time_seconds`: when the running graph was committed (Unix time).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { EngineEvent } from '../engine/events.js'

/** Seconds: checkApply calls take from microseconds (a clean noop) to minutes (a package install). */
const DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120]

/**
 * The event-loop lag monitor's sampling period, ms. prom-client's default (10 ms) would wake an idle
 * engine 100 times a second; once a second keeps it nearly idle and the figure still meaningful.
 */
const LAG_RESOLUTION_MS = 1000

/** Default metrics of prom-client that break Prometheus' naming rules. */
const MISNAMED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]

const FAILURES = ['soft', 'hard'] as const
type Failure = (typeof FAILURES)[number]

export class Metrics {
  readonly registry = new Registry()
  readonly #checkApply = new Counter({
    name: 'mgmt_checkapply_total',
    help: 'checkApply calls, by kind, apply (false in noop), eventful (it changed something) and errorful (it failed).',
    labelNames: ['apply', 'errorful', 'eventful', 'kind'] as const,
    registers: [this.registry],
  })
  readonly #duration = new Histogram({
    name: 'mgmt_checkapply_duration_seconds',
    help: 'Duration of checkApply calls, by kind.',
    labelNames: ['kind'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  })
  readonly #resources = new Gauge({
    name: 'mgmt_resources',
    help: 'Resources in the running graph, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  readonly #failuresTotal = new Counter({
    name: 'mgmt_failures_total',
    help: 'Failures since start, by kind: soft (retried) and hard (retries spent).',
    labelNames: ['failure', 'kind'] as const,
    registers: [this.registry],
  })
  readonly #failures = new Gauge({
    name: 'mgmt_failures',
    help: 'Resources failing now, by kind: soft (retrying) and hard (given up).',
    labelNames: ['failure', 'kind'] as const,
    registers: [this.registry],
  })
  readonly #graphStart = new Gauge({
    name: 'mgmt_graph_start_time_seconds',
    help: 'When the running graph was committed, in seconds since the Unix epoch.',
    registers: [this.registry],
  })
  /** The resources failing now, by id. */
  readonly #failing = new Map<string, { kind: string; failure: Failure }>()
  /** The kinds of the running graph. */
  #kinds: string[] = []

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (!(opts.defaultMetrics ?? true)) return
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: LAG_RESOLUTION_MS })
    // Gauges named like counters, which `promtool check metrics` rejects; each is the sum of its
    // labelled sibling without `_total` (nodejs_active_handles{type}...), which stays.
    for (const name of MISNAMED) this.registry.removeSingleMetric(name)
  }

  /** The text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  apply(e: EngineEvent): void {
    switch (e.type) {
      case 'graph': {
        this.#graphStart.set(e.time / 1000)
        const byKind = new Map<string, number>()
        const add = (kind: string): void => {
          byKind.set(kind, (byKind.get(kind) ?? 0) + 1)
        }
        for (const v of e.vertices) {
          add(v.kind)
          for (const m of v.members) add(m.kind)
        }
        this.#resources.reset()
        for (const [kind, n] of byKind) this.#resources.set({ kind }, n)
        // Every kind of the graph has its failure series, at 0 when nothing fails.
        this.#kinds = [...byKind.keys()]
        for (const kind of this.#kinds)
          for (const failure of FAILURES) this.#failuresTotal.inc({ failure, kind }, 0)
        // A vertex that left the graph or restarted fails no more.
        const present = new Set(e.vertices.map(v => v.id))
        for (const id of e.started) this.#failing.delete(id)
        for (const id of [...this.#failing.keys()]) if (!present.has(id)) this.#failing.delete(id)
        this.#updateFailing()
        return
      }
      case 'checkApply': {
        const errorful = e.error !== undefined
        // Labels in name order, as the original printed them.
        this.#checkApply.inc({
          apply: String(e.apply),
          errorful: String(errorful),
          eventful: String(e.changed),
          kind: e.kind,
        })
        this.#duration.observe({ kind: e.kind }, e.durationMs / 1000)
        return
      }
      case 'state': {
        const failure: Failure | undefined =
          e.state === 'retrying' ? 'soft' : e.state === 'failed' ? 'hard' : undefined
        if (failure) {
          this.#failuresTotal.inc({ failure, kind: e.kind })
          this.#failing.set(e.id, { kind: e.kind, failure })
          this.#updateFailing()
        } else if (e.state !== 'checking' && this.#failing.delete(e.id)) this.#updateFailing()
        return
      }
      default:
        return
    }
  }

  #updateFailing(): void {
    this.#failures.reset()
    for (const kind of this.#kinds) for (const failure of FAILURES) this.#failures.set({ failure, kind }, 0)
    for (const f of this.#failing.values()) this.#failures.inc({ failure: f.failure, kind: f.kind })
  }
}
