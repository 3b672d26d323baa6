import assert from 'node:assert/strict'
import { createHook } from 'node:async_hooks'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, lchown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { runMgmt } from '../testing/cli.js'
import { appendGuarded, StatusLines } from './appendonly.js'

const root = process.geteuid?.() === 0
const NOBODY = 65534

/** A sticky directory that everyone may write to, as /tmp, with a file of root's beside it. */
async function shared(): Promise<{ dir: string; target: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), 'mgmt-append-'))
  const dir = join(base, 'tmp')
  await mkdir(dir)
  await chmod(dir, 0o1777)
  const target = join(base, 'shadow')
  await writeFile(target, 'root:secret\n')
  return { dir, target, cleanup: () => rm(base, { recursive: true, force: true }) }
}

test('a status file is made, then appended to', async () => {
  const { dir, cleanup } = await shared()
  try {
    const file = join(dir, 'status')
    await appendGuarded(file, 'false\n')
    await appendGuarded(file, 'true\n')
    assert.equal(await readFile(file, 'utf8'), 'false\ntrue\n')
  } finally {
    await cleanup()
  }
})

test("a link that another user planted is not followed; the user's own link is", {
  skip: !root && 'needs root',
}, async () => {
  const { dir, target, cleanup } = await shared()
  try {
    const planted = join(dir, 'planted')
    await symlink(target, planted)
    await lchown(planted, NOBODY, NOBODY)
    await assert.rejects(appendGuarded(planted, 'true\n'), {
      code: 'ELOOP',
      message: `${planted} is a symbolic link of uid ${NOBODY}, in a directory of uid 0: not followed`,
    })
    assert.equal(await readFile(target, 'utf8'), 'root:secret\n')
    // Through the command: the run goes on, says why once, and leaves the target alone.
    const r = await runMgmt([
      'run',
      '--tmp-prefix',
      '--converged-timeout',
      '0',
      '--converged-status-file',
      planted,
      'empty',
    ])
    assert.equal(r.code, 0, r.output)
    assert.match(
      r.output,
      /status file: .* is a symbolic link of uid 65534, in a directory of uid 0: not followed/,
    )
    assert.equal(await readFile(target, 'utf8'), 'root:secret\n')
    // A link of root's own (as /dev/fd/3 is) is followed.
    const own = join(dir, 'own')
    await symlink(target, own)
    await appendGuarded(own, 'true\n')
    assert.equal(await readFile(target, 'utf8'), 'root:secret\ntrue\n')
  } finally {
    await cleanup()
  }
})

/** Counts the requests handed to libuv's thread pool (fs calls that are not synchronous) while `fn` runs. */
async function poolTrips(fn: () => Promise<void>): Promise<number> {
  let n = 0
  const hook = createHook({
    init(_id, type) {
      if (type.startsWith('FSREQ')) n++
    },
  }).enable()
  try {
    await fn()
  } finally {
    hook.disable()
  }
  return n
}

test('status lines: in order, a regular file appended to without a trip through the thread pool', async () => {
  const { dir, cleanup } = await shared()
  try {
    const file = join(dir, 'status')
    const errors: unknown[] = []
    const lines = new StatusLines(file, e => errors.push(e))
    const trips = await poolTrips(async () => {
      lines.append('false\n')
      lines.append('true\n')
      // Not written in the turn that reported them.
      assert.equal(existsSync(file), false)
      await lines.flushed()
      lines.append('false\n')
      await lines.flushed()
    })
    assert.equal(await readFile(file, 'utf8'), 'false\ntrue\nfalse\n')
    assert.equal(trips, 0)
    assert.deepEqual(errors, [])
  } finally {
    await cleanup()
  }
})

test('status lines through a link go through the thread pool, in order, lines of meanwhile included', async () => {
  const { dir, target, cleanup } = await shared()
  try {
    const link = join(dir, 'link')
    await symlink(target, link)
    const errors: unknown[] = []
    const lines = new StatusLines(link, e => errors.push(e))
    const want = 'root:secret\nfalse\ntrue\nfalse\n'
    const trips = await poolTrips(async () => {
      lines.append('false\n')
      // Handed to the pool, not written yet: these wait for it.
      await lines.flushed()
      lines.append('true\n')
      lines.append('false\n')
      for (let i = 0; i < 500 && (await readFile(target, 'utf8')) !== want; i++)
        await new Promise(resolve => setTimeout(resolve, 10))
    })
    assert.equal(await readFile(target, 'utf8'), want)
    assert.ok(trips > 0, 'through the thread pool')
    assert.deepEqual(errors, [])
  } finally {
    await cleanup()
  }
})

test('status lines: a file that cannot be written is said once per batch, and later lines still come', async () => {
  const { dir, cleanup } = await shared()
  try {
    const file = join(dir, 'missing', 'status')
    const errors: unknown[] = []
    const lines = new StatusLines(file, e => errors.push(e))
    lines.append('true\n')
    await lines.flushed()
    assert.equal(errors.length, 1)
    assert.match(String(errors[0]), /ENOENT/)
    await mkdir(join(dir, 'missing'))
    lines.append('false\n')
    await lines.flushed()
    assert.equal(await readFile(file, 'utf8'), 'false\n')
  } finally {
    await cleanup()
  }
})

test('status lines to a fifo: handed to the pool without waiting for a reader, read once one comes', async () => {
  const { dir, cleanup } = await shared()
  try {
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    const errors: unknown[] = []
    const lines = new StatusLines(fifo, e => errors.push(e))
    lines.append('true\n')
    // No reader yet: the append waits in the pool, and the run's end does not wait for it.
    await lines.flushed()
    assert.equal(await readFile(fifo, 'utf8'), 'true\n')
    assert.deepEqual(errors, [])
  } finally {
    await cleanup()
  }
})
