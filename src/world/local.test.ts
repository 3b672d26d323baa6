import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Graph } from '../lib/graph.js'
import { run } from '../lib/run.js'
import { runMgmt } from '../testing/cli.js'
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

test('a world file that is not the world’s state stops the run before it applies anything', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-9-world-'))
  try {
    await mkdir(join(dir, 'world'))
    const file = join(dir, 'world', 'world.json')
    for (const [text, problem] of [
      ['{"strings": ', 'not JSON'],
      ['{"strings": 5}', 'strings: expected a mapping, got 5'],
      ['{"deploys": [{"id": "../x"}]}', 'deploys[0].id: expected a number, got "../x"'],
    ]) {
      await writeFile(file, text!)
      await assert.rejects(new LocalWorld('h', join(dir, 'world')).ready(), {
        code: 'ERR_PREFIX',
        message: `cannot use ${dir} as the state directory: ${file} is not the world's state: ${problem}: repair it, or move it away to start with an empty world`,
      })
    }
    // Through the command: nothing of the graph is applied.
    const graph = join(dir, 'g.yaml')
    await writeFile(graph, `graph: g\nresources:\n  file:\n  - {name: ${dir}/made, state: exists}\n`)
    const r = await runMgmt(['run', '--prefix', dir, '--converged-timeout', '0', 'yaml', graph])
    assert.equal(r.code, 1, r.output)
    assert.match(r.output, /is not the world's state/)
    assert.equal(existsSync(join(dir, 'made')), false)
    // Through the library, which makes its own world on the prefix: the same.
    const g = new Graph('g')
    g.add('file', join(dir, 'made'), { state: 'exists' })
    await assert.rejects(run(g, { prefix: dir, log: 'silent', convergedTimeout: 0 }), {
      code: 'ERR_PREFIX',
      message: /is not the world's state/,
    })
    assert.equal(existsSync(join(dir, 'made')), false)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a key named __proto__ survives a restart of the local world', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-9-world-'))
  try {
    const w = new LocalWorld('h', join(dir, 'world'))
    await w.strSet('__proto__', 'v')
    await w.strMapSet('__proto__', 'w')
    await w.close()
    // Read back through the file's check: the key is an own property of what JSON.parse made.
    const again = new LocalWorld('h', join(dir, 'world'))
    assert.equal(await again.strGet('__proto__'), 'v')
    assert.deepEqual(Object.entries(await again.strMapGet('__proto__')), [['h', 'w']])
    await again.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
