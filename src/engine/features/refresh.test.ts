import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { memoryLogger } from '../../util/logger.js'
import { RefreshStore } from './refresh.js'

test('flags survive a new process (a new store on the same directory) until cleared', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-refresh-'))
  try {
    const log = memoryLogger()
    const a = new RefreshStore(dir, log)
    await a.load()
    await a.set('file[x]', 'svc[y]')
    await a.set('file[x]', 'svc[y]')
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
    await a.set('a[1]', 'b[1]')
    await a.set('a[1]', 'c[1]')
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
