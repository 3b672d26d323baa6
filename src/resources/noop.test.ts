import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startResource } from '../testing/timeline.js'
import { noop } from './noop.js'

test('noop is always converged and logs a notification', async () => {
  const h = await startResource(noop, 'n1', { comment: 'hi' })
  await h.startup()
  assert.equal(await h.checkApply(), true)
  h.setRefresh(true)
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.logs, ['noop[n1]: received a notification'])
  await h.stop()
})

test('noop rejects a parameter of the wrong type', async () => {
  await assert.rejects(startResource(noop, 'n1', { comment: 1 }), { code: 'ERR_RES_PARAMS_INVALID' })
})
