/**
 * Progress on a terminal: while a graph converges for longer than half a second (the first
 * converge of a large graph, or a big change), one line at the bottom of the terminal says how
 * far it is, `converging graph bench: 532/1000 resources (3 running)`, redrawn ten times a second
 * and erased once everything has settled. Log lines print above it. Nothing is drawn when the
 * output is not a terminal or logs are JSON (the CLI decides), and no timer runs once idle.
 *
 * The first converge of a large graph (QUIET_FROM resources or more) does not print a line per
 * resource (thousands of `created`): the resources' info lines are counted instead, and one line
 * says how many were not shown when it settles; warnings and errors print as always.
 */
import type { EngineEvent, ResourceState } from '../engine/events.js'
import type { LogLevel } from '../util/logger.js'

/** A first graph this large converges quietly on a terminal. */
export const QUIET_FROM = 100
/** A text log line of a resource, `hh:mm:ss.mmm [date] kind[name]: ...` (info lines are never coloured). */
const RESOURCE_LINE = /^[\d:. -]+ [^\s[\]:]+\[[^\]]*\]: /

/** Work shorter than this shows no progress, ms. */
const SHOW_AFTER_MS = 500
const REDRAW_MS = 100

/** Where the line goes: a terminal stream. */
export interface ProgressOutput {
  write(text: string): unknown
  readonly columns?: number
}

export class Progress {
  readonly #out: ProgressOutput
  /** The state of each vertex of the running graph. */
  #states = new Map<string, ResourceState>()
  #name = ''
  #wait: NodeJS.Timeout | undefined
  #redraw: NodeJS.Timeout | undefined
  /** The line on screen now ('' when none). */
  #line = ''
  #first = true
  /** The first converge of a large graph is under way: resources' info lines are counted, not shown. */
  #quiet = false
  #hidden = 0

  constructor(out: ProgressOutput) {
    this.#out = out
  }

  apply(e: EngineEvent): void {
    if (e.type === 'graph') {
      const started = new Set(e.started)
      const old = this.#states
      this.#states = new Map()
      for (const v of e.vertices) this.#states.set(v.id, (!started.has(v.id) && old.get(v.id)) || 'pending')
      this.#name = e.name
      if (this.#first && e.vertices.length >= QUIET_FROM) this.#quiet = true
      this.#first = false
      this.#stop()
      this.#wait = setTimeout(() => this.#start(), SHOW_AFTER_MS)
    } else if (e.type === 'state') {
      if (this.#states.has(e.id)) this.#states.set(e.id, e.state)
    } else if (e.type === 'idle') {
      this.#stop()
      if (!this.#quiet) return
      this.#quiet = false
      if (this.#hidden)
        this.writeLine(
          `(${this.#hidden} info lines of resources not shown during the first run; --no-progress shows them)`,
        )
      this.#hidden = 0
    }
  }

  /** Writes a log line above the progress line (or counts it, during a quiet first run). */
  writeLine(line: string, level: LogLevel = 'info'): void {
    if (this.#quiet && level === 'info' && RESOURCE_LINE.test(line)) {
      this.#hidden++
      return
    }
    const shown = this.#line
    if (shown) this.#out.write('\r\x1b[2K')
    this.#out.write(`${line}\n`)
    if (shown) this.#out.write(shown)
  }

  /** Erases the line and stops the timers. */
  close(): void {
    this.#stop()
  }

  #start(): void {
    this.#wait = undefined
    this.#draw()
    this.#redraw = setInterval(() => this.#draw(), REDRAW_MS)
  }

  #draw(): void {
    const c = { pending: 0, checking: 0, changed: 0, clean: 0, retrying: 0, failed: 0 }
    for (const s of this.#states.values()) c[s]++
    const total = this.#states.size
    const done = c.changed + c.clean + c.failed
    const running = c.checking
    const name = this.#name ? ` graph ${this.#name}` : ''
    let line = `converging${name}: ${done}/${total} resources`
    if (running) line += ` (${running} running)`
    if (c.retrying) line += `, ${c.retrying} retrying`
    if (c.failed) line += `, ${c.failed} failed`
    // A terminal of unknown size (0 columns) gets 80.
    const width = (this.#out.columns || 80) - 1
    if (line.length > width) line = line.slice(0, Math.max(0, width))
    if (line === this.#line) return
    this.#out.write(`\r\x1b[2K${line}`)
    this.#line = line
  }

  #stop(): void {
    clearTimeout(this.#wait)
    clearInterval(this.#redraw)
    this.#wait = this.#redraw = undefined
    if (this.#line) this.#out.write('\r\x1b[2K')
    this.#line = ''
  }
}
