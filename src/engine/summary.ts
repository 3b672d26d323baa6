/**
 * The converge summary: one line at every converge, saying what changed since the last one and why,
 * and one recap line when the run ends.
 *
 *   converged: 1000 resources, 3 changed (file[f1]: watch event; noop[n1]: refresh from file[f1])
 *   converged: 1000 resources, 3 changed, 1 failed (exec[a]), 2 skipped (exec[b], exec[c])
 *
 * With a converged timeout that ends the run (`--converged-timeout N`, N >= 0), there is one line:
 * the recap at the end, listing every change of the run and why. With a converged timeout that
 * does not (`--converged-timeout-no-exit`), a line is printed when the engine converges; without
 * one (the default, -1), each time the engine settles after a graph change, a change or a new
 * failure; and the recap when the run stops.
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
  readonly skipped?: readonly string[]
  /** What the line starts with: `converged` by default, `stopped`, ... */
  readonly label?: string
  /** The changes counted, when more than `changes` lists (a recap after earlier lines). */
  readonly counts?: { readonly applied: number; readonly would: number }
}

const named = (ids: readonly string[]): string =>
  `${ids.slice(0, FAILED_SHOWN).join(', ')}${ids.length > FAILED_SHOWN ? ', ...' : ''}`

export function summaryLine(s: SummaryFigures): string {
  const applied = s.counts?.applied ?? s.changes.filter(c => !c.noop).length
  const would = s.counts?.would ?? s.changes.length - applied
  let line = `${s.label ?? 'converged'}: ${s.resources} resource${s.resources === 1 ? '' : 's'}, ${applied} changed`
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
  if (s.failed.length) line += `, ${s.failed.length} failed (${named(s.failed)})`
  if (s.skipped?.length) line += `, ${s.skipped.length} skipped (${named(s.skipped)})`
  return line
}

/** Collects the changes between summaries; `idle` and `converged` say when one is due. */
export class ConvergeSummary {
  #changes: Change[] = []
  /** Every change of the run, applied or not, for the recap. */
  #applied = 0
  #would = 0
  #afterCommit = false
  #reportedFailures = 0
  #last: IdleEvent | undefined

  /**
   * `timed`: a converged timeout is set, so the line comes with convergence, not with each idle;
   * `final`: convergence ends the run, so the recap is the only line.
   */
  constructor(
    readonly timed: boolean,
    /** `bad`: the line reports failures (or skipped resources). */
    readonly print: (line: string, bad: boolean) => void,
    readonly final = false,
  ) {}

  idle(e: IdleEvent): void {
    for (const c of e.changes) {
      this.#changes.push(c)
      if (c.noop) this.#would++
      else this.#applied++
    }
    this.#afterCommit ||= e.afterCommit
    this.#last = e
    if (this.timed) return
    if (this.#afterCommit || this.#changes.length || e.failed.length !== this.#reportedFailures) this.#flush()
  }

  /** The engine converged (`--converged-timeout`): the line is due, whatever it says. */
  converged(): void {
    if (!this.final) this.#flush()
  }

  /**
   * The recap, at the end of the run (`label`: converged, stopped, ...): the whole run's changes
   * counted, the ones no line reported yet listed with their causes, what failed and was skipped.
   */
  recap(
    label: string,
    now: { resources: number; failed: readonly string[]; skipped: readonly string[] },
  ): void {
    this.print(
      summaryLine({
        label,
        ...now,
        changes: this.#changes,
        counts: { applied: this.#applied, would: this.#would },
      }),
      now.failed.length + now.skipped.length > 0 || label.startsWith('cancelled'),
    )
    this.#changes = []
  }

  #flush(): void {
    const e = this.#last
    this.print(
      summaryLine({
        resources: e?.resources ?? 0,
        changes: this.#changes,
        failed: e?.failed ?? [],
        skipped: e?.skipped ?? [],
      }),
      (e?.failed.length ?? 0) > 0,
    )
    this.#reportedFailures = e?.failed.length ?? 0
    this.#changes = []
    this.#afterCommit = false
  }
}
