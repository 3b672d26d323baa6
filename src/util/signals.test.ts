import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { test } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { linkSignal } from './signals.js'

test('a linked signal follows its source until unlinked, and can abort alone', () => {
  const source = new AbortController()
  const a = linkSignal(source.signal)
  const b = linkSignal(source.signal)
  b.unlink()
  a.abort('timeout')
  assert.equal(a.signal.reason, 'timeout')
  assert.equal(source.signal.aborted, false)
  assert.equal(getEventListeners(source.signal, 'abort').length, 0, 'an aborted link is unlinked')
  const c = linkSignal(source.signal)
  source.abort('stop')
  assert.equal(c.signal.reason, 'stop')
  assert.equal(b.signal.aborted, false, 'an unlinked signal no longer follows')
  assert.equal(
    linkSignal(source.signal).signal.reason,
    'stop',
    'linked to an aborted source: aborted at once',
  )
})

test('links made and unlinked over and over leave nothing in a long-lived source', async () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const source = new AbortController().signal
  // Measured across turns of the event loop: a WeakRef made in a turn keeps its target to its end.
  const heapAfter = async (make: () => void): Promise<number> => {
    await tick()
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < 200_000; i++) make()
    await tick()
    gc()
    await tick()
    gc()
    return process.memoryUsage().heapUsed - before
  }
  const link = (): void => {
    const l = linkSignal(source)
    l.abort()
    l.unlink()
  }
  await heapAfter(link) // once first, so that what V8 compiles for the loop is not counted
  const linked = await heapAfter(link)
  assert.equal(getEventListeners(source, 'abort').length, 0)
  // AbortSignal.any keeps 40 to 100 bytes in the source for each call: 8 to 20 MB here.
  const any = await heapAfter(() => {
    const ac = new AbortController()
    AbortSignal.any([source, ac.signal])
    ac.abort()
  })
  assert.ok(any > 5e6, `AbortSignal.any kept ${any} bytes: the comparison no longer shows what it should`)
  assert.ok(linked < 3e6, `200,000 links kept ${linked} bytes`)
})
