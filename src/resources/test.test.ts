import assert from 'node:assert/strict'
import { test as it } from 'node:test'
import { compileGraph } from '../engine/compile.js'
import { startResource } from '../testing/timeline.js'
import { builtinRegistry } from './index.js'
import { test } from './test.js'

it('test logs its params, sends hello and answer, and is always right', async () => {
  const h = await startResource(test, 't1', {
    anotherstr: 'x',
    sendvalue: 'hi',
    onlyshow: ['AnotherStr', 'Int8'],
  })
  await h.startup()
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.sent, { hello: 'hi', answer: 42 })
  assert.deepEqual(h.logs, ['test[t1]: Int8: 0', 'test[t1]: AnotherStr: "x"'])
  h.setRefresh(true)
  h.setRecv({ anotherstr: { from: 'x[y]', key: 'k', changed: true } })
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.logs.slice(2, 4), [
    'test[t1]: received `anotherstr`, changed: true',
    'test[t1]: received a notification',
  ])
  await h.stop()
})

it('test fails when the received params are not the expected ones, and after waitforerror', async () => {
  const h = await startResource(test, 't1', { expectrecv: ['anotherstr'] })
  await h.startup()
  await assert.rejects(h.checkApply(), /the received keys differ from expected/)
  await h.stop()
  const w = await startResource(test, 't2', { waitforerror: 5 })
  await w.startup()
  await assert.rejects(w.checkApply(), /waitforerror 0\.0050 seconds/)
  await w.stop()
})

it('test validates its ranges and its switches; comparefail makes duplicates differ', () => {
  const registry = builtinRegistry()
  const graph = (params: Record<string, unknown>, params2?: Record<string, unknown>) => ({
    name: 'g',
    resources: [
      { kind: 'test', name: 'a', params },
      ...(params2 ? [{ kind: 'test', name: 'a', params: params2 }] : []),
    ],
    edges: [],
  })
  assert.equal(compileGraph(graph({ int8: 127, uint64: 5, mapintfloat: { 1: 2.5 } }), registry).graph.size, 1)
  assert.throws(() => compileGraph(graph({ uint8: -1 }), registry), /test\[a\]|uint8/)
  assert.throws(
    () => compileGraph(graph({ validatebool: true }), registry),
    /the validate param was set to true/,
  )
  assert.throws(() => compileGraph(graph({ validateerror: 'nope' }), registry), /set to: nope/)
  assert.equal(compileGraph(graph({ anotherstr: 'x' }, { anotherstr: 'x' }), registry).graph.size, 1)
  assert.throws(
    () => compileGraph(graph({ comparefail: true }, { comparefail: true }), registry),
    /the CompareFail is true/,
  )
})
