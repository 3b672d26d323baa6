import assert from 'node:assert/strict'
import { lstat, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { startMgmt } from '../testing/cli.js'
import { tempPrefix } from '../testing/prefix.js'
import { isMgmtError } from './errors.js'
import { silentLogger } from './logger.js'
import { holdPrefix, LOCK_FILE } from './prefix.js'

test('a prefix is held by one holder at a time, and free again once released', async () => {
  const dir = join(tempPrefix(), 'state')
  const first = await holdPrefix(dir, silentLogger)
  assert.equal((await lstat(dir)).mode & 0o777, 0o700)
  assert.equal(await readFile(join(dir, LOCK_FILE), 'utf8'), `${process.pid}\n`)
  // A second open of the lock file is another holder, even in this process.
  await assert.rejects(holdPrefix(dir, silentLogger), (e: unknown) => {
    assert.ok(isMgmtError(e, 'ERR_PREFIX_BUSY'), String(e))
    assert.equal(e.details.pid, process.pid)
    assert.equal(
      e.message,
      `another run (pid ${process.pid}) uses the state directory ${dir}: wait for it to end, or give another --prefix`,
    )
    return true
  })
  first.release()
  ;(await holdPrefix(dir, silentLogger)).release()
})

test('a prefix that cannot be one, and a link planted as the lock file, are refused', async () => {
  const root = tempPrefix()
  const file = join(root, 'file')
  await writeFile(file, 'not a directory')
  await assert.rejects(holdPrefix(file, silentLogger), {
    code: 'ERR_PREFIX',
    message: `cannot use ${file} as the state directory: it (or a directory above it) is not a directory`,
  })
  // Whoever can write the prefix plants a link: the lock never opens (nor truncates) its target.
  const target = join(root, 'target')
  await writeFile(target, 'precious')
  await symlink(target, join(root, LOCK_FILE))
  await assert.rejects(holdPrefix(root, silentLogger), {
    code: 'ERR_PREFIX',
    message: `cannot use ${root} as the state directory: ${join(root, LOCK_FILE)}: it is a symbolic link`,
  })
  assert.equal(await readFile(target, 'utf8'), 'precious')
})

test('a second run on a prefix stops with the holder’s pid; a killed holder leaves no lock', async () => {
  const prefix = tempPrefix()
  const graph = join(prefix, 'g.yaml')
  await writeFile(graph, 'graph: g\nresources:\n  noop:\n  - name: n\n')
  const args = ['run', '--prefix', prefix, 'yaml', graph]
  const holder = startMgmt(args)
  try {
    await holder.waitFor(/converged: 1 resource/)
    const second = startMgmt([...args.slice(0, 3), '--converged-timeout', '0', ...args.slice(3)])
    assert.equal(await second.exited, 1, second.output())
    assert.equal(
      second.output(),
      `mgmt: another run (pid ${holder.child.pid}) uses the state directory ${prefix}: wait for it to end, or give another --prefix\n`,
    )
    // kill -9: the lock goes with the process, and the next run takes it at once.
    holder.child.kill('SIGKILL')
    await holder.exited
    const third = startMgmt([...args.slice(0, 3), '--converged-timeout', '0', ...args.slice(3)])
    assert.equal(await third.exited, 0, third.output())
    assert.match(third.output(), /converged: 1 resource, 0 changed/)
  } finally {
    await holder.kill()
  }
})

test('a temporary prefix that cannot be made says where, in words', async () => {
  const r = startMgmt(['run', '--tmp-prefix', 'yaml', '/nonexistent.yaml'], {
    env: { TMPDIR: '/nonexistent' },
  })
  assert.equal(await r.exited, 1, r.output())
  assert.equal(
    r.output(),
    'mgmt: cannot use /nonexistent/mgmt-* as the state directory: no such file or directory (ENOENT)\n',
  )
})
