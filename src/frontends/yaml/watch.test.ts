import assert from 'node:assert/strict'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { builtinRegistry } from '../../resources/index.js'
import { silentLogger } from '../../util/logger.js'
import { loadYaml } from './parse.js'
import { watchYamlFile } from './watch.js'

test('a save made before the later graphs are first read is not missed', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-watch-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'g.yaml')
  const first = 'graph: first\n'
  await writeFile(file, first)
  const stop = new AbortController()
  t.after(() => stop.abort())
  const w = watchYamlFile(file, silentLogger, stop.signal)
  // Saved (as editors do, by a rename) while the first graph would still be applied.
  await writeFile(join(dir, 'g.yaml.new'), 'graph: second\n')
  await rename(join(dir, 'g.yaml.new'), file)
  const graphs = w.graphs(first, text => loadYaml(text, file, builtinRegistry()))
  const next = await graphs.next()
  assert.equal(next.done, false)
  assert.equal(next.value?.name, 'second')
  stop.abort()
  assert.equal((await graphs.next()).done, true)
})
