/** Every kind is documented (a section naming each parameter) and has an example that loads. */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { loadYaml } from '../frontends/yaml/parse.js'
import { builtinKinds, builtinRegistry } from './index.js'

const top = fileURLToPath(new URL('../../../', import.meta.url))
const docs = readFileSync(`${top}docs/resources.md`, 'utf8')
const examples = readdirSync(`${top}examples/yaml`).filter(f => f.endsWith('.yaml'))

test('docs/resources.md has a section for every kind, naming each parameter', () => {
  for (const def of builtinKinds()) {
    const start = docs.indexOf(`\n## ${def.kind}\n`)
    assert.ok(start >= 0, `no section for ${def.kind}`)
    const end = docs.indexOf('\n## ', start + 1)
    const section = docs.slice(start, end < 0 ? undefined : end)
    for (const key of Object.keys(def.params.shape))
      assert.ok(section.includes(`| \`${key}\` |`), `${def.kind}.${key} is not documented`)
  }
})

test('every example in examples/yaml loads, and every kind is used by one', () => {
  const registry = builtinRegistry()
  const used = new Set<string>()
  for (const f of examples) {
    const g = loadYaml(readFileSync(`${top}examples/yaml/${f}`, 'utf8'), f, registry, { strict: true })
    for (const [, r] of g.graph.entries()) for (const m of [r, ...(r.group ?? [])]) used.add(m.kind)
  }
  for (const def of builtinKinds()) assert.ok(used.has(def.kind), `no example uses ${def.kind}`)
})

test("a kind's module is loaded when a graph first uses it; every kind is known by name before", () => {
  const registry = builtinRegistry()
  assert.deepEqual(registry.loaded(), [])
  assert.deepEqual(
    registry.kinds(),
    builtinKinds().map(d => d.kind),
  )
  const g = loadYaml(
    'graph: g\nresources:\n  file:\n  - name: /tmp/mgmt-registry-test-never-made/f\n    state: exists\n',
    'g.yaml',
    registry,
  )
  assert.equal([...g.graph.entries()].length, 1)
  assert.deepEqual(registry.loaded(), ['file'])
  // An unknown kind is named among those that exist, none of them loaded for it.
  assert.throws(
    () => loadYaml('graph: g\nresources:\n  flie:\n  - name: x\n', 'g.yaml', registry),
    /no resource kind `flie` available.*file/s,
  )
  assert.deepEqual(registry.loaded(), ['file'])
  assert.equal(registry.get('http:server:file').kind, 'http:server:file')
  assert.deepEqual(registry.loaded(), ['file', 'http:server:file'])
})
