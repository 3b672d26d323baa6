/**
 * `pippet` against the real Puppet (skipped when it is not installed): every test shares one
 * persistent Ruby child, held by a lease for the whole file.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { fallbackSettings, leasePuppet, type PuppetLease } from '../frontends/puppet/pool.js'
import { startResource } from '../testing/timeline.js'
import { silentLogger } from '../util/logger.js'
import { whichSync } from '../util/which.js'
import { pippet } from './pippet.js'

const skip = whichSync('puppet') ? false : 'puppet is not installed (Debian package `puppet`)'
let lease: PuppetLease | undefined
let root = ''

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mgmt-16-pippet-'))
  if (!skip) lease = leasePuppet(fallbackSettings(), silentLogger)
})
after(async () => {
  await lease?.release()
  await rm(root, { recursive: true, force: true })
})

test('params: the title defaults to the name; params may be a JSON string, as the original wrote them', () => {
  const r = parseParams(pippet, 'Cron[x]', { type: 'Cron', params: '{"command": "/bin/true"}' })
  assert.deepEqual(r.issues, [])
  assert.deepEqual(r.params, {
    type: 'cron',
    title: 'Cron[x]',
    params: { command: '/bin/true' },
    sensitive: [],
  })
  const bad = parseParams(pippet, 'p', { type: 'cron', params: '[1]' })
  assert.deepEqual(
    bad.issues.map(i => [i.path, i.message]),
    [[['params'], 'expected a mapping, or a JSON object as a string']],
  )
})

test('a file applied by Puppet: noop changes nothing, apply writes it, drift is repaired on the next check', {
  skip,
}, async () => {
  const path = join(root, 'motd')
  const h = await startResource(pippet, `File[${path}]`, {
    type: 'file',
    title: path,
    params: { ensure: 'file', content: 'from puppet\n', mode: '0640' },
  })
  await h.startup()
  assert.equal(await h.checkApply(false), false)
  assert.equal(await readFile(path, 'utf8').catch(() => 'absent'), 'absent')
  assert.ok(
    h.logs.some(l => /ensure: current_value 'absent', should be 'file' \(noop\)/.test(l)),
    h.logs.join('\n'),
  )
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(path, 'utf8'), 'from puppet\n')
  await writeFile(path, 'clobbered\n')
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(path, 'utf8'), 'from puppet\n')
  await h.stop()
})

test('a notification refreshes: a refresh-only exec runs only then', { skip }, async () => {
  const log = join(root, 'refreshes')
  const h = await startResource(pippet, 'Exec[r]', {
    type: 'exec',
    title: 'r',
    params: { command: `/bin/sh -c 'echo refreshed >> ${log}'`, refreshonly: true },
  })
  await h.startup()
  assert.equal(await h.checkApply(), true)
  assert.equal(await readFile(log, 'utf8').catch(() => ''), '')
  h.setRefresh(true)
  assert.equal(await h.checkApply(), false)
  assert.equal(await readFile(log, 'utf8'), 'refreshed\n')
  assert.equal(await h.checkApply(), true)
  assert.equal(await readFile(log, 'utf8'), 'refreshed\n')
  await h.stop()
})

test("Puppet's failure is the check's error; a Sensitive value stays out of the logs", { skip }, async () => {
  const failing = await startResource(pippet, 'Exec[f]', {
    type: 'exec',
    title: 'f',
    params: { command: '/bin/false' },
  })
  await assert.rejects(
    failing.checkApply(),
    /Puppet failed to apply exec \{ 'f': \}: .*returned 1 instead of one of \[0\]/,
  )
  await failing.stop()
  const unknown = await startResource(pippet, 'Nope[x]', { type: 'nope', title: 'x' })
  await assert.rejects(unknown.checkApply(), /unknown resource type 'nope'/)
  await unknown.stop()
  // Without `sensitive`, Puppet's event would read "defined 'message' as 'hunter2'".
  const secret = await startResource(pippet, 'Notify[s]', {
    type: 'notify',
    title: 's',
    params: { message: 'hunter2' },
    sensitive: ['message'],
  })
  assert.equal(await secret.checkApply(), false)
  assert.ok(
    secret.logs.some(l => l.includes('message: changed [redacted] to [redacted]')),
    secret.logs.join('\n'),
  )
  assert.ok(!secret.logs.some(l => l.includes('hunter2')), secret.logs.join('\n'))
  await secret.stop()
})
