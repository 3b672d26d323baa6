import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TokenBucket } from './ratelimit.js'
import { Semaphores, semaSize } from './semaphore.js'

test('the size of a semaphore is the number after its last colon', () => {
  assert.equal(semaSize('foo'), 1)
  assert.equal(semaSize('foo:1'), 1)
  assert.equal(semaSize('hello:42'), 42)
  assert.equal(semaSize('not:smart:4'), 4)
  assert.equal(semaSize(':13'), 13)
  assert.equal(semaSize('x:0'), 1)
  assert.equal(semaSize('x:y'), 1)
})

test('semaphores are taken in sorted order and released', async () => {
  const s = new Semaphores()
  const r1 = await s.acquire(['b:1', 'a:1'])
  let second = false
  const p = s.acquire(['a:1']).then(r => {
    second = true
    return r
  })
  await new Promise(r => setImmediate(r))
  assert.equal(second, false, 'a:1 is held')
  r1()
  ;(await p)()
  assert.equal(second, true)
})

test('a token bucket lets a burst through, then the limit', async () => {
  const b = new TokenBucket(20, 2)
  const t0 = performance.now()
  for (let i = 0; i < 6; i++) await b.take()
  // Two tokens at once, then four more at 20 a second: at least 200 ms.
  assert.ok(performance.now() - t0 >= 190)
  const free = new TokenBucket(Number.POSITIVE_INFINITY, 0)
  await free.take()
})
