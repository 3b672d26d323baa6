import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startResource } from '../testing/timeline.js'
import { print } from './print.js'

test('print prints once, then is clean', async () => {
  const h = await startResource(print, 'p1', { msg: 'hello' })
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.deepEqual(h.logs, ['print[p1]: hello'])
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.logs, ['print[p1]: hello'])
  await h.stop()
})

test('print prints again on a notification and on a received change', async () => {
  const h = await startResource(print, 'p1', { msg: 'hello' })
  await h.startup()
  await h.converge()
  h.setRefresh(true)
  assert.equal(await h.checkApply(), false)
  assert.equal(await h.checkApply(), true)
  h.setRecv({ msg: { from: 'x[y]', key: 'k', changed: true } })
  assert.equal(await h.checkApply(), false)
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.logs, [
    'print[p1]: hello',
    'print[p1]: received a notification',
    'print[p1]: hello',
    'print[p1]: hello',
  ])
  await h.stop()
})

test('print with refresh_only prints on a notification only', async () => {
  const h = await startResource(print, 'p1', { msg: 'hello', refresh_only: true })
  await h.startup()
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.logs, [])
  h.setRefresh(true)
  assert.equal(await h.checkApply(), false)
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.logs, ['print[p1]: received a notification', 'print[p1]: hello'])
  await h.stop()
})

test('print in noop mode says what it would print and prints nothing', async () => {
  const h = await startResource(print, 'p1', { msg: 'hello' })
  await h.startup()
  assert.equal(await h.checkApply(false), false)
  assert.equal(await h.checkApply(false), false)
  assert.deepEqual(h.logs, ['print[p1]: would print: hello', 'print[p1]: would print: hello'])
  assert.equal(await h.converge(), 1)
  assert.equal(h.logs.at(-1), 'print[p1]: hello')
  await h.stop()
})

test('print defaults to an empty message and rejects a wrong type', async () => {
  const h = await startResource(print, 'p1', {})
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.deepEqual(h.logs, ['print[p1]: '])
  await h.stop()
  await assert.rejects(startResource(print, 'p1', { refresh_only: 'yes' }), {
    code: 'ERR_RES_PARAMS_INVALID',
  })
})
