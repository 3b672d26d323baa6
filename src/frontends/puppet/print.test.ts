/** --print-graph: the translated graph as YAML that `mgmt run yaml` loads into the same graph. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileGraph } from '../../engine/compile.js'
import { builtinRegistry } from '../../resources/index.js'
import { loadYaml } from '../yaml/parse.js'
import { graphYaml } from './print.js'
import { translated } from './testdata.js'

const registry = builtinRegistry()

/** A compiled graph as comparable data: each vertex's params and meta, each edge. */
function shape(g: ReturnType<typeof compileGraph>) {
  const vertices = [...g.graph.entries()].map(([id, r]) => [id, r.params, r.meta])
  const edges = [...g.graph.edges()].map(([from, to, e]) => [from, to, e.notify])
  const exports = g.exports.map(e => [e.kind, e.name, e.params, e.meta, e.to])
  return { vertices: vertices.sort(), edges: edges.sort(), exports: exports.sort() }
}

test('the printed graph loads with the YAML frontend into the same graph', () => {
  for (const name of ['file', 'exec', 'classes', 'defines', 'fallback', 'exported', 'collected']) {
    const t = translated(name)
    const text = graphYaml(t.spec, ' header')
    const loaded = loadYaml(text, `${name}.yaml`, registry, { strict: true })
    assert.deepEqual(shape(loaded), shape(compileGraph(t.spec, registry)), name)
    assert.ok(text.startsWith('# header\n'))
  }
})

test('a Sensitive() value is not printed: its param is left out, and a comment says so', () => {
  const t = translated('file')
  const text = graphYaml(t.spec, ' header', t.secrets)
  assert.ok(!text.includes('s3cr3t'))
  assert.match(text, /# sensitive, not printed: params\.content\n\s+- name: File\[\/etc\/secret\]\n/)
  loadYaml(text, 'file.yaml', registry, { strict: true })
})
