/**
 * How many checks a change costs, with the real engine and the real file system: one. A resource's
 * own write comes back as an inotify event of its path; that echo is no change and is not checked
 * again (file/own.ts).
 */
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import type { CheckApplyEvent, EngineEvent } from '../engine/events.js'
import { Graph } from '../lib/graph.js'
import { type RunHandle, start } from '../lib/run.js'
import { tempPrefix } from '../testing/prefix.js'

let dir: string
let run: RunHandle | undefined

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-12-checks-'))
})
afterEach(async () => {
  run?.shutdown()
  await run?.done
  run = undefined
  await rm(dir, { recursive: true, force: true })
})

const N = 20
const content = (i: number): string => `line ${i}\n`

/** The run's checks, by resource id, and a way to wait for the engine to be idle after some. */
function follow(r: RunHandle): {
  checks: Map<string, CheckApplyEvent[]>
  idleAfter(n: number): Promise<void>
} {
  const checks = new Map<string, CheckApplyEvent[]>()
  let total = 0
  let waiters: { n: number; resolve: () => void }[] = []
  r.on('*', (e: EngineEvent) => {
    if (e.type === 'checkApply') {
      checks.set(e.id, [...(checks.get(e.id) ?? []), e])
      total++
    }
    if (e.type === 'idle') {
      const ready = waiters.filter(w => total >= w.n)
      waiters = waiters.filter(w => total < w.n)
      for (const w of ready) w.resolve()
    }
  })
  return {
    checks,
    idleAfter: n => new Promise(resolve => waiters.push({ n, resolve })),
  }
}

function graph(root: string): Graph {
  const g = new Graph('checks')
  g.add('file', 'dir', { path: `${root}/`, state: 'exists', mode: '0755' })
  for (let i = 0; i < N; i++)
    g.add('file', `f${i}`, { path: join(root, `f${i}`), state: 'exists', content: content(i), mode: '0644' })
  return g
}

/**
 * Someone else's new content, saved as editors do (a new file renamed over it): one inotify event.
 * (A write in place is two, its truncation and its write, and may cost two checks.)
 */
async function save(path: string, text: string): Promise<void> {
  await writeFile(`${path}.new`, text)
  await rename(`${path}.new`, path)
}

const counts = (checks: Map<string, CheckApplyEvent[]>): number[] =>
  [...checks.values()].map(list => list.length)

test('from scratch, every file is checked once: its own write is not checked again', async () => {
  const root = join(dir, 'tree')
  run = start(graph(root), { prefix: tempPrefix(), log: 'silent' })
  const seen = follow(run)
  await seen.idleAfter(N + 1)
  assert.deepEqual(counts(seen.checks), new Array(N + 1).fill(1))
  assert.ok([...seen.checks.values()].every(([e]) => e!.changed))
  // A change after every write: inotify keeps order, so any echo of a write came before it.
  const idle = seen.idleAfter(N + 2)
  await save(join(root, 'f0'), 'someone else\n')
  await idle
  assert.equal(seen.checks.get('file[f0]')?.length, 2)
  assert.equal([...seen.checks.values()].flat().length, N + 2, 'no write was checked twice')
  for (let i = 0; i < N; i++) assert.equal(await readFile(join(root, `f${i}`), 'utf8'), content(i))
})

test('drift: one check per change (content, mode, removal), none for the repair', async () => {
  const root = join(dir, 'tree')
  run = start(graph(root), { prefix: tempPrefix(), log: 'silent' })
  const seen = follow(run)
  await seen.idleAfter(N + 1)
  let total = N + 1
  const clobbers: [string, () => Promise<void>][] = [
    ['f3', () => save(join(root, 'f3'), 'someone else\n')],
    ['f4', () => chmod(join(root, 'f4'), 0o600)],
    ['f5', () => unlink(join(root, 'f5'))],
    // A change after the last repair, so that its echo (if any were checked) came before this one.
    ['f6', () => save(join(root, 'f6'), 'fence\n')],
  ]
  for (const [name, clobber] of clobbers) {
    // Waited for from before the change: its check and the idle moment may come before it resolves.
    const idle = seen.idleAfter(++total)
    await clobber()
    await idle
    assert.equal(await readFile(join(root, name), 'utf8'), content(Number(name.slice(1))))
    assert.equal((await stat(join(root, name))).mode & 0o777, 0o644)
  }
  for (const name of ['f3', 'f4', 'f5', 'f6']) {
    const list = seen.checks.get(`file[${name}]`) ?? []
    assert.equal(list.length, 2, `${name}: its first check and one for its change`)
    assert.equal(list[1]!.cause.type, 'watch event')
    assert.ok(list[1]!.changed)
  }
  assert.equal([...seen.checks.values()].flat().length, total, 'no other resource was checked')
})
