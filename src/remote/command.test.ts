import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { type PassedFlags, remoteCommand, runArgs } from './command.js'
import { shq } from './exec.js'
import { parseProbe } from './probe.js'

const flags: PassedFlags = {
  watch: true,
  convergedTimeout: -1,
  exitWhenConverged: false,
  caching: true,
  cconns: 0,
}
const base = {
  node: '/usr/bin/node',
  wd: '/var/lib/mgmt/remote',
  runDir: '/var/lib/mgmt/remote/run-h1',
  graph: 'hosts/h1.yaml',
  hostname: 'h1',
  depth: 1,
  children: [],
  flags,
}

test('the remote run: its flags follow the initiator', () => {
  assert.deepEqual(runArgs(base), ['run', '--hostname', 'h1', '--depth', '1', 'yaml', 'hosts/h1.yaml'])
  assert.deepEqual(
    runArgs({
      ...base,
      children: ['kids/c.yaml'],
      knownHosts: 'known_hosts',
      flags: { ...flags, noop: true, sema: 2, watch: false, convergedTimeout: 5, caching: false, cconns: 3 },
    }),
    [
      'run',
      '--hostname',
      'h1',
      '--depth',
      '1',
      '--prefix',
      '/var/lib/mgmt/remote/prefix',
      '--no-caching',
      '--noop',
      '--sema',
      '2',
      '--no-watch',
      '--converged-status-file',
      '/dev/fd/3',
      '--converged-timeout',
      '0',
      '--converged-timeout-no-exit',
      '--remote',
      'kids/c.yaml',
      '--cconns',
      '3',
      '--known-hosts',
      'known_hosts',
      'yaml',
      'hosts/h1.yaml',
    ],
  )
  const waves = runArgs({ ...base, flags: { ...flags, convergedTimeout: 5, exitWhenConverged: true } })
  assert.deepEqual(waves.slice(5, 9), ['--converged-status-file', '/dev/fd/3', '--converged-timeout', '5'])
})

test('quoting: any string is one word for the shell', () => {
  for (const s of ["it's", 'a b', '$(rm -rf /)', '`x`', '"', "''", '\\', ''])
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shq(s)}`], { encoding: 'utf8' }), s)
  assert.match(
    remoteCommand(base),
    /^cd '\/var\/lib\/mgmt\/remote\/run-h1' && echo "pid=\$\$" && exec '\/usr\/bin\/node' '\/var\/lib\/mgmt\/remote\/mgmt\.mjs' 'run' .* 3>&1 1>&2$/,
  )
})

test('the probe answer is read', () => {
  const hash = 'a'.repeat(64)
  assert.deepEqual(
    parseProbe(
      `wd=/tmp/x\nos=Linux\nmachine=x86_64\nnode=/usr/bin/node\nnodeversion=20.1.0\nsha256=${hash}  mgmt.mjs\n`,
    ),
    {
      wd: '/tmp/x',
      os: 'Linux',
      machine: 'x86_64',
      node: { path: '/usr/bin/node', version: '20.1.0' },
      hashes: new Map([['mgmt.mjs', hash]]),
    },
  )
  assert.equal(parseProbe('wd=/tmp/x\nos=Linux\nmachine=aarch64\n').node, undefined)
  assert.throws(() => parseProbe('motd text\n'), /unexpected answer/)
})
