/**
 * `mgmt run --remote`: what is refused before any host is contacted, and before the world's etcd
 * starts (no network needed).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt } from '../testing/cli.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-cli-remote-'))
  for (const h of ['a', 'b'])
    await writeFile(join(dir, `${h}.yaml`), `graph: ${h}\nremote: root@${h}.invalid\n`)
})
after(() => rm(dir, { recursive: true, force: true }))

test('--detach needs remote hosts, each with its own connection', async () => {
  const alone = await runMgmt(['run', '--detach', 'empty'])
  assert.equal(alone.code, 2)
  assert.match(alone.output, /--detach leaves remote hosts running: it needs --remote/)
  const hosts = ['--remote', join(dir, 'a.yaml'), '--remote', join(dir, 'b.yaml')]
  const r = await runMgmt(['run', '--detach', '--cconns', '1', '--converged-timeout', '1', ...hosts, 'empty'])
  assert.equal(r.code, 2)
  assert.match(r.output, /--detach with --cconns 1 and 2 hosts: .* raise --cconns/)
})

test('--cconns below the number of hosts needs --converged-timeout', async () => {
  const args = [
    'run',
    '--cconns',
    '1',
    '--remote',
    join(dir, 'a.yaml'),
    '--remote',
    join(dir, 'b.yaml'),
    'empty',
  ]
  const r = await runMgmt(args)
  assert.equal(r.code, 2)
  assert.match(r.output, /--cconns 1 with 2 hosts: .* give --converged-timeout/)
})

test('an invalid remote file stops everything before any connection', async () => {
  await writeFile(join(dir, 'bad.yaml'), 'graph: bad\nremote: ftp://h\n')
  const r = await runMgmt([
    'run',
    '--remote',
    join(dir, 'a.yaml'),
    '--remote',
    join(dir, 'bad.yaml'),
    'empty',
  ])
  assert.equal(r.code, 2)
  assert.match(r.output, /bad\.yaml:2:9: remote: unsupported scheme `ftp`/)
  assert.doesNotMatch(r.output, /a\.invalid/)
  const missingKey = await runMgmt([
    'run',
    '--ssh-key',
    join(dir, 'nokey'),
    '--remote',
    join(dir, 'a.yaml'),
    'empty',
  ])
  assert.equal(missingKey.code, 1)
  assert.match(missingKey.output, /cannot read .*nokey/)
})
