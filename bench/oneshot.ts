/**
 * Cold and no-change runs of one-shot tools: each cold run starts with the tool's directory
 * removed, each no-change run follows with everything in place, and the result is checked after
 * every run (every file's bytes and mode), so a tool that converges wrongly fails the bench.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { type Command, canMeasurePeakRss, peakRssRun, timedRun } from './proc.js'
import { verifyTree } from './workload.js'

export interface Tool {
  readonly name: string
  readonly command: Command
  /** The directory the tool manages. */
  readonly dir: string
}

export interface OneShotOptions {
  readonly n: number
  readonly runs: number
  readonly timeoutMs: number
  /** Where logs and measurement files go. */
  readonly logDir: string
  /** Progress lines. */
  readonly say: (line: string) => void
}

export interface OneShot {
  readonly cold: number[]
  readonly noChange: number[]
  /** Peak resident set of one more cold run, KiB, when GNU time is available. */
  readonly peakRssKb?: number
}

function fromScratch(t: Tool): void {
  rmSync(t.dir, { recursive: true, force: true })
}

async function checkedRun(t: Tool, o: OneShotOptions, label: string): Promise<number> {
  const ms = await timedRun(t.command, join(o.logDir, `${t.name}-${label}.log`), o.timeoutMs)
  verifyTree(t.dir, o.n, `${t.name} (${label} run)`)
  return ms
}

async function peakRss(t: Tool, o: OneShotOptions): Promise<number | undefined> {
  if (!canMeasurePeakRss()) return undefined
  fromScratch(t)
  const kb = await peakRssRun(
    t.command,
    join(o.logDir, `${t.name}-rss.log`),
    join(o.logDir, `${t.name}-rss.out`),
    o.timeoutMs,
  )
  verifyTree(t.dir, o.n, `${t.name} (peak-memory run)`)
  return kb
}

/**
 * The tools' runs in turn (cold and no change of one, then of the next, round after round), so that
 * a slow or a fast moment of a shared machine falls on all of them alike; then each one's peak.
 */
export async function measureOneShots(tools: readonly Tool[], o: OneShotOptions): Promise<OneShot[]> {
  const runs = tools.map(() => ({ cold: [] as number[], noChange: [] as number[] }))
  for (let r = 1; r <= o.runs; r++)
    for (const [i, t] of tools.entries()) {
      const { cold, noChange } = runs[i]!
      fromScratch(t)
      cold.push(await checkedRun(t, o, `cold-${r}`))
      noChange.push(await checkedRun(t, o, `nochange-${r}`))
      o.say(
        `${t.name} run ${r}/${o.runs}: cold ${cold.at(-1)!.toFixed(0)} ms, no change ${noChange.at(-1)!.toFixed(0)} ms`,
      )
    }
  const out: OneShot[] = []
  for (const [i, t] of tools.entries()) out.push({ ...runs[i]!, peakRssKb: await peakRss(t, o) })
  return out
}
