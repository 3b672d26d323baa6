#!/usr/bin/env node
/**
 * `npm run conformance -- DIR...`: runs every `*.txtar` under the given directories, prints one
 * line per failing case and `N passed, M failed`. Exits 0 only when every failure is a listed
 * known failure, and no listed case passes.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { builtinRegistry } from '../../../resources/index.js'
import { knownFailures } from './known-failures.js'
import { type CaseResult, runCase } from './runner.js'

/** Every `*.txtar` under `path`, sorted. */
export function caseFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return path.endsWith('.txtar') ? [path] : []
  return readdirSync(path)
    .sort()
    .flatMap(f => caseFiles(join(path, f)))
}

export interface Summary {
  readonly results: CaseResult[]
  /** Failures not in the known list. */
  readonly unexpected: CaseResult[]
  /** Listed cases that passed. */
  readonly fixed: CaseResult[]
}

export function runConformance(dirs: readonly string[]): Summary {
  const registry = builtinRegistry()
  const results = dirs.flatMap(caseFiles).map(f => runCase(f, registry))
  return {
    results,
    unexpected: results.filter(r => !r.passed && !(r.name in knownFailures)),
    fixed: results.filter(r => r.passed && r.name in knownFailures),
  }
}

function main(argv: string[]): number {
  if (!argv.length) {
    process.stderr.write('usage: npm run conformance -- DIR...\n')
    return 2
  }
  const s = runConformance(argv)
  for (const r of s.results)
    if (!r.passed)
      process.stdout.write(`${r.name in knownFailures ? 'known' : 'FAIL'} ${r.name}: ${r.reason}\n`)
  for (const r of s.fixed)
    process.stdout.write(`FIXED ${r.name}: passes now, remove it from the known failures\n`)
  const failed = s.results.filter(r => !r.passed).length
  const known = s.results.filter(r => !r.passed && r.name in knownFailures).length
  process.stdout.write(`${s.results.length - failed} passed, ${failed} failed (${known} known)\n`)
  return s.unexpected.length || s.fixed.length ? 1 : 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = main(process.argv.slice(2))
