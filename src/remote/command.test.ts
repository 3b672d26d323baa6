import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { whenWritten } from '../testing/fswait.js'
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

test('a detached run: a session of its own, its output in a file, its state only in the world', async () => {
  const r = {
    ...base,
    etcdBinary: '/var/lib/mgmt/remote/etcd',
    extra: ['--seeds', 'http://127.0.0.1:4000'],
    flags: { ...flags, convergedTimeout: 5, detach: true },
  }
  assert.deepEqual(runArgs(r).slice(5), [
    '--detached',
    '--converged-timeout',
    '0',
    '--converged-timeout-no-exit',
    '--etcd-binary',
    '/var/lib/mgmt/remote/etcd',
    '--seeds',
    'http://127.0.0.1:4000',
    'yaml',
    'hosts/h1.yaml',
  ])
  const cmd = remoteCommand(r)
  assert.match(
    cmd,
    /^MALLOC_TRIM_THRESHOLD_=1048576 MGMT_MALLOC_TRIM=1 setsid '\/usr\/bin\/node' .* <\/dev\/null >>mgmt\.log 2>&1 &$/m,
  )
  assert.match(cmd, /^echo "\$pid" >mgmt\.pid$/m)
  assert.match(cmd, /^exec tail -n \+1 -f --pid="\$pid" mgmt\.log 1>&2 2>\/dev\/null$/m)
  // The same command in a shell, mgmt replaced by a program that says its session and stays: the
  // pid given is the detached process, and it leads a session of its own.
  const dir = mkdtempSync(join(tmpdir(), 'mgmt-command-'))
  try {
    const stay = `setsid sh -c 'read -r p c s pp g sid rest </proc/self/stat; echo $sid >sid; exec sleep 30' </dev/null`
    const script = remoteCommand({ ...r, runDir: dir })
      .replace(/^(\S+=\S+ )*setsid .*? <\/dev\/null/m, stay)
      .replace(/exec tail .*$/, 'exit 0')
    const child = spawnSync('sh', ['-c', script], { encoding: 'utf8' })
    const pid = Number(/^pid=(\d+)$/m.exec(child.stdout)?.[1])
    assert.equal(readFileSync(join(dir, 'mgmt.pid'), 'utf8'), `${pid}\n`)
    await whenWritten(join(dir, 'sid'))
    assert.equal(readFileSync(join(dir, 'sid'), 'utf8'), `${pid}\n`)
    process.kill(pid, 'SIGKILL')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('quoting: any string is one word for the shell', () => {
  for (const s of ["it's", 'a b', '$(rm -rf /)', '`x`', '"', "''", '\\', ''])
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shq(s)}`], { encoding: 'utf8' }), s)
  assert.match(
    remoteCommand(base),
    /^cd '\/var\/lib\/mgmt\/remote\/run-h1' && echo "pid=\$\$" && MALLOC_TRIM_THRESHOLD_=1048576 MGMT_MALLOC_TRIM=1 exec '\/usr\/bin\/node' '--max-semi-space-size=2' '\/var\/lib\/mgmt\/remote\/mgmt\.mjs' 'run' .* 3>&1 1>&2$/,
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
  const more = parseProbe('wd=/tmp/x\nos=Linux\nmachine=x86_64\naddr=10.0.0.2\netcd=/usr/bin/etcd\n')
  assert.equal(more.addr, '10.0.0.2')
  assert.equal(more.etcd, '/usr/bin/etcd')
  assert.equal(parseProbe('wd=/tmp/x\ndetached=1234\n').detached, 1234)
  assert.throws(() => parseProbe('motd text\n'), /unexpected answer/)
})
