import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const example = fileURLToPath(new URL('../../examples/lib/password-file.js', import.meta.url))

test('examples/lib/password-file runs; a second run keeps the password and notifies nobody', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-libex-'))
  try {
    const first = spawnSync(process.execPath, [example, dir], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(first.status, 0, first.stderr)
    const password = await readFile(join(dir, 'password'), 'utf8')
    assert.match(password, /^[A-Za-z0-9]{16}$/)
    const lines = first.stderr.split('\n').map(l => l.replace(/^\S+ /, ''))
    const order = [
      'password[password1]: generated a new password',
      'file[file1]: SendRecv: password[password1].password -> file[file1].content',
      'file[file1]: created',
      'noop[noop1]: received a notification',
    ].map(o => lines.findIndex(l => l.startsWith(o)))
    assert.ok(
      order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)),
      first.stderr,
    )
    const second = spawnSync(process.execPath, [example, dir], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(second.status, 0, second.stderr)
    assert.equal(await readFile(join(dir, 'password'), 'utf8'), password)
    assert.doesNotMatch(second.stderr, /received a notification/)
    assert.match(second.stdout, /0 changed, 0 failed/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
