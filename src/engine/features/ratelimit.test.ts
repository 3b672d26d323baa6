import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TokenBucket } from './ratelimit.js'

test('a rate of one event in years waits, in steps a timer can take', async () => {
  // The wait for the next token is some 10^12 ms (32 years): as one timer, Node.js would run it after 1 ms
  // (with a TimeoutOverflowWarning), again and again.
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(w.name)
  process.on('warning', onWarning)
  try {
    const bucket = new TokenBucket(1e-9, 1)
    await bucket.take()
    const taking = bucket.take(AbortSignal.timeout(50))
    await assert.rejects(taking, { name: 'AbortError' })
    await new Promise(r => setImmediate(r))
    assert.deepEqual(warnings, [])
  } finally {
    process.off('warning', onWarning)
  }
})

test('a bucket lets `burst` events through at once, then one per 1/limit seconds', async () => {
  const bucket = new TokenBucket(50, 2)
  const t0 = performance.now()
  await bucket.take()
  await bucket.take()
  const burst = performance.now() - t0
  await bucket.take()
  const third = performance.now() - t0
  // The third waited for a token (20 ms at 50 a second); the timer may fire a little early.
  assert.ok(third - burst >= 15, `the third event came ${third - burst} ms after the burst`)
})
