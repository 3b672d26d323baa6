import assert from 'node:assert/strict'
import { test } from 'node:test'
import { run } from '../../lib/run.js'
import { builtinRegistry } from '../../resources/index.js'
import { tempPrefix } from '../../testing/prefix.js'
import { memoryLogger } from '../../util/logger.js'
import { compileGraph } from '../compile.js'
import type { EdgeSpec, ResourceSpec } from '../spec.js'

const registry = builtinRegistry()
const r = (
  kind: string,
  name: string,
  params: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): ResourceSpec => ({
  kind,
  name,
  params,
  meta,
})
const e = (from: string, to: string, kind = 'noop'): EdgeSpec => ({
  name: `${from}-${to}`,
  from: { kind, name: from },
  to: { kind, name: to },
})
const compile = (resources: ResourceSpec[], edges: EdgeSpec[] = []) =>
  compileGraph({ name: 'g', resources, edges }, registry).graph

test('independent noops merge into one vertex, deterministically', () => {
  const g = compile([r('noop', 'c'), r('noop', 'a'), r('noop', 'b')])
  assert.deepEqual([...g.ids()], ['noop[a]'])
  assert.deepEqual(
    g.vertex('noop[a]')!.group!.map(x => x.id),
    ['noop[b]', 'noop[c]'],
  )
})

test('resources on one path never merge; the merged vertex keeps every edge', () => {
  const g = compile(
    [r('noop', 'a'), r('noop', 'b'), r('noop', 'c'), r('file', 'f', { path: '/tmp/x', state: 'exists' })],
    [e('a', 'b'), { name: 'fc', from: { kind: 'file', name: 'f' }, to: { kind: 'noop', name: 'c' } }],
  )
  // a -> b is a path, so they stay apart; c joins a (sorted first), taking the edge from f.
  assert.deepEqual([...g.ids()].sort(), ['file[f]', 'noop[a]', 'noop[b]'])
  assert.deepEqual(
    g.vertex('noop[a]')!.group!.map(x => x.id),
    ['noop[c]'],
  )
  assert.ok(g.outgoing('file[f]').has('noop[a]'))
  assert.doesNotThrow(() => g.topoSort())
})

test('autogroup false, refresh_only prints and other kinds stay apart', () => {
  const g = compile([
    r('noop', 'a'),
    r('noop', 'b', {}, { autogroup: false }),
    r('print', 'p1', { msg: 'x' }),
    r('print', 'p2', { msg: 'y', refresh_only: true }),
    r('print', 'p3', { msg: 'z' }),
  ])
  assert.deepEqual([...g.ids()].sort(), ['noop[a]', 'noop[b]', 'print[p1]', 'print[p2]'])
  assert.deepEqual(
    g.vertex('print[p1]')!.group!.map(x => x.id),
    ['print[p3]'],
  )
})

test('a grouped vertex runs every member', async () => {
  const log = memoryLogger('info')
  const result = await run(
    { name: 'g', resources: [r('print', 'p1', { msg: 'one' }), r('print', 'p2', { msg: 'two' })], edges: [] },
    { prefix: tempPrefix(), convergedTimeout: 0, log },
  )
  assert.deepEqual(result.failed, [])
  assert.ok(log.lines.includes('print[p1]: one'))
  assert.ok(log.lines.includes('print[p2]: two'))
})

test('any DAG: groups never hold two resources on one path, and the merged graph has no cycle', () => {
  // A pseudo-random graph of noops, prints and files, the same on every run.
  let seed = 7
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  for (let round = 0; round < 20; round++) {
    const n = 30 + rand(50)
    const kinds = ['noop', 'print', 'file']
    const resources = Array.from({ length: n }, (_, i) => {
      const kind = kinds[rand(3)]!
      return r(kind, `v${i}`, kind === 'file' ? { path: `/tmp/mgmt-7-ag/v${i}`, state: 'exists' } : {})
    })
    const edges: EdgeSpec[] = []
    for (let k = 0; k < n * 1.5; k++) {
      const a = rand(n)
      const b = rand(n)
      if (a < b) edges.push({ name: `e${k}`, from: resources[a]!, to: resources[b]! } as EdgeSpec)
    }
    const plain = compileGraph({ name: 'g', resources, edges }, registry, { noAutoGroup: true }).graph
    const grouped = compile(resources, edges)
    assert.doesNotThrow(() => grouped.topoSort())
    let count = 0
    for (const [, v] of grouped.entries()) {
      const members = [v, ...(v.group ?? [])]
      count += members.length
      for (const a of members)
        for (const b of members) if (a !== b) assert.ok(!plain.reaches(a.id, b.id), `${a.id} reaches ${b.id}`)
    }
    assert.equal(count, n, 'every resource is in exactly one vertex')
  }
})

test('live swaps of grouped resources: a member added, edited or removed takes effect', async () => {
  const { Engine } = await import('../engine.js')
  const { LocalWorld } = await import('../../world/local.js')
  const { waitingLogger } = await import('../../testing/logwait.js')
  const { mkdtemp, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const prefix = await mkdtemp(join(tmpdir(), 'mgmt-7-group-'))
  const log = waitingLogger('info')
  const engine = new Engine({ registry, hostname: 'h', prefix, world: new LocalWorld('h'), log })
  const prints = (msgs: Record<string, string>) =>
    compile(Object.entries(msgs).map(([name, msg]) => r('print', name, { msg })))
  try {
    await engine.commit(prints({ p1: 'one', p2: 'two' }))
    await log.waitFor(/print\[p2\]: two/)
    assert.deepEqual(
      engine.worker('print[p1]')?.res.group?.map(m => m.id),
      ['print[p2]'],
    )

    await engine.commit(prints({ p1: 'one', p2: 'two', p3: 'three' }))
    await log.waitFor(/print\[p3\]: three/)
    await engine.commit(prints({ p1: 'one', p2: 'deux', p3: 'three' }))
    await log.waitFor(/print\[p2\]: deux/)
    await engine.commit(prints({ p1: 'one', p2: 'deux' }))
    assert.deepEqual(
      engine.worker('print[p1]')?.res.group?.map(m => m.id),
      ['print[p2]'],
    )
    assert.ok(
      log.lines.some(l => /graph swap: 0 kept, 1 changed \(print\[p1\]\), 0 added, 0 removed/.test(l)),
      log.lines.join('\n'),
    )
  } finally {
    await engine.close()
    await rm(prefix, { recursive: true, force: true })
  }
})
