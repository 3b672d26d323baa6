/**
 * `--graphviz FILE`: the running graph as a Graphviz DOT file, written after each graph change and
 * each time the engine settles (so the colours show the states), and after a failure. With
 * `--graphviz-filter dot` (or another layout program) it is also rendered to `FILE.svg` and
 * `FILE.png`. Every file is replaced atomically; writes that pile up while one runs coalesce.
 *
 * Vertices are coloured by state; notify edges are dashed and send/recv edges bold, each labelled
 * with the edge's name and what it carries. Only kinds, names and keys appear: no param values.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { EngineEvent, ResourceState } from '../engine/events.js'
import { describeError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { writeStateFile } from '../util/statefile.js'
import type { GraphModel, Snapshot } from './model.js'

/** The Graphviz layout programs `--graphviz-filter` accepts. */
export const GRAPHVIZ_FILTERS = [
  'dot',
  'neato',
  'twopi',
  'circo',
  'fdp',
  'sfdp',
  'patchwork',
  'osage',
] as const
export type GraphvizFilter = (typeof GRAPHVIZ_FILTERS)[number]

/** Fill colours by state: grey pending, amber changing, green converged, orange retrying, red failed. */
export const STATE_COLOURS: Record<ResourceState, string> = {
  pending: '#e5e7eb',
  checking: '#fde68a',
  changed: '#bbf7d0',
  clean: '#bbf7d0',
  retrying: '#fed7aa',
  failed: '#fca5a5',
}

/** A DOT double-quoted string. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
}

/** The DOT text of a snapshot of the running graph. */
export function toDot(s: Snapshot, now = Date.now()): string {
  const title = `${s.name ? `graph ${s.name}` : 'graph'} on ${s.hostname}, ${stamp(now)}`
  const out = [
    `digraph ${quote(s.name || 'mgmt')} {`,
    `  label=${quote(title)}; labelloc=t; fontname="Helvetica"; newrank=true;`,
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9, color="#6b7280"];',
  ]
  for (const v of s.vertices) {
    const label = [v.id, ...v.members.map(m => `+ ${m.id}`)].join('\n')
    const attrs = [
      `label=${quote(label)}`,
      `fillcolor=${quote(STATE_COLOURS[v.state])}`,
      `tooltip=${quote(`${v.id}: ${v.state}${v.last ? `; last change: ${v.last.cause}` : ''}`)}`,
    ]
    if (v.state === 'changed') attrs.push('penwidth=2')
    if (v.state === 'failed' || v.state === 'retrying') attrs.push('color="#b91c1c"')
    out.push(`  ${quote(v.id)} [${attrs.join(', ')}];`)
  }
  for (const e of s.edges) {
    // An automatic edge's name repeats its two ends: `auto` says enough.
    const auto = e.name.startsWith('autoedge ')
    const lines = [auto ? 'auto' : e.name]
    if (e.notify) lines.push('notify')
    for (const p of e.sendRecv) lines.push(`${p.send} → ${p.recv}`)
    const attrs = [`label=${quote(lines.join('\n'))}`]
    if (auto) attrs.push('style=dotted')
    if (e.notify) attrs.push('style=dashed', 'color="#d97706"', 'fontcolor="#92400e"')
    if (e.sendRecv.length) attrs.push('penwidth=2', 'color="#2563eb"', 'fontcolor="#1e40af"')
    out.push(`  ${quote(e.from)} -> ${quote(e.to)} [${attrs.join(', ')}];`)
  }
  out.push('}', '')
  return out.join('\n')
}

export interface GraphvizOptions {
  readonly file: string
  /** Render FILE.svg and FILE.png with this layout program. */
  readonly filter?: GraphvizFilter
  readonly log: Logger
}

/** Writes the picture of `model` whenever the engine's events say it changed. */
export class GraphvizWriter {
  readonly #model: GraphModel
  readonly #opts: GraphvizOptions
  readonly #stop = new AbortController()
  #running: Promise<void> | undefined
  #again = false
  #warned = false

  constructor(model: GraphModel, opts: GraphvizOptions) {
    this.#model = model
    this.#opts = opts
  }

  /** Takes an engine event (after the model did). */
  apply(e: EngineEvent): void {
    if (
      e.type === 'graph' ||
      e.type === 'idle' ||
      (e.type === 'state' && (e.state === 'failed' || e.state === 'retrying'))
    )
      this.schedule()
  }

  /** Writes soon; a write already under way is followed by one more. */
  schedule(): void {
    if (this.#stop.signal.aborted) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#running = this.#write().finally(() => {
      this.#running = undefined
      if (this.#again) {
        this.#again = false
        this.schedule()
      }
    })
  }

  /** Resolves once the writes under way are done (the last picture is on disk). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running
  }

  /** Stops: a running filter is killed. */
  async close(): Promise<void> {
    this.#stop.abort()
    await this.#running
  }

  async #write(): Promise<void> {
    const { file, filter, log } = this.#opts
    try {
      await writeStateFile(file, toDot(this.#model.snapshot()), 0o644)
      if (filter) await this.#render(filter)
    } catch (err) {
      if (this.#stop.signal.aborted) return
      // One warning, not one per write: the next write likely fails the same way.
      if (!this.#warned) log.warn(`graphviz: ${describeError(err)}`)
      this.#warned = true
    }
  }

  /** `dot -Tsvg -o FILE.svg -Tpng -o FILE.png FILE`, through temporary names. */
  async #render(filter: GraphvizFilter): Promise<void> {
    const { file } = this.#opts
    const outputs = ['svg', 'png'].map(ext => ({
      ext,
      final: `${file}.${ext}`,
      tmp: join(dirname(file), `.${basename(file)}.${ext}.${randomUUID()}.tmp`),
    }))
    try {
      await new Promise<void>((resolve, reject) =>
        execFile(
          filter,
          [...outputs.flatMap(o => [`-T${o.ext}`, '-o', o.tmp]), file],
          { signal: this.#stop.signal, maxBuffer: 1 << 20 },
          (err, _stdout, stderr) =>
            err ? reject(new Error(`${filter} failed: ${stderr.trim() || err.message}`)) : resolve(),
        ),
      )
      for (const o of outputs) await rename(o.tmp, o.final)
    } finally {
      await Promise.all(outputs.map(o => rm(o.tmp, { force: true })))
    }
  }
}
