/**
 * `npm run bench:autogroup`: N independent noops, grouped (the default) and not (`--no-autogroup`):
 * the compile in this process, and the whole CLI run to convergence (`--converged-timeout 0`).
 * Autogrouping makes one pass over the graph, so the grouped run must not be much slower.
 *
 *   node dist/bench/autogroup.js [--noops N[,N...]] [--runs R] [--json]
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadYaml } from '../src/frontends/yaml/parse.js'
import { builtinRegistry } from '../src/resources/index.js'
import { summarize } from './stats.js'

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))
const say = (line: string): void => {
  process.stderr.write(`bench:autogroup: ${line}\n`)
}

const noopsYaml = (n: number): string => {
  const lines = ['graph: noops', 'resources:', '  noop:']
  for (let i = 0; i < n; i++) lines.push(`  - name: n${i}`)
  return `${lines.join('\n')}\n`
}

function cliRun(file: string, extra: string[]): number {
  const t = performance.now()
  const r = spawnSync(
    process.execPath,
    [CLI, 'run', '--tmp-prefix', '--converged-timeout', '0', ...extra, 'yaml', file],
    {
      stdio: 'ignore',
      timeout: 30 * 60_000,
    },
  )
  if (r.status !== 0) throw new Error(`mgmt exited ${r.status ?? r.signal}`)
  return performance.now() - t
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      noops: { type: 'string', default: '20000' },
      runs: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  })
  const sizes = v.noops.split(',').map(Number)
  const runs = Number(v.runs)
  const base = mkdtempSync(join(tmpdir(), 'mgmt-bench-autogroup-'))
  const results = []
  try {
    for (const n of sizes) {
      const file = join(base, `noops-${n}.yaml`)
      const text = noopsYaml(n)
      writeFileSync(file, text)
      const compile = (noAutoGroup: boolean): number => {
        const t = performance.now()
        loadYaml(text, file, builtinRegistry(), { noAutoGroup })
        return performance.now() - t
      }
      const c = { grouped: [] as number[], apart: [] as number[] }
      const cli = { grouped: [] as number[], apart: [] as number[] }
      for (let r = 0; r < runs; r++) {
        c.grouped.push(compile(false))
        c.apart.push(compile(true))
        say(`${n} noops, run ${r + 1}/${runs}: the CLI, grouped and not`)
        cli.grouped.push(cliRun(file, []))
        cli.apart.push(cliRun(file, ['--no-autogroup']))
      }
      results.push({
        noops: n,
        compileMs: { grouped: summarize(c.grouped), notGrouped: summarize(c.apart) },
        runMs: { grouped: summarize(cli.grouped), notGrouped: summarize(cli.apart) },
      })
    }
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
  if (v.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  else
    for (const r of results)
      process.stdout.write(
        `${r.noops} noops: compile ${r.compileMs.grouped.median.toFixed(0)} ms grouped, ` +
          `${r.compileMs.notGrouped.median.toFixed(0)} ms not; run to convergence ` +
          `${r.runMs.grouped.median.toFixed(0)} ms grouped, ${r.runMs.notGrouped.median.toFixed(0)} ms not ` +
          `(medians of ${runs})\n`,
      )
  return 0
}

process.exitCode = await main()
