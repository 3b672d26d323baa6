import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { compileGraph } from '../engine/compile.js'
import type { Compiled } from '../engine/compiled.js'
import type { GraphSpec } from '../engine/spec.js'
import { builtinRegistry } from '../resources/index.js'
import { memoryLogger } from '../util/logger.js'
import { Exchange } from './exchange.js'
import { LocalWorld } from './local.js'

const registry = builtinRegistry()

const fileSpec = (name: string, path: string, content: string, exported = false) => ({
  kind: 'file',
  name,
  params: { path, content, state: 'exists' },
  ...(exported ? { exported } : {}),
})

/** A source of graphs that the test pushes one at a time. */
function source(): { push(g: GraphSpec): void; iter: AsyncIterable<Compiled>; end(): void } {
  const queue: (Compiled | undefined)[] = []
  let wake: (() => void) | undefined
  return {
    push(g) {
      queue.push(compileGraph(g, registry))
      wake?.()
    },
    end() {
      queue.push(undefined)
      wake?.()
    },
    iter: (async function* () {
      for (;;) {
        while (!queue.length) await new Promise<void>(r => (wake = r))
        const g = queue.shift()
        if (!g) return
        yield g
      }
    })(),
  }
}

test('exports are published, collected back relocated by the pattern, and follow each new graph', async () => {
  const world = new LocalWorld('h1')
  const log = memoryLogger('info')
  const ac = new AbortController()
  const src = source()
  const out = new Exchange({ world, registry, log }).run(src.iter, ac.signal)
  src.push({
    name: 'g',
    resources: [fileSpec('local', '/tmp/a/local', 'l\n'), fileSpec('shared', '/tmp/a/shared', 's1\n', true)],
    edges: [],
    collect: [{ kind: 'file', pattern: '/srv/in' }],
  })
  const first = (await out.next()).value as Compiled
  assert.deepEqual([...first.graph.ids()].sort(), ['file[local]', 'file[shared]'])
  // The exported file is collected back into this host's pattern directory, not applied at its own path.
  assert.equal(first.graph.vertex('file[shared]')!.params.path, '/srv/in/shared')
  assert.deepEqual(
    (await world.resCollect()).map(r => [r.host, r.name, r.params.content]),
    [['h1', 'shared', 's1\n']],
  )
  // A new graph with a changed export: published, and collected with its new content.
  src.push({
    name: 'g',
    resources: [fileSpec('shared', '/tmp/a/shared', 's2\n', true)],
    edges: [],
    collect: [{ kind: 'file', pattern: '/srv/in/' }],
  })
  const second = (await out.next()).value as Compiled
  assert.deepEqual([...second.graph.ids()], ['file[shared]'])
  assert.equal(second.graph.vertex('file[shared]')!.params.content, 's2\n')
  // Exports withdrawn: the stale one is deleted, and nothing is collected any more.
  src.push({ name: 'g', resources: [], edges: [], collect: [{ kind: 'file' }] })
  const third = (await out.next()).value as Compiled
  assert.equal(third.graph.size, 0)
  assert.deepEqual(await world.resCollect(), [])
  assert.ok(log.lines.includes('exports withdrawn'), log.lines.join('\n'))
  ac.abort()
  assert.equal((await out.next()).done, true)
})

test('a collect that fails (the world unreachable) is tried again, without waiting for another change', {
  timeout: 30_000,
}, async () => {
  let failures = 1
  class Flaky extends LocalWorld {
    override async resCollect(...args: Parameters<LocalWorld['resCollect']>) {
      if (failures-- > 0) throw new Error('unreachable')
      return super.resCollect(...args)
    }
  }
  const log = memoryLogger('info')
  const ac = new AbortController()
  const src = source()
  const out = new Exchange({ world: new Flaky('h1'), registry, log }).run(src.iter, ac.signal)
  src.push({
    name: 'g',
    resources: [fileSpec('local', '/tmp/a/local', 'l\n'), fileSpec('shared', '/tmp/a/shared', 's1\n', true)],
    edges: [],
    collect: [{ kind: 'file', pattern: '/srv/in' }],
  })
  const first = (await out.next()).value as Compiled
  assert.deepEqual([...first.graph.ids()], ['file[local]'])
  assert.match(
    log.lines.join('\n'),
    /cannot collect exported resources \(unreachable\); keeping the last ones/,
  )
  // Nothing changes in the world: the second try alone brings the collected file.
  const second = (await out.next()).value as Compiled
  assert.deepEqual([...second.graph.ids()].sort(), ['file[local]', 'file[shared]'])
  ac.abort()
  await out.next()
})

test('meta export keeps the resource here; noop publishes nothing; a clash keeps the local one', async () => {
  const world = new LocalWorld('h1')
  const log = memoryLogger('info')
  const spec: GraphSpec = {
    name: 'g',
    resources: [
      { kind: 'print', name: 'p', params: { msg: 'hi' }, meta: { export: ['*'] } },
      { ...fileSpec('f', '/tmp/b/f', 'x\n', true) },
    ],
    edges: [],
    collect: [{ kind: 'print' }, { kind: 'file' }],
  }
  const noop = new Exchange({ world, registry, log, noop: true }).run(
    (async function* () {
      yield compileGraph(spec, registry)
    })(),
    new AbortController().signal,
  )
  const g = (await noop.next()).value as Compiled
  assert.deepEqual([...g.graph.ids()], ['print[p]'])
  assert.deepEqual(await world.resCollect(), [])
  assert.match(log.lines.join('\n'), /noop: would export print\[p\], file\[f\]/)
  await noop.return(undefined)

  const ac = new AbortController()
  const real = new Exchange({ world, registry, log }).run(
    (async function* () {
      yield compileGraph(spec, registry)
    })(),
    ac.signal,
  )
  const h = (await real.next()).value as Compiled
  // print[p] is both local and collected back: one vertex; file[f] comes from the collect.
  assert.deepEqual([...h.graph.ids()].sort(), ['file[f]', 'print[p]'])
  assert.deepEqual(
    (await world.resCollect()).map(r => [r.name, r.to]),
    [
      ['f', ['*']],
      ['p', ['*']],
    ],
  )
  ac.abort()
  await real.next()
})

test('through the library: Graph.export and Graph.collect, applied by run()', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-9-exchange-'))
  try {
    const { Graph, run } = await import('../index.js')
    const g = new Graph('graph4')
    g.add('file', 'file1', { path: join(dir, 'f1'), content: 'i am f1\n', state: 'exists' })
    g.add('file', 'in', { path: `${join(dir, 'in')}/`, state: 'exists' })
    g.export('file', 'file3', { path: join(dir, 'exported', 'f3'), content: 'i am f3\n', state: 'exists' })
    g.collect('file', { pattern: join(dir, 'in') })
    const res = await run(g, { prefix: join(dir, 'prefix'), convergedTimeout: 0, log: 'silent' })
    assert.deepEqual(res.failed, [])
    assert.deepEqual((await readdir(dir)).sort(), ['f1', 'in', 'prefix'])
    assert.equal(await readFile(join(dir, 'in', 'f3'), 'utf8'), 'i am f3\n')
    // The local world under the prefix keeps the exports.
    const saved = JSON.parse(await readFile(join(dir, 'prefix', 'world', 'world.json'), 'utf8'))
    const [exports] = Object.values(saved.exports) as { name: string }[][]
    assert.deepEqual(
      exports!.map(r => r.name),
      ['file3'],
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test("another host's export change yields a new graph; clashes and exports that do not compile are left out, said once", async () => {
  const { startEtcd } = await import('../testing/etcd.js')
  const { EtcdWorld } = await import('./etcd/world.js')
  const { silentLogger } = await import('../util/logger.js')
  const etcd = await startEtcd()
  const open = (h: string) => new EtcdWorld({ hostname: h, endpoints: [etcd.clientUrl], log: silentLogger })
  const [h1, h2, h3] = [open('h1'), open('h2'), open('h3')]
  const ac = new AbortController()
  try {
    const exp = (name: string, content: string, kind = 'file') => ({
      kind,
      name,
      params: { path: `/tmp/x/${name}`, content, state: 'exists' },
      to: ['*'],
    })
    await h2.resExport([exp('shared', 'from h2'), exp('mine', 'h2 only')])
    await h3.resExport([exp('shared', 'from h3'), { ...exp('odd', 'x'), params: { path: 'relative/odd' } }])
    const log = memoryLogger('info')
    const out = new Exchange({ world: h1, registry, log }).run(
      (async function* () {
        yield compileGraph({ name: 'g', resources: [], edges: [], collect: [{ kind: 'file' }] }, registry)
      })(),
      ac.signal,
    )
    const first = (await out.next()).value as Compiled
    assert.deepEqual([...first.graph.ids()].sort(), ['file[mine]', 'file[shared]'])
    assert.equal(first.graph.vertex('file[shared]')!.params.content, 'from h2')
    // h2 changes its export: a new graph, at once.
    const next = out.next()
    await h2.resExport([exp('shared', 'from h2, changed'), exp('mine', 'h2 only')])
    const second = (await next).value as Compiled
    assert.equal(second.graph.vertex('file[shared]')!.params.content, 'from h2, changed')
    // Said once each, though the graph was made twice.
    assert.deepEqual(log.lines.filter(l => l.startsWith('warn: ')).sort(), [
      'warn: file[odd] exported by h3 is not collected: collected.h3.file[odd].path: must be absolute, got `relative/odd`',
      'warn: file[shared] exported by h3 is not collected: h2 exports another of the same name',
    ])
    ac.abort()
    await out.next()
  } finally {
    for (const w of [h1, h2, h3]) await w.close()
    await etcd.cleanup()
  }
})
