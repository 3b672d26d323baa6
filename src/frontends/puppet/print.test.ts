/** --print-graph: the translated graph as YAML that `mgmt run yaml` loads into the same graph. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileGraph } from '../../engine/compile.js'
import type { GraphSpec } from '../../engine/spec.js'
import { builtinRegistry } from '../../resources/index.js'
import { loadYaml } from '../yaml/parse.js'
import { graphYaml } from './print.js'
import { builtinKindParams, translated } from './testdata.js'
import { translate } from './translate.js'

const registry = builtinRegistry()

/** A compiled graph as comparable data: each vertex's params and meta, each edge. */
function shape(g: ReturnType<typeof compileGraph>) {
  const vertices = [...g.graph.entries()].map(([id, r]) => [id, r.params, r.meta])
  const edges = [...g.graph.edges()].map(([from, to, e]) => [from, to, e.notify])
  const exports = g.exports.map(e => [e.kind, e.name, e.params, e.meta, e.to])
  return { vertices: vertices.sort(), edges: edges.sort(), exports: exports.sort() }
}

/** `spec` without the params Puppet marked sensitive, which are never printed. */
function unprintable(spec: GraphSpec): GraphSpec {
  const resources = spec.resources.map(r => {
    const marked = (r.params.sensitive ?? []) as string[]
    const inner = (r.params.params ?? {}) as Record<string, unknown>
    if (!marked.length) return r
    const params = Object.fromEntries(Object.entries(inner).filter(([k]) => !marked.includes(k)))
    return { ...r, params: { ...r.params, params } }
  })
  return { ...spec, resources }
}

test('the printed graph loads with the YAML frontend into the same graph, but for sensitive values', () => {
  for (const name of ['file', 'exec', 'classes', 'defines', 'fallback', 'exported', 'collected']) {
    const t = translated(name)
    const text = graphYaml(t.spec, ' header')
    const loaded = loadYaml(text, `${name}.yaml`, registry, { strict: true })
    assert.deepEqual(shape(loaded), shape(compileGraph(unprintable(t.spec), registry)), name)
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

test('a Sensitive() list, hash, number or boolean is not printed either, nor any value inside it', () => {
  const sensitive = (title: string, parameters: Record<string, unknown>) => ({
    type: 'Exec',
    title,
    parameters: { command: '/bin/true', ...parameters },
    sensitive_parameters: Object.keys(parameters),
  })
  const catalog = {
    name: 'n',
    edges: [],
    resources: [
      sensitive('list', { environment: ['PW=listsecret'] }),
      sensitive('hash', { unless: { a: ['hashsecret'] } }),
      sensitive('number', { timeout: 4242 }),
      sensitive('boolean', { refreshonly: true }),
    ],
  }
  const t = translate(
    { catalog, collections: [], realized: [], collected: {}, modules: {}, modulepath: [] },
    { kindParams: builtinKindParams, pollInterval: 0 },
  )
  const text = graphYaml(t.spec, ' header', t.secrets)
  for (const secret of ['listsecret', 'hashsecret', '4242', 'refreshonly: true'])
    assert.ok(!text.includes(secret), `${secret} is printed:\n${text}`)
  for (const [title, param] of [
    ['list', 'environment'],
    ['hash', 'unless'],
    ['number', 'timeout'],
    ['boolean', 'refreshonly'],
  ])
    assert.match(
      text,
      new RegExp(`# sensitive, not printed: params\\.${param}\n\\s+- name: Exec\\[${title}\\]\n`),
    )
  loadYaml(text, 'sensitive.yaml', registry, { strict: true })
})
