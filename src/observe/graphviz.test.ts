/**
 * The graph picture: the DOT of a known graph renders with the real `dot` (Debian graphviz) and
 * names every vertex and edge; `--graphviz` keeps the files up to date through the real command.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { GraphEvent } from '../engine/events.js'
import { runMgmt } from '../testing/cli.js'
import { STATE_COLOURS, toDot } from './graphviz.js'
import { GraphModel } from './model.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-graphviz-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const odd = 'print[say "<hi>" & bye]'
const graph: GraphEvent = {
  type: 'graph',
  time: 0,
  name: 'known',
  vertices: [
    { id: 'password[pw]', kind: 'password', name: 'pw', members: [] },
    { id: 'file[secret]', kind: 'file', name: 'secret', members: [] },
    { id: 'noop[n1]', kind: 'noop', name: 'n1', members: [{ id: 'noop[n2]', kind: 'noop', name: 'n2' }] },
    { id: odd, kind: 'print', name: 'say "<hi>" & bye', members: [] },
  ],
  edges: [
    {
      from: 'password[pw]',
      to: 'file[secret]',
      name: 'e1',
      notify: false,
      sendRecv: [{ send: 'password', recv: 'content' }],
    },
    { from: 'file[secret]', to: 'noop[n1]', name: 'e2', notify: true, sendRecv: [] },
    { from: 'noop[n1]', to: odd, name: 'e3', notify: false, sendRecv: [] },
  ],
  started: [],
  removed: [],
}

/** The text of every `<title>` in an SVG from dot: one per vertex (its id) and edge (`a->b`). */
function titles(svg: string): string[] {
  const unXml = (s: string) =>
    s
      .replace(/&#45;/g, '-')
      .replace(/&gt;/g, '>')
      .replace(/&lt;/g, '<')
      .replace(/&quot;/g, '"')
      .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
      .replace(/&amp;/g, '&')
  return [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map(m => unXml(m[1]!))
}

test('the DOT of a known graph renders with dot and names every vertex and edge, coloured by state', () => {
  const model = new GraphModel('host1')
  model.apply(graph)
  model.apply({ type: 'state', time: 0, id: 'password[pw]', kind: 'password', state: 'changed' })
  model.apply({ type: 'state', time: 0, id: 'file[secret]', kind: 'file', state: 'checking' })
  model.apply({ type: 'state', time: 0, id: 'noop[n1]', kind: 'noop', state: 'failed', error: 'boom' })
  const dot = toDot(model.snapshot())
  const svg = execFileSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' })
  const t = titles(svg)
  for (const v of graph.vertices) assert.ok(t.includes(v.id), `vertex ${v.id} in ${t.join(' | ')}`)
  for (const e of graph.edges) assert.ok(t.includes(`${e.from}->${e.to}`), `edge ${e.from} -> ${e.to}`)
  assert.ok(t.includes('known'), 'the graph is named')
  // Labels: edges with what they carry, the grouped member under its vertex.
  for (const text of ['password → content', 'notify', 'e3', '+ noop[n2]'])
    assert.ok(svg.includes(text.replace('>', '&gt;')), text)
  const fill = (id: string) =>
    new RegExp(`${id.replace(/[[\]]/g, '\\$&')}" \\[label=[^\\n]*fillcolor="([^"]+)"`).exec(dot)?.[1]
  assert.equal(fill('password[pw]'), STATE_COLOURS.changed)
  assert.equal(fill('file[secret]'), STATE_COLOURS.checking)
  assert.equal(fill('noop[n1]'), STATE_COLOURS.failed)
  assert.match(dot, /"file\[secret\]" -> "noop\[n1\]" \[[^\]]*style=dashed/, 'notify edges are dashed')
  assert.match(dot, /"password\[pw\]" -> "file\[secret\]" \[[^\]]*penwidth=2/, 'send/recv edges are bold')
})

test('--graphviz FILE --graphviz-filter dot: DOT, SVG and PNG of the converged graph, no param values', async () => {
  const root = await mkdtemp(join(dir, 'cli-'))
  const yaml = join(root, 'graph.yaml')
  await writeFile(
    yaml,
    `graph: pictured
resources:
  password:
  - {name: pw, length: 20}
  file:
  - {name: secret, path: "${root}/secret", state: exists, mode: "0600"}
  noop:
  - {name: n1}
edges:
- {name: e1, from: {kind: password, name: pw}, to: {kind: file, name: secret}, send: password, recv: content}
- {name: e2, from: {kind: file, name: secret}, to: {kind: noop, name: n1}, notify: true}
`,
  )
  const out = join(root, 'graph.dot')
  const r = await runMgmt([
    'run',
    '--tmp-prefix',
    '--converged-timeout',
    '0',
    '--graphviz',
    out,
    '--graphviz-filter',
    'dot',
    'yaml',
    yaml,
  ])
  assert.equal(r.code, 0, r.output)
  const dot = await readFile(out, 'utf8')
  for (const id of ['password[pw]', 'file[secret]', 'noop[n1]'])
    assert.match(
      dot,
      new RegExp(`"${id.replace(/[[\]]/g, '\\$&')}" \\[[^\\n]*fillcolor="${STATE_COLOURS.clean}"`),
      id,
    )
  assert.match(dot, /label="e1\\npassword → content"/)
  const svg = await readFile(`${out}.svg`, 'utf8')
  assert.ok(titles(svg).includes('file[secret]->noop[n1]'))
  const png = await readFile(`${out}.png`)
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG')
  const password = await readFile(join(root, 'secret'), 'utf8')
  assert.equal(password.length, 20)
  for (const text of [dot, svg]) assert.ok(!text.includes(password), 'the password is nowhere in the picture')
})

test('--graphviz-filter without --graphviz is a usage error', async () => {
  const r = await runMgmt(['run', '--tmp-prefix', '--graphviz-filter', 'dot', 'empty'])
  assert.equal(r.code, 2, r.output)
  assert.match(r.output, /--graphviz-filter needs --graphviz FILE/)
})
