import assert from 'node:assert/strict'
import { test } from 'node:test'
import { run } from '../../lib/run.js'
import { builtinRegistry } from '../../resources/index.js'
import { memoryLogger } from '../../util/logger.js'
import { compileGraph, type EdgeSpec, type ResourceSpec } from '../compile.js'

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
    { convergedTimeout: 0, log },
  )
  assert.deepEqual(result.failed, [])
  assert.ok(log.lines.includes('print[p1]: one'))
  assert.ok(log.lines.includes('print[p2]: two'))
})
