import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { startResource } from '../testing/timeline.js'
import { timer } from './timer.js'

test('timer ticks every interval and is always converged', async () => {
  const h = await startResource(timer, 't', { interval: 1 })
  await h.startup()
  assert.equal(await h.checkApply(), true)
  await h.nextEvent(5000)
  await h.nextEvent(5000)
  assert.equal(h.events, 3)
  assert.equal(await h.checkApply(), true)
  await h.stop()
})

test('timer restarts its ticker on a notification, and returns false then', async () => {
  const h = await startResource(timer, 't', { interval: 1 })
  await h.startup()
  await h.nextEvent(5000)
  // Half an interval after a tick, a restart pushes the next tick a full interval away;
  // without it, it would come half an interval later.
  await delay(500)
  h.setRefresh(true)
  const restarted = performance.now()
  assert.equal(await h.checkApply(), false)
  assert.equal(await h.checkApply(), true)
  await h.nextEvent(5000)
  assert.ok(performance.now() - restarted >= 900, 'the tick came before a full interval')
  assert.ok(h.logs.includes('timer[t]: received a notification: restarted the ticker'))
  await h.stop()
})

test('timer in noop mode does not restart', async () => {
  const h = await startResource(timer, 't', { interval: 60 }, { refresh: true })
  await h.startup()
  assert.equal(await h.checkApply(false), false)
  assert.deepEqual(h.logs, ['timer[t]: would restart the ticker'])
  await h.stop()
})

test('timer requires a positive whole interval', async () => {
  for (const raw of [{}, { interval: 0 }, { interval: 1.5 }, { interval: '3' }, { interval: 3e6 }])
    await assert.rejects(startResource(timer, 't', raw), { code: 'ERR_RES_PARAMS_INVALID' })
})
