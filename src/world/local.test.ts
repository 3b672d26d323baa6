import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { worldContract } from '../testing/worldcontract.js'
import { LocalWorld } from './local.js'

worldContract('local, persisted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-9-world-'))
  return {
    multiHost: false,
    open: async h => new LocalWorld(h, dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
})

test('the local world keeps its state in one JSON file, written whole', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-9-world-'))
  try {
    const w = new LocalWorld('h', join(dir, 'world'))
    // Many changes at once: each call resolves once its change is on disk.
    await Promise.all(Array.from({ length: 20 }, (_, i) => w.strSet(`k${i}`, `${i}`)))
    const saved = JSON.parse(await readFile(join(dir, 'world', 'world.json'), 'utf8'))
    assert.equal(Object.keys(saved.strings).length, 20)
    assert.equal(saved.strings.k19, '19')
    await w.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('without a directory the local world is in memory only', async () => {
  const w = new LocalWorld('h')
  await w.strSet('a', 'b')
  assert.equal(await w.strGet('a'), 'b')
  await w.close()
  assert.equal(await new LocalWorld('h').strGet('a'), undefined)
})
