/**
 * The converge summary: one line at every converge, saying what changed since the last one and why.
 *
 *   converged: 1000 resources, 3 changed (file[f1]: watch event; noop[n1]: refresh from file[f1])
 *
 * With a converged timeout (`--converged-timeout N`, N >= 0) the line is printed when the engine
 * converges (it is the "converged" line), listing every change since the previous one. Without
 * (the default, -1) it is printed each time the engine settles after a graph change, a change or a
 * new failure.
 */
import { type Change, describeCause, type IdleEvent } from './events.js'

/** Longest list of changes in a summary line, in characters; the rest is counted (`and N more`). */
const BUDGET = 200
/** Failed resources named in a summary line. */
const FAILED_SHOWN = 5

export interface SummaryFigures {
  readonly resources: number
  readonly changes: readonly Change[]
  readonly failed: readonly string[]
}

export function summaryLine(s: SummaryFigures): string {
  const applied = s.changes.filter(c => !c.noop).length
  const would = s.changes.length - applied
  let line = `converged: ${s.resources} resource${s.resources === 1 ? '' : 's'}, ${applied} changed`
  if (would) line += `, ${would} would change`
  if (s.changes.length) {
    const parts: string[] = []
    let used = 0
    for (const c of s.changes) {
      const part = `${c.id}: ${describeCause(c.cause)}`
      if (parts.length && used + part.length > BUDGET) break
      parts.push(part)
      used += part.length + 2
    }
    const more = s.changes.length - parts.length
    line += ` (${parts.join('; ')}${more ? `; and ${more} more` : ''})`
  }
  if (s.failed.length) {
    const shown = s.failed.slice(0, FAILED_SHOWN).join(', ')
    line += `, ${s.failed.length} failed (${shown}${s.failed.length > FAILED_SHOWN ? ', ...' : ''})`
  }
  return line
}

/** Collects the changes between summaries; `idle` and `converged` say when one is due. */
export class ConvergeSummary {
  #changes: Change[] = []
  #afterCommit = false
  #reportedFailures = 0
  #last: IdleEvent | undefined

  /** `timed`: a converged timeout is set, so the line comes with convergence, not with each idle. */
  constructor(
    readonly timed: boolean,
    readonly print: (line: string) => void,
  ) {}

  idle(e: IdleEvent): void {
    for (const c of e.changes) this.#changes.push(c)
    this.#afterCommit ||= e.afterCommit
    this.#last = e
    if (this.timed) return
    if (this.#afterCommit || this.#changes.length || e.failed.length !== this.#reportedFailures) this.#flush()
  }

  /** The engine converged (`--converged-timeout`): the line is due, whatever it says. */
  converged(): void {
    this.#flush()
  }

  #flush(): void {
    const e = this.#last
    this.print(summaryLine({ resources: e?.resources ?? 0, changes: this.#changes, failed: e?.failed ?? [] }))
    this.#reportedFailures = e?.failed.length ?? 0
    this.#changes = []
    this.#afterCommit = false
  }
}
