/**
 * docs/language.md's examples: each `mcl` block compiles, evaluates and is accepted by the
 * engine's compile, and produces exactly the resources and edges of the `graph` block after it.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { compileGraph } from '../../engine/compile.js'
import { builtinRegistry } from '../../resources/index.js'
import { checkLang, runLang, toGraphSpec } from './compile.js'

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/language.md', import.meta.url)), 'utf8')

interface Example {
  readonly code: string
  readonly graph: string[]
  readonly line: number
}

function examples(): Example[] {
  const out: Example[] = []
  const re = /```(\w+)\n([\s\S]*?)```/g
  let pending: { code: string; line: number } | undefined
  for (let m = re.exec(doc); m; m = re.exec(doc)) {
    const line = doc.slice(0, m.index).split('\n').length
    if (m[1] === 'mcl') pending = { code: m[2]!, line }
    else if (m[1] === 'graph' && pending) {
      out.push({ ...pending, graph: m[2]!.trim().split('\n').sort() })
      pending = undefined
    }
  }
  return out
}

test('every example of docs/language.md runs and produces its graph', () => {
  const all = examples()
  assert.ok(all.length >= 10, `only ${all.length} examples`)
  const registry = builtinRegistry()
  const dir = mkdtempSync(join(tmpdir(), 'mgmt-17-docs-'))
  try {
    for (const ex of all) {
      const file = join(dir, 'main.mcl')
      writeFileSync(file, ex.code)
      const g = runLang(checkLang(file, { registry }), { hostname: 'h1', args: [], env: {} })
      const got = [
        ...g.resources.map(r => `${r.kind}[${r.name}]`),
        ...g.edges.map(e => `${e.from.kind}[${e.from.name}] -> ${e.to.kind}[${e.to.name}]`),
      ].sort()
      assert.deepEqual(got, ex.graph, `docs/language.md:${ex.line}`)
      assert.doesNotThrow(() => compileGraph(toGraphSpec(g, 'doc'), registry), `docs/language.md:${ex.line}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
