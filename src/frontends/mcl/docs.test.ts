/**
 * docs/language.md's examples: each `mcl` block compiles, evaluates and is accepted by the
 * engine's compile, and produces exactly the resources and edges of the `graph` block after it.
 * They run on host `h1`, in a world where host `web1` exported a file and set the key `greeting`.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { compileGraph } from '../../engine/compile.js'
import { builtinRegistry } from '../../resources/index.js'
import { LocalWorld } from '../../world/local.js'
import { checkLang, runLang, toGraphSpec } from './compile.js'
import type { LangGraph } from './run/interpret.js'
import { Outside } from './run/outside.js'

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

/** The world of the examples, persisted in `dir` as if the other host had written it. */
function docWorld(dir: string): LocalWorld {
  const motd = {
    kind: 'file',
    name: '/etc/motd.d/web1',
    params: { state: 'exists', content: 'web1 is up\n' },
    meta: {},
    to: ['*'],
  }
  const saved = { strings: { greeting: 'hello' }, maps: {}, exports: { web1: [motd] }, deploys: [] }
  mkdirSync(join(dir, 'world'))
  writeFileSync(join(dir, 'world', 'world.json'), JSON.stringify(saved))
  return new LocalWorld('h1', join(dir, 'world'))
}

test('every example of docs/language.md runs and produces its graph', async () => {
  const all = examples()
  assert.ok(all.length >= 10, `only ${all.length} examples`)
  const registry = builtinRegistry()
  const dir = mkdtempSync(join(tmpdir(), 'mgmt-17-docs-'))
  const world = docWorld(dir)
  try {
    for (const ex of all) {
      const file = join(dir, 'main.mcl')
      writeFileSync(file, ex.code)
      const program = checkLang(file, { registry })
      const outside = new Outside()
      let g: LangGraph
      for (;;) {
        outside.round()
        g = runLang(program, { hostname: 'h1', args: [], env: {}, outside })
        if (!outside.pending(world)) break
        await outside.fetch(world, new AbortController().signal)
      }
      const got = [
        ...g.resources.map(r => `${r.kind}[${r.name}]`),
        ...g.edges.map(e => `${e.from.kind}[${e.from.name}] -> ${e.to.kind}[${e.to.name}]`),
      ].sort()
      assert.deepEqual(got, ex.graph, `docs/language.md:${ex.line}`)
      assert.doesNotThrow(() => compileGraph(toGraphSpec(g, 'doc'), registry), `docs/language.md:${ex.line}`)
    }
  } finally {
    await world.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
