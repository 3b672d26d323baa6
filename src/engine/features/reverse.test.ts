import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { memoryLogger } from '../../util/logger.js'
import { ReverseStore } from './reverse.js'

test('a reversal record that is not one is said once and set aside; the others are listed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-reverse-'))
  try {
    const good = { kind: 'file', name: 'f', params: { path: '/x', state: 'absent' } }
    await writeFile(join(dir, 'good.json'), JSON.stringify(good))
    await writeFile(join(dir, 'cut.json'), '{"kind": "fi')
    await writeFile(join(dir, 'shape.json'), JSON.stringify({ kind: 'file', name: 'g', params: null }))
    const log = memoryLogger('info')
    const store = new ReverseStore(dir, log)
    assert.deepEqual(
      (await store.list()).map(r => r.reversal),
      [good],
    )
    assert.equal(log.lines.length, 2, log.lines.join('\n'))
    assert.match(
      log.lines.join('\n'),
      /the reversal record .*cut\.json is not one \(.*JSON.*\): nothing of it is put back; set aside as .*cut\.json\.broken/,
    )
    assert.match(log.lines.join('\n'), /shape\.json is not one \(params: expected a mapping\)/)
    // Said once: the next graph change lists the good one alone, quietly.
    assert.equal((await store.list()).length, 1)
    assert.equal(log.lines.length, 2)
    assert.deepEqual((await readdir(dir)).sort(), ['cut.json.broken', 'good.json', 'shape.json.broken'])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
