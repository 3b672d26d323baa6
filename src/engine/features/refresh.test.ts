import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { memoryLogger } from '../../util/logger.js'
import { RefreshStore } from './refresh.js'

/** A check of `from` that changed something: its notification to `to` is pending. */
async function notify(store: RefreshStore, from: string, to: string): Promise<void> {
  await store.settle(from, [to], await store.intend(from, [to]), true)
}

test('flags survive a new process (a new store on the same directory) until cleared', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-refresh-'))
  try {
    const log = memoryLogger()
    const a = new RefreshStore(dir, log)
    await a.load()
    await notify(a, 'file[x]', 'svc[y]')
    await notify(a, 'file[x]', 'svc[y]')
    assert.equal((await readdir(dir)).length, 1)
    // A crash after the receiver acted but before the flag was removed: the flag is still there,
    // so the next start delivers it again (at least once, never zero times).
    const b = new RefreshStore(dir, log)
    await b.load()
    assert.ok(b.isPending('file[x]', 'svc[y]'))
    await b.clear('file[x]', 'svc[y]')
    const c = new RefreshStore(dir, log)
    await c.load()
    assert.deepEqual(c.pending(), [])
    assert.deepEqual(await readdir(dir), [])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a torn flag file is discarded; flags of vanished edges are pruned with a log line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-refresh-'))
  try {
    const log = memoryLogger()
    const a = new RefreshStore(dir, log)
    await a.load()
    await notify(a, 'a[1]', 'b[1]')
    await notify(a, 'a[1]', 'c[1]')
    await writeFile(join(dir, 'torn.json'), '{"from": "a[')
    const b = new RefreshStore(dir, log)
    await b.load()
    assert.equal(b.pending().length, 2)
    await b.prune((from, to) => from === 'a[1]' && to === 'b[1]')
    assert.deepEqual(b.pending(), [['a[1]', 'b[1]']])
    assert.equal((await readdir(dir)).length, 1)
    assert.ok(log.lines.some(l => l.includes('dropping a pending notification from a[1] to c[1]')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a delivery clears only what it saw: a sender checking as it ends decides whether the flag stays', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-refresh-'))
  try {
    const s = new RefreshStore(dir, memoryLogger())
    await s.load()
    await notify(s, 'a[1]', 'b[1]')
    // Notified again while delivering: the flag stays.
    let gen = s.generation('a[1]', 'b[1]')
    await notify(s, 'a[1]', 'b[1]')
    await s.clear('a[1]', 'b[1]', gen)
    assert.ok(s.isPending('a[1]', 'b[1]'))
    // The delivery ends while a checks; a changed something: the flag stays, on disk.
    gen = s.generation('a[1]', 'b[1]')
    let fresh = await s.intend('a[1]', ['b[1]'])
    assert.deepEqual(fresh, [])
    await s.clear('a[1]', 'b[1]', gen)
    assert.ok(s.isPending('a[1]', 'b[1]'))
    await s.settle('a[1]', ['b[1]'], fresh, true)
    const after = new RefreshStore(dir, memoryLogger())
    await after.load()
    assert.deepEqual(after.pending(), [['a[1]', 'b[1]']])
    // The same, but a changed nothing: the delivered flag goes when a's check ends.
    gen = s.generation('a[1]', 'b[1]')
    fresh = await s.intend('a[1]', ['b[1]'])
    await s.clear('a[1]', 'b[1]', gen)
    await s.settle('a[1]', ['b[1]'], fresh, false)
    assert.equal(s.isPending('a[1]', 'b[1]'), false)
    assert.deepEqual(await readdir(dir), [])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
