import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ETCD_DEFAULT_LIMITS, startEtcd, type TestEtcd } from '../../testing/etcd.js'
import { Calls, worldContract } from '../../testing/worldcontract.js'
import { memoryLogger, silentLogger } from '../../util/logger.js'
import type { ExportedResource } from '../world.js'
import { EtcdWorld } from './world.js'

worldContract('etcd', async () => {
  const etcd = await startEtcd()
  return {
    multiHost: true,
    // A short lease, so that the registration of a host that closed without revoking goes soon.
    open: async h =>
      new EtcdWorld({ hostname: h, endpoints: [etcd.clientUrl], log: silentLogger, leaseTtl: 3 }),
    cleanup: () => etcd.cleanup(),
  }
})

let etcd: TestEtcd
before(async () => {
  etcd = await startEtcd()
})
after(() => etcd?.cleanup())

const res = (name: string, content: string): ExportedResource => ({
  kind: 'file',
  name,
  params: { path: `/tmp/e/${name}`, content },
  to: ['*'],
})

test('the keys are where etcdctl, or any other client, finds them', async () => {
  const w = new EtcdWorld({ hostname: 'hk', endpoints: [etcd.clientUrl], log: silentLogger })
  try {
    await w.strSet('greeting', 'hello')
    await w.strMapSet('greeting', 'per-host')
    await w.resExport([res('a/b', 'x')])
    await w.setConverged(true)
    assert.equal(await etcd.get('/_mgmt/strings/greeting'), 'hello')
    assert.equal(await etcd.get('/_mgmt/strings/greeting/hk'), 'per-host')
    assert.deepEqual(JSON.parse((await etcd.get('/_mgmt/exported/hk/resources/file/a/b'))!), {
      kind: 'file',
      meta: {},
      name: 'a/b',
      params: { content: 'x', path: '/tmp/e/a/b' },
      to: ['*'],
    })
    assert.equal(await etcd.get('/_mgmt/converged/hk'), 'true')
    assert.ok(await etcd.get('/_mgmt/hosts/hk'))
    // A value set by another client is what this world reads.
    await etcd.ctl('put', '/_mgmt/strings/greeting', 'from etcdctl')
    assert.equal(await w.strGet('greeting'), 'from etcdctl')
  } finally {
    await w.close()
  }
  // Closing unregisters the host: its leased keys go at once.
  assert.equal(await etcd.get('/_mgmt/hosts/hk'), undefined)
  assert.equal(await etcd.get('/_mgmt/converged/hk'), undefined)
  // Exports stay: another host still collects what this one exported.
  assert.ok(await etcd.get('/_mgmt/exported/hk/resources/file/a/b'))
})

test('an unchanged export writes nothing: the revision of the key stays', async () => {
  const w = new EtcdWorld({ hostname: 'hr', endpoints: [etcd.clientUrl], log: silentLogger })
  try {
    await w.resExport([res('one', '1'), res('two', '2')])
    const rev = async (name: string): Promise<number> =>
      JSON.parse(await etcd.ctl('get', '-w', 'json', `/_mgmt/exported/hr/resources/file/${name}`)).kvs[0]
        .mod_revision
    const before = await rev('one')
    assert.equal(await w.resExport([res('two', '2'), res('one', '1')]), false)
    assert.equal(await w.resExport([res('one', '1'), res('two', 'changed')]), true)
    assert.equal(await rev('one'), before)
    assert.equal(await w.resExport([res('two', 'changed')]), true)
    assert.deepEqual(await etcd.keys('/_mgmt/exported/hr/'), ['/_mgmt/exported/hr/resources/file/two'])
  } finally {
    await w.close()
  }
})

test('etcd unreachable at start: the world waits, saying for what, and is ready once etcd is', async () => {
  const log = memoryLogger('info')
  const late = await startEtcd()
  await late.kill()
  const w = new EtcdWorld({ hostname: 'hw', endpoints: [late.clientUrl], log })
  try {
    const ready = w.ready()
    // Wait for the log line, then bring etcd up.
    while (!log.lines.some(l => l.startsWith(`waiting for etcd at ${late.clientUrl}`)))
      await new Promise(r => setTimeout(r, 20))
    await late.restart()
    await ready
    assert.ok(log.lines.includes(`reached etcd at ${late.clientUrl}`), log.lines.join('\n'))
    assert.ok(await late.get('/_mgmt/hosts/hw'))
  } finally {
    await w.close()
    await late.cleanup()
  }
})

test('etcd lost and back: watches wake, an export made meanwhile is written, the host registers again', async () => {
  const log = memoryLogger('info')
  const lost = await startEtcd()
  const w = new EtcdWorld({ hostname: 'hf', endpoints: [lost.clientUrl], log, leaseTtl: 1 })
  const other = new EtcdWorld({ hostname: 'hg', endpoints: [lost.clientUrl], log: silentLogger })
  const ac = new AbortController()
  try {
    await w.resExport([res('before', 'b')])
    const calls = new Calls()
    await other.resWatch(ac.signal, calls.fn)
    await lost.kill()
    // While etcd is down the export cannot be written; it is not lost.
    await assert.rejects(w.resExport([res('before', 'b'), res('during', 'd')]))
    // Down for longer than the lease: the registration expires with it.
    await new Promise(r => setTimeout(r, 2500))
    await lost.restart()
    await calls.until(
      async () => (await other.resCollect({ host: 'hf' })).map(r => r.name).join() === 'before,during',
      'the export made during the outage',
    )
    await calls.until(async () => (await other.convergedGet()).has('hf'), 'hf registered again', 15_000)
    assert.match(log.lines.join('\n'), /lost etcd/)
    assert.match(log.lines.join('\n'), /etcd is back/)
  } finally {
    ac.abort()
    await other.close()
    await w.close()
    await lost.cleanup()
  }
})

test('close() finishes while etcd does not answer: a stopped server, or a tunnel half gone', async () => {
  const stopped = await startEtcd()
  const w = new EtcdWorld({ hostname: 'hz', endpoints: [stopped.clientUrl], log: silentLogger, leaseTtl: 3 })
  const watching = new AbortController()
  try {
    await w.resExport([res('z', 'z')])
    void w.resWatch(watching.signal, () => {})
    await w.setConverged(true)
    // Stopped, the server keeps its connections open and answers nothing.
    process.kill(stopped.pid!, 'SIGSTOP')
    const closed = await Promise.race([
      w.close().then(() => 'closed'),
      new Promise(resolve => setTimeout(() => resolve('still closing after 15 s'), 15_000).unref()),
    ])
    assert.equal(closed, 'closed')
  } finally {
    watching.abort()
    if (stopped.pid) process.kill(stopped.pid, 'SIGCONT')
    await stopped.cleanup()
  }
})

test('exports beyond what one transaction of etcd takes are all written, to an etcd of its defaults', async () => {
  // A cluster of the user's takes 128 keys and 1.5 MiB a transaction unless told otherwise.
  const plain = await startEtcd(ETCD_DEFAULT_LIMITS)
  const w = new EtcdWorld({ hostname: 'hx', endpoints: [plain.clientUrl], log: silentLogger })
  try {
    const many = Array.from({ length: 300 }, (_, i) => res(`f${i}`, String(i)))
    // Two of 1 MiB each: too large to share a request.
    const big = [res('big1', 'x'.repeat(1 << 20)), res('big2', 'y'.repeat(1 << 20))]
    assert.equal(await w.resExport([...many, ...big]), true)
    const keys = await plain.keys('/_mgmt/exported/hx/')
    assert.equal(keys.length, 302)
    assert.equal(
      JSON.parse((await plain.get('/_mgmt/exported/hx/resources/file/big2'))!).params.content.length,
      1 << 20,
    )
    // And all taken back but one.
    assert.equal(await w.resExport([res('f7', '7')]), true)
    assert.deepEqual(await plain.keys('/_mgmt/exported/hx/'), ['/_mgmt/exported/hx/resources/file/f7'])
  } finally {
    await w.close()
    await plain.cleanup()
  }
})

test('a deploy or a value larger than etcd takes is refused in words, with the sizes', async () => {
  const plain = await startEtcd(ETCD_DEFAULT_LIMITS)
  const w = new EtcdWorld({
    hostname: 'hd',
    endpoints: [plain.clientUrl],
    log: silentLogger,
    register: false,
  })
  try {
    const files = {
      'g.yaml': { data: 'graph: g\nresources: {}\n', mode: 0o644 },
      'big.txt': { data: 'z'.repeat(3 << 20), mode: 0o644 },
    }
    await assert.rejects(
      w.deployAdd({ frontend: 'yaml', main: 'g.yaml', files, time: new Date().toISOString() }),
      {
        message:
          /^etcd refused a request of \d+ bytes: it takes at most 2097152 \(raise its --max-request-bytes, or send less\)$/,
      },
    )
    assert.deepEqual(await plain.keys('/_mgmt/deploy'), [])
    // A kv resource's value, the same way.
    await assert.rejects(w.strSet('big', 'v'.repeat(3 << 20)), {
      message: /^etcd refused a request of \d+ bytes/,
    })
  } finally {
    await w.close()
    await plain.cleanup()
  }
})

test('a stored value that is not what it should be is refused with its problem, never used in part', async () => {
  const log = memoryLogger('info')
  const w = new EtcdWorld({ hostname: 'hv', endpoints: [etcd.clientUrl], log, register: false })
  try {
    // Another program's value among the exports: skipped, said once; the others are collected.
    await etcd.ctl('put', '/_mgmt/exported/hz/resources/file/bad', '{"kind":"file","name":"bad","to":"*"}')
    await etcd.ctl('put', '/_mgmt/exported/hz/resources/file/junk', 'not json')
    const other = new EtcdWorld({ hostname: 'hy', endpoints: [etcd.clientUrl], log: silentLogger })
    await other.resExport([res('good', 'g')])
    await other.close()
    for (let i = 0; i < 2; i++)
      assert.deepEqual(
        (await w.resCollect({ host: 'hy' })).map(r => r.name),
        ['good'],
      )
    assert.deepEqual(
      (await w.resCollect()).filter(r => r.host === 'hz'),
      [],
    )
    const said = log.lines.filter(l => l.includes('/resources/file/'))
    assert.deepEqual(said.sort(), [
      'warn: the export exported/hz/resources/file/bad in the world is not one: params: required: expected a mapping; it is not collected',
      'warn: the export exported/hz/resources/file/junk in the world is not one: not JSON; it is not collected',
    ])
    // A deploy whose number would name a directory outside the prefix.
    await etcd.ctl('put', '/_mgmt/deploy/latest', '41')
    const bad = { id: '../../../tmp/x', frontend: 'yaml', main: 'g.yaml', files: {}, time: '' }
    await etcd.ctl('put', '/_mgmt/deploy/41', JSON.stringify(bad))
    await assert.rejects(w.deployGet(), {
      message: 'deploy 41 in the world is not one: id: expected a number, got "../../../tmp/x"',
    })
    await etcd.ctl('put', '/_mgmt/deploy/41', JSON.stringify({ ...bad, id: 40 }))
    await assert.rejects(w.deployGet(), {
      message: 'deploy 41 in the world is not one: it says it is deploy 40',
    })
  } finally {
    await w.close()
    await etcd.ctl('del', '--prefix', '/_mgmt/deploy/')
    await etcd.ctl('del', '--prefix', '/_mgmt/exported/hz/')
  }
})
