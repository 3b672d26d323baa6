/**
 * The engine owns its resources' path watches: a file resource watches on one signal shared by
 * every such resource (no AbortController each), and the engine ends a worker's paths when it stops
 * it. Real engine, real file kind, real inotify.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { builtinRegistry } from '../resources/index.js'
import { memoryLogger } from '../util/logger.js'
import { LocalWorld } from '../world/local.js'
import { compileGraph } from './compile.js'
import { Engine } from './engine.js'
import type { ResourceSpec } from './spec.js'

let dir: string
let engine: Engine | undefined
const registry = builtinRegistry()

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-12-watch-'))
})
afterEach(async () => {
  await engine?.close()
  engine = undefined
  await rm(dir, { recursive: true, force: true })
})

const file = (name: string, path: string, meta: Record<string, unknown> = {}): ResourceSpec => ({
  kind: 'file',
  name,
  params: { path, state: 'exists', content: `${name}\n` },
  meta,
})

/** A new engine, closed after the test. */
function newEngine(): Engine {
  engine = new Engine({
    registry,
    hostname: 'h',
    prefix: join(dir, 'prefix'),
    world: new LocalWorld('h'),
    log: memoryLogger('error'),
    convergedTimeout: 0,
  })
  return engine
}

async function commit(e: Engine, resources: ResourceSpec[]): Promise<void> {
  const converged = new Promise<void>(resolve => {
    const off = e.converger.onChange(c => {
      if (c) {
        off()
        resolve()
      }
    })
  })
  await e.commit(compileGraph({ name: 'g', resources, edges: [] }, registry).graph)
  await converged
}

test('a file resource removed from the graph, or replaced, stops following its path', async () => {
  const [a, b, c] = ['a', 'b', 'c'].map(d => join(dir, d))
  for (const d of [a!, b!, c!]) await mkdir(d)
  const e = newEngine()
  await commit(e, [file('x', join(a!, 'x')), file('y', join(b!, 'y'))])
  assert.ok(e.worker('file[x]'), 'file[x] runs')
  const dirs = e.watcher.dirs()
  assert.ok(dirs.includes(a!) && dirs.includes(b!), dirs.join())
  // y goes; x is replaced by a resource of the same name elsewhere.
  await commit(e, [file('x', join(c!, 'x'))])
  const after = e.watcher.dirs()
  assert.ok(after.includes(c!), after.join())
  assert.ok(!after.includes(a!) && !after.includes(b!), `still watched: ${after.join()}`)
  await e.close()
  engine = undefined
  assert.equal(e.watcher.watchedDirs, 0)
})

test('a polling file resource has a watch signal of its own, aborted when it is removed (its timer ends with it)', async () => {
  const e = newEngine()
  await commit(e, [file('p', join(dir, 'p'), { poll: 1 })])
  const w = e.worker('file[p]')!
  // Its watch is its own (a timer that must end with it), not the engine-wide one.
  assert.notEqual(w.watchSignal, e.closing)
  await commit(e, [])
  assert.ok(w.watchSignal.aborted, 'the timer was cleared with its worker')
})

test('a file resource watches on the engine-wide signal: no signal of its own', async () => {
  const e = newEngine()
  await commit(e, [file('s', join(dir, 's'))])
  assert.equal(e.worker('file[s]')!.watchSignal, e.closing)
})
