/** What is checked before a manifest reaches Puppet (no Ruby is started here). */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { isMgmtError } from '../../util/errors.js'
import { silentLogger } from '../../util/logger.js'
import { PuppetChild } from './child.js'
import { compileCatalog } from './compiler.js'

test('a manifest that is a device or a FIFO, or a directory holding one, is refused before Puppet reads it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-manifest-'))
  // Never started: each compile is refused before its request.
  const child = new PuppetChild({}, silentLogger)
  const refused = (file: string) => (e: unknown) =>
    isMgmtError(e, 'ERR_FILE_READ') &&
    /^cannot read .*: it is a (FIFO|character device), not a regular file$/.test(e.message) &&
    e.message.startsWith(`cannot read ${file}: `)
  try {
    const fifo = join(dir, 'fifo.pp')
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    await mkdir(join(dir, 'site', 'nested'), { recursive: true })
    await writeFile(join(dir, 'site', 'a.pp'), 'notify { "a": }\n')
    await symlink('/dev/zero', join(dir, 'site', 'nested', 'zero.pp'))
    await assert.rejects(compileCatalog(child, { manifest: '/dev/zero' }, silentLogger), refused('/dev/zero'))
    await assert.rejects(compileCatalog(child, { manifest: fifo }, silentLogger), refused(fifo))
    const site = join(dir, 'site')
    await assert.rejects(
      compileCatalog(child, { manifest: site }, silentLogger),
      refused(join(site, 'nested', 'zero.pp')),
    )
    assert.equal(child.version, undefined, 'Puppet never started')
  } finally {
    await child.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

// A regression waits on the FIFO: the timeout makes it a failure.
test('a facts file or a puppet.conf that is a FIFO is refused: mgmt would wait on it forever', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-facts-'))
  const fifo = join(dir, 'fifo')
  const child = new PuppetChild({}, silentLogger)
  const confChild = new PuppetChild({ config: fifo }, silentLogger)
  try {
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    const refused = (e: unknown) =>
      isMgmtError(e, 'ERR_FILE_READ') && e.message === `cannot read ${fifo}: it is a FIFO, not a regular file`
    const code = 'notify { "x": }'
    await assert.rejects(compileCatalog(child, { code, factsFile: fifo }, silentLogger), refused)
    await assert.rejects(compileCatalog(confChild, { code }, silentLogger), refused)
  } finally {
    await child.stop()
    await confChild.stop()
    await rm(dir, { recursive: true, force: true })
  }
})
