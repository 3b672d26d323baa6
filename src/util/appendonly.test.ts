import assert from 'node:assert/strict'
import { chmod, lchown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { runMgmt } from '../testing/cli.js'
import { appendGuarded } from './appendonly.js'

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
