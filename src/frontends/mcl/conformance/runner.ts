/**
 * The conformance runner: runs txtar cases of the original's language tests (format: the mcl
 * spec, §6.2) through this implementation and compares the outcome.
 *
 * A case's files are written to a fresh directory, which is compiled as a deploy (its
 * `metadata.yaml`, else `main.mcl`), with files named by their deploy path (`/main.mcl`).
 * - An `OUTPUT` of `# err: STAGE: MESSAGE` lines expects an error: its stage must be one of the
 *   lines' stages and its positions (`/main.mcl @ 4:7-4:13`, each byline in order) those of that
 *   line. The message text is not compared: the original's wording is not copied.
 * - Otherwise the expected resource graph: `Vertex: kind[name]` and `Edge: a -> b # a -> b` lines,
 *   compared sorted, automatic edges included.
 * - `TestAstFunc1` graph cases describe the original's internal function graph: the program
 *   must type-check. `Field:`/`Group:` lines (TestAstFunc3) need the engine's run, which this
 *   runner does not do: such cases fail with that reason.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { parseParams } from '../../../engine/params.js'
import type { Registry } from '../../../engine/registry.js'
import { checkLang, runLang } from '../compile.js'
import { isLangError, type LangError, stageTags } from '../errors.js'
import type { LangGraph } from '../run/interpret.js'
import { byline } from '../source.js'
import { toPlain } from '../values.js'
import { parseTxtar } from './txtar.js'

export interface CaseResult {
  /** `SUITE/name.txtar`. */
  readonly name: string
  readonly passed: boolean
  /** Why it failed, on one line. */
  readonly reason?: string
}

interface ErrorExpectation {
  readonly stage: string
  readonly bylines: string[]
}

const bylineRe = /(\/[^\s:@]*) @ (\d+:\d+-\d+:\d+)/g

function errorExpectations(output: string): ErrorExpectation[] {
  return output
    .split('\n')
    .filter(l => l.startsWith('# err: '))
    .map(l => {
      const body = l.slice('# err: '.length)
      const stage = body.slice(0, body.indexOf(':'))
      return { stage, bylines: [...body.matchAll(bylineRe)].map(m => `${m[1]} @ ${m[2]}`) }
    })
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .filter(l => l.trim() !== '' && l !== '# empty!')
    .sort()

/** The original's text form of a graph: vertices and edges, automatic edges included. */
export function graphLines(g: LangGraph, registry: Registry): string[] {
  const out = g.resources.map(r => `Vertex: ${r.kind}[${r.name}]`)
  const edges = new Set(g.edges.map(e => `${e.from.kind}[${e.from.name}] -> ${e.to.kind}[${e.to.name}]`))
  for (const e of autoEdges(g, registry)) edges.add(e)
  for (const e of edges) out.push(`Edge: ${e} # ${e}`)
  return out.join('\n').split('\n')
}

/** Automatic edges, by the engine's rules, for the kinds the engine has. */
function autoEdges(g: LangGraph, registry: Registry): string[] {
  const parsed = g.resources.map(r => {
    if (!registry.has(r.kind) || r.meta.autoedge === false) return undefined
    const def = registry.get(r.kind)
    const raw = Object.fromEntries([...r.fields].map(([k, f]) => [k, toPlain(f.value)]))
    // An invalid field (checked when the graph runs) does not hide the edges of the others.
    const shape = def.params.shape as unknown as Record<
      string,
      { safeParse(v: unknown): { success: boolean } }
    >
    const valid = Object.fromEntries(Object.entries(raw).filter(([k, v]) => shape[k]?.safeParse(v).success))
    const p = parseParams(def, r.name, raw).params ?? parseParams(def, r.name, valid).params
    return p && { r, def, params: p }
  })
  const index = new Map<string, string>()
  for (const x of parsed)
    if (x?.def.uids)
      for (const uid of x.def.uids(x.params, x.r.name)) index.set(uid, `${x.r.kind}[${x.r.name}]`)
  const out: string[] = []
  for (const x of parsed) {
    if (!x?.def.autoEdges) continue
    const me = `${x.r.kind}[${x.r.name}]`
    for (const candidates of x.def.autoEdges(x.params, x.r.name))
      for (const uid of candidates) {
        const from = index.get(uid)
        if (from && from !== me) {
          out.push(`${from} -> ${me}`)
          break
        }
      }
  }
  return out
}

/** Runs one case file. */
export function runCase(path: string, registry: Registry): CaseResult {
  const suite = basename(dirname(path))
  const name = `${suite}/${basename(path)}`
  const archive = parseTxtar(readFileSync(path, 'utf8'))
  const output = archive.files.get('OUTPUT')
  if (output === undefined) return { name, passed: true }
  const dir = mkdtempSync(join(tmpdir(), 'mgmt-conformance-'))
  try {
    for (const [file, text] of archive.files) {
      if (file === 'OUTPUT' || file === 'CONFIG') continue
      mkdirSync(dirname(join(dir, file)), { recursive: true })
      writeFileSync(join(dir, file), text)
    }
    const expectsError = output.startsWith('# err: ')
    const graphOnly = !expectsError && /^(Field|Group): /m.test(output)
    const functionGraph = !expectsError && suite === 'TestAstFunc1'
    let graph: LangGraph | undefined
    try {
      const checked = checkLang(dir, { registry, deployPaths: true })
      if (!functionGraph) graph = runLang(checked, { hostname: '', args: [], env: process.env })
    } catch (err) {
      if (!isLangError(err))
        return { name, passed: false, reason: `internal error: ${(err as Error).stack ?? err}` }
      return judgeError(name, err, expectsError ? errorExpectations(output) : undefined)
    }
    if (expectsError)
      return { name, passed: false, reason: `expected an error (${output.split('\n')[0]}), got none` }
    if (functionGraph) return { name, passed: true }
    if (graphOnly)
      return {
        name,
        passed: false,
        reason: 'expects field values after the engine ran (Field:/Group: lines)',
      }
    const want = lines(output)
    const got = lines(graphLines(graph!, registry).join('\n'))
    if (want.join('\n') === got.join('\n')) return { name, passed: true }
    const missing = want.filter(l => !got.includes(l))
    const extra = got.filter(l => !want.includes(l))
    return {
      name,
      passed: false,
      reason: `graph differs: missing [${missing.join(' | ')}], unexpected [${extra.join(' | ')}]`,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function judgeError(name: string, err: LangError, want: ErrorExpectation[] | undefined): CaseResult {
  const got = `${stageTags[err.stage]}: ${err.message}`
  if (!want) return { name, passed: false, reason: `unexpected error: ${got}` }
  const spans = err.spans.map(byline)
  const ok = want.some(
    w => w.stage === stageTags[err.stage] && (!w.bylines.length || w.bylines.join() === spans.join()),
  )
  if (ok) return { name, passed: true }
  const first = want[0]!
  return {
    name,
    passed: false,
    reason: `expected ${first.stage} @ [${first.bylines.join(', ')}], got ${got}`,
  }
}
