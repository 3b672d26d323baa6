import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Slots } from './slots.js'

test('Slots: at most size run at once, the others in the order they came', async () => {
  const slots = new Slots(2)
  let running = 0
  let most = 0
  const order: number[] = []
  const gates = Array.from({ length: 5 }, () => {
    let resolve!: () => void
    const promise = new Promise<void>(r => {
      resolve = r
    })
    return { promise, resolve }
  })
  const runs = gates.map((g, i) =>
    slots.run(async () => {
      running++
      most = Math.max(most, running)
      order.push(i)
      await g.promise
      running--
      return i
    }),
  )
  await new Promise(setImmediate)
  assert.deepEqual(order, [0, 1])
  assert.equal(slots.waiting, 3)
  gates[1]!.resolve()
  await new Promise(setImmediate)
  assert.deepEqual(order, [0, 1, 2])
  for (const g of gates) g.resolve()
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4])
  assert.equal(most, 2)
  assert.equal(slots.waiting, 0)
})

test('Slots: a run that throws gives its slot back', async () => {
  const slots = new Slots(1)
  await assert.rejects(
    slots.run(async () => {
      throw new Error('boom')
    }),
    /boom/,
  )
  assert.equal(slots.take(), undefined)
})
