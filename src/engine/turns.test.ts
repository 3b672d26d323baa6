import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inTurns, TurnQueue } from './turns.js'

const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

test('a turn queue runs its items in order, the first batch after the caller and the rest a batch a turn', async () => {
  const ran: number[] = []
  const q = new TurnQueue<number>(n => ran.push(n), 3)
  for (let i = 0; i < 7; i++) q.push(i)
  assert.deepEqual(ran, [], 'never inside the caller')
  await undefined
  assert.deepEqual(ran, [0, 1, 2], 'the first batch once the caller is done')
  assert.equal(q.size, 4)
  await nextTurn()
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5])
  await nextTurn()
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6])
  assert.equal(q.size, 0)
  // Idle again: the next item runs as soon as its caller is done, in the same turn.
  q.push(7)
  await undefined
  assert.deepEqual(ran.at(-1), 7)
})

test('an item queued by a running item waits behind those queued before it', async () => {
  const ran: string[] = []
  const q: TurnQueue<string> = new TurnQueue(s => {
    ran.push(s)
    if (s === 'a') q.push('c')
  }, 2)
  q.push('a')
  q.push('b')
  await undefined
  assert.deepEqual(ran, ['a', 'b'])
  await nextTurn()
  assert.deepEqual(ran, ['a', 'b', 'c'])
})

test('inTurns starts a bounded number of calls a turn and gives every result in order', async () => {
  const startedInTurn: number[] = []
  let turn = 0
  const counter = (): void => {
    turn++
    if (pending) setImmediate(counter)
  }
  let pending = true
  setImmediate(counter)
  const out = await inTurns(
    Array.from({ length: 10 }, (_, i) => i),
    async i => {
      startedInTurn.push(turn)
      await undefined
      return i * 2
    },
    4,
  )
  pending = false
  assert.deepEqual(out, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
  const perTurn = new Map<number, number>()
  for (const t of startedInTurn) perTurn.set(t, (perTurn.get(t) ?? 0) + 1)
  assert.deepEqual([...perTurn.values()], [4, 4, 2], 'four a turn, in three turns')
})

/** A promise and its resolve. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>(r => {
    resolve = r
  })
  return { promise, resolve }
}

const timers = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length

test('a bounded queue has at most its bound in flight; each item that settles lets the next one start', async () => {
  const before = timers()
  const started: number[] = []
  const runs = new Map<number, () => void>()
  const q = new TurnQueue<number>(
    n => {
      started.push(n)
      const d = deferred()
      runs.set(n, d.resolve)
      return d.promise
    },
    64,
    3,
    60_000,
  )
  for (let i = 0; i < 8; i++) q.push(i)
  for (let t = 0; t < 3; t++) await nextTurn()
  assert.deepEqual(started, [0, 1, 2], 'three in flight, however many turns pass')
  assert.equal(q.held, 3)
  assert.equal(q.size, 5)
  runs.get(1)!()
  await nextTurn()
  await nextTurn()
  assert.deepEqual(started, [0, 1, 2, 3], 'one settled, one more started')
  // Items queued meanwhile wait behind the others.
  q.push(8)
  for (const n of [0, 2, 3]) runs.get(n)!()
  await nextTurn()
  await nextTurn()
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6])
  for (const n of [4, 5, 6, 7]) {
    runs.get(n)!()
    await nextTurn()
    await nextTurn()
  }
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8])
  runs.get(8)!()
  await nextTurn()
  assert.equal(q.held, 0)
  assert.equal(q.size, 0)
  assert.equal(timers(), before, 'no timer left once the queue is empty')
})

test('an item in flight for longer than the bound allows gives up its place: work that waits on each other never stalls', async () => {
  const started: string[] = []
  const first = deferred()
  const secondStarted = deferred()
  const q = new TurnQueue<string>(
    s => {
      started.push(s)
      if (s === 'b') secondStarted.resolve()
      // `a` runs until `b` has started: with its place held for good, it never would.
      return s === 'a' ? secondStarted.promise.then(() => first.resolve()) : first.promise
    },
    64,
    1,
    30,
  )
  q.push('a')
  q.push('b')
  await undefined
  assert.deepEqual(started, ['a'], 'b waits while a is young')
  await first.promise
  assert.deepEqual(started, ['a', 'b'])
  await nextTurn()
  assert.equal(q.held, 0)
})
