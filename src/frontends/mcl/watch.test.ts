import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Compiled } from '../../engine/compiled.js'
import { silentLogger } from '../../util/logger.js'
import { watchFiles } from './watch.js'

test('a program that reads many kept values is watched without a listener warning', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-mcl-watch-'))
  const values = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const f = join(dir, `v${i}`)
    await writeFile(f, 'x')
    values.add(f)
  }
  const warnings: Error[] = []
  const onWarning = (w: Error): void => {
    warnings.push(w)
  }
  process.on('warning', onWarning)
  const ac = new AbortController()
  const first = { spec: { name: 'p', resources: [], edges: [] } } as unknown as Compiled
  const stream = watchFiles(new Set(), first, async () => first, silentLogger, ac.signal, {
    files: false,
    used: () => ({ strings: new Set(), maps: new Set(), exports: false, values }),
  })
  const it = stream[Symbol.asyncIterator]()
  try {
    const next = it.next() // starts the watches; ends when the signal aborts
    await new Promise(r => setTimeout(r, 50))
    ac.abort()
    assert.equal((await next).done, true)
    assert.deepEqual(
      warnings.map(w => w.name),
      [],
      warnings.map(w => w.message).join('\n'),
    )
  } finally {
    process.off('warning', onWarning)
    await rm(dir, { recursive: true, force: true })
  }
})
