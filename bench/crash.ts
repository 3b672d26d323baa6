/**
 * `npm run bench:crash`: random `kill -9` trials of the real command (src/testing/killtrials.ts):
 * every trial drifts N files, each notifying a command, starts mgmt, kills it with SIGKILL after a
 * random 0.1–0.9 s, restarts it to convergence, and counts the notifications lost (must be 0), the
 * ones delivered twice (allowed: at least once) and the temporary files left (must be 0).
 *
 *   node dist/bench/crash.js [--trials N] [--files M] [--dir PARENT] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { killTrial, type TrialResult, writeKillGraph } from '../src/testing/killtrials.js'

const say = (line: string): void => {
  process.stderr.write(`bench:crash: ${line}\n`)
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      trials: { type: 'string', default: '100' },
      files: { type: 'string', default: '20' },
      dir: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const trials = Number(v.trials)
  const files = Number(v.files)
  if (!Number.isInteger(trials) || trials < 1 || !Number.isInteger(files) || files < 1) {
    say('usage: node dist/bench/crash.js [--trials N] [--files M] [--dir PARENT] [--json]')
    return 2
  }
  const base = mkdtempSync(join(resolve(v.dir ?? tmpdir()), 'mgmt-bench-crash-'))
  const results: TrialResult[] = []
  try {
    const g = await writeKillGraph(base, files)
    for (let i = 0; i < trials; i++) {
      const r = await killTrial(g)
      if (r.restartCode !== 0)
        throw new Error(`trial ${i + 1}: the restart exited ${r.restartCode}:\n${r.restartOutput}`)
      results.push(r)
      say(
        `trial ${i + 1}/${trials}: killed after ${r.killedAfterMs} ms: ${r.lost} lost, ${r.duplicates} twice, ${r.temps} temporary files`,
      )
    }
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
  const sum = (k: 'due' | 'lost' | 'duplicates' | 'temps'): number => results.reduce((a, r) => a + r[k], 0)
  const summary = {
    trials,
    files,
    changes: sum('due'),
    lost: sum('lost'),
    deliveredTwice: sum('duplicates'),
    temporaryFilesLeft: sum('temps'),
  }
  process.stdout.write(
    v.json
      ? `${JSON.stringify(summary, null, 2)}\n`
      : `kill -9 trials: ${summary.trials} (${files} files each), changes: ${summary.changes}, ` +
          `notifications lost: ${summary.lost}, delivered twice: ${summary.deliveredTwice}, ` +
          `temporary files left: ${summary.temporaryFilesLeft}\n`,
  )
  return summary.lost === 0 && summary.temporaryFilesLeft === 0 ? 0 : 1
}

process.exitCode = await main()
