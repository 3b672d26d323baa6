import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { stateFiles } from '../engine/context.js'
import { Graph, run } from '../index.js'
import { tempPrefix } from '../testing/prefix.js'
import { startResource } from '../testing/timeline.js'
import { memoryLogger } from '../util/logger.js'
import { readKept, value, writeKept } from './value.js'

test('value keeps its value and sends it; an unchanged value is clean', async () => {
  const h = await startResource(value, 'v', { any: { port: 8080, hosts: ['a', 'b'] } })
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.deepEqual(h.sent, { any: { port: 8080, hosts: ['a', 'b'] } })
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.sent, { any: { port: 8080, hosts: ['a', 'b'] } })
  await h.stop()
})

test('the kept value survives a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-value-'))
  try {
    assert.equal(await readKept(stateFiles(dir)), undefined)
    await writeKept(stateFiles(dir), [1, 'two'])
    assert.deepEqual(await readKept(stateFiles(dir)), { value: [1, 'two'] })
    // Broken by hand: nothing kept, and the next value replaces it.
    for (const broken of ['{"value": ', '[]', 'null']) {
      await writeFile(join(dir, 'value.json'), broken)
      assert.equal(await readKept(stateFiles(dir)), undefined)
    }
    await writeKept(stateFiles(dir), 'again')
    assert.deepEqual(await readKept(stateFiles(dir)), { value: 'again' })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a received value reaches value.any, and value.any is sent on', async () => {
  const g = new Graph('values')
  const e = g.add('exec', 'e', { cmd: 'echo hello', shell: '/bin/sh' })
  const v = g.add('value', 'v')
  const p = g.add('print', 'p')
  g.sendRecv(e, 'stdout', v, 'any')
  g.edge(v, p)
  // Type-level only (never called): a value of unknown type cannot become a string param.
  // @ts-expect-error
  void (() => g.sendRecv(v, 'any', p, 'msg'))
  const log = memoryLogger('info')
  const result = await run(g, { prefix: tempPrefix(), convergedTimeout: 0, log })
  assert.deepEqual(result.failed, [])
  assert.ok(log.lines.includes('value[v]: SendRecv: exec[e].stdout -> value[v].any'), log.lines.join('\n'))
  assert.ok(log.lines.includes('value[v]: keeps a new value: "hello\\n"'), log.lines.join('\n'))
})
