/**
 * The atomic write's hold of the file it replaces (an `O_PATH` descriptor across the rename): it
 * never opens what is there for reading or writing, never follows a link there, and is let go.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { lstatSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { writeAtomic } from './atomic.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-atomic-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const openFds = (): number => readdirSync('/proc/self/fd').length

/** Turns of the event loop until the descriptors opened since `base` are closed (at most 100). */
async function settledFds(base: number): Promise<number> {
  for (let i = 0; i < 100 && openFds() > base; i++) await new Promise(resolve => setImmediate(resolve))
  return openFds()
}

test('a file replaced: the new bytes and mode, and no descriptor left open', async () => {
  const p = join(dir, 'plain')
  await writeFile(p, 'old\n')
  const base = openFds()
  await writeAtomic(p, { bytes: Buffer.from('new\n') }, { mode: 0o640 }, { replaces: true })
  assert.equal(await readFile(p, 'utf8'), 'new\n')
  assert.equal(lstatSync(p).mode & 0o7777, 0o640)
  assert.equal(await settledFds(base), base)
})

test('a link at the path is replaced, never followed: what it points at is untouched', async () => {
  const target = join(dir, 'elsewhere')
  await writeFile(target, 'keep\n')
  const p = join(dir, 'link')
  await symlink(target, p)
  await writeAtomic(p, { bytes: Buffer.from('mine\n') }, { mode: 0o644 }, { replaces: true })
  assert.equal(lstatSync(p).isFile(), true)
  assert.equal(await readFile(p, 'utf8'), 'mine\n')
  assert.equal(await readFile(target, 'utf8'), 'keep\n')
})

test('a fifo at the path with no reader is replaced without waiting for one', async () => {
  const p = join(dir, 'fifo')
  execFileSync('mkfifo', [p])
  await writeAtomic(p, { bytes: Buffer.from('file\n') }, {}, { replaces: true })
  assert.equal(lstatSync(p).isFile(), true)
  assert.equal(await readFile(p, 'utf8'), 'file\n')
})

test('nothing at the path, whatever the caller last saw: the file is created', async () => {
  for (const replaces of [true, false, undefined]) {
    const p = join(dir, `new-${replaces}`)
    await writeAtomic(p, { bytes: Buffer.from('x\n') }, {}, { replaces })
    assert.equal(await readFile(p, 'utf8'), 'x\n')
  }
})
