/**
 * Clusters of real `mgmt` processes with their managed etcd servers (the original's
 * etcd-two-hosts, etcd-three-hosts and their reversed forms, etcd-conflicting-server): hosts join
 * and leave in either order, and every one exits 0 on ^C.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { type Running, runMgmt, startMgmt } from '../testing/cli.js'
import { startEtcd } from '../testing/etcd.js'
import { freeUrl } from '../testing/ports.js'
import { childrenOf, processStates } from '../testing/proc.js'
import { inTempDir } from '../testing/tempdir.js'
import { versionDecided } from '../world/etcd/cluster.js'

const running: Running[] = []
after(async () => {
  for (const m of running) await m.kill(2000)
})

interface Host {
  readonly name: string
  readonly m: Running
  readonly client: string
}

/** Starts `mgmt run empty` as host `name`; resolves once it runs (its world is ready). */
async function host(name: string, args: string[], opts: { server?: boolean } = {}): Promise<Host> {
  const client = await freeUrl()
  const urls = opts.server === false ? [] : ['--client-urls', client, '--server-urls', await freeUrl()]
  const m = await started(['--tmp-prefix', '--hostname', name, ...urls, ...args, 'empty'])
  return { name, m, client }
}

/** Starts `mgmt run ARGS`; resolves once it runs. */
async function started(args: string[], ms = 30_000): Promise<Running> {
  const m = startMgmt(['run', ...args])
  running.push(m)
  await m.waitFor(/running no local graph/, ms)
  return m
}

/** The arguments of h2 on a prefix that outlives its runs, joining `seed`; and its client URL. */
async function kept(prefix: string, seed: Host): Promise<{ args: string[]; client: string }> {
  const client = await freeUrl()
  const urls = ['--client-urls', client, '--server-urls', await freeUrl()]
  return { args: ['--prefix', prefix, '--hostname', 'h2', '--seeds', seed.client, ...urls, 'empty'], client }
}

/** SIGKILL, as a crash would; resolves once its etcd server, which goes with it, is gone too. */
async function killOutright(m: Running): Promise<void> {
  const server = childrenOf(m.child.pid!)
  assert.equal(server.length, 1, processStates(m.child.pid!))
  m.child.kill('SIGKILL')
  await m.exited
  await gone(server[0]!)
}

/** Resolves once the cluster at `url` has decided its version, which its leader does soon after it forms. */
async function decided(url: string): Promise<void> {
  const until = Date.now() + 20_000
  for (;;) {
    try {
      return await versionDecided([url], Date.now() + 1000)
    } catch (err) {
      if (Date.now() > until) throw err
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

/** ^C, and the exit code. */
async function interrupt(h: Host): Promise<number> {
  h.m.child.kill('SIGINT')
  return h.m.exited
}

/** etcdctl's output, asked of the cluster at `client`. */
async function etcdctl(client: string, args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process')
  return new Promise<string>((resolve, reject) =>
    execFile('etcdctl', [`--endpoints=${client}`, ...args], (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  )
}

/** The names of the cluster's members, as etcdctl lists them. */
async function members(client: string): Promise<string[]> {
  const out = await etcdctl(client, ['member', 'list', '-w', 'json'])
  return (JSON.parse(out).members as { name: string }[]).map(m => m.name).sort()
}

/** Resolves once `pid` is gone (a process that is not ours: no exit event to wait for). */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!existsSync(`/proc/${pid}`)) return
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error(`pid ${pid} still there after 10 s`)
}

async function cluster(n: number): Promise<Host[]> {
  const first = await host('h1', [])
  const hosts = [first]
  for (let i = 2; i <= n; i++) hosts.push(await host(`h${i}`, ['--seeds', first.client]))
  assert.deepEqual(
    await members(first.client),
    hosts.map(h => h.name),
  )
  return hosts
}

/** Leaves one host at a time; the others keep a working cluster. */
async function leave(order: Host[]): Promise<void> {
  for (const [i, h] of order.entries()) {
    assert.equal(await interrupt(h), 0, h.m.output())
    const rest = order.slice(i + 1)
    if (rest.length) assert.deepEqual(await members(rest[0]!.client), rest.map(r => r.name).sort())
  }
  for (const h of order) assert.doesNotMatch(h.m.output(), /could not leave|error/i, h.m.output())
}

test('two hosts: the first one leaves first, then the other', async () => {
  const [h1, h2] = await cluster(2)
  await leave([h1!, h2!])
})

test('two hosts: the one that joined leaves first', async () => {
  const [h1, h2] = await cluster(2)
  await leave([h2!, h1!])
})

test('a member killed outright comes back from its data, and a cluster of two has its quorum again', () =>
  inTempDir('cluster', async dir => {
    const h1 = await host('h1', [])
    const { args, client } = await kept(join(dir, 'h2'), h1)
    // Killed, its etcd server goes with it: the cluster's two members have no quorum left.
    await killOutright(await started(args))
    // Started again on its data, it does not wait for the other member, which waits for it.
    const again = await started(args)
    assert.match(again.output(), /rejoining the cluster as member h2, from its data/)
    // Its previous run's registration is its own (the lease kept in the prefix): revoked, not waited for.
    assert.match(again.output(), /revoked the registration of this host's previous run \(lease \d+\)/)
    assert.doesNotMatch(again.output(), /still registered/)
    assert.deepEqual(await members(h1.client), ['h1', 'h2'])
    await leave([{ name: 'h2', m: again, client }, h1])
  }))

test('a member whose data was lost is removed as stale and joins anew; a cluster of three keeps working', () =>
  inTempDir('cluster', async dir => {
    const h1 = await host('h1', [])
    const { args, client } = await kept(join(dir, 'h2'), h1)
    const first = await started(args)
    const h3 = await host('h3', ['--seeds', h1.client])
    await killOutright(first)
    // Its disk replaced: nothing of its prefix is left.
    await rm(join(dir, 'h2'), { recursive: true, force: true })
    const again = await started(args, 40_000)
    assert.match(again.output(), /removing the stale member h2 \(its data is gone\)/)
    assert.match(again.output(), /joining the cluster as member h2 \(3 members\)/)
    assert.deepEqual(await members(h1.client), ['h1', 'h2', 'h3'])
    await leave([{ name: 'h2', m: again, client }, h3, h1])
  }))

test('a host killed between its MemberAdd and its server start completes the join when started again', async () => {
  const h1 = await host('h1', [])
  const client = await freeUrl()
  const server = await freeUrl()
  // What such a host leaves: a member added at its peer URL that never started, and a cluster of
  // two without its quorum. Its join added it only once the cluster had decided its version (which
  // needs the quorum that the add takes away), and so does this.
  await decided(h1.client)
  await etcdctl(h1.client, ['member', 'add', 'h2', `--peer-urls=${server}`])
  const h2 = await host('h2', ['--seeds', h1.client, '--client-urls', client, '--server-urls', server], {
    server: false,
  })
  assert.match(h2.m.output(), /completing the join as member h2: it was added, and its server never started/)
  assert.deepEqual(await members(h1.client), ['h1', 'h2'])
  await leave([{ ...h2, client }, h1])
})

test("a host whose data is of another cluster joins the seeds' cluster anew", () =>
  inTempDir('cluster', async dir => {
    const urls = ['--client-urls', await freeUrl(), '--server-urls', await freeUrl()]
    const prefix = ['--prefix', join(dir, 'h2'), '--hostname', 'h2', ...urls]
    // h2 alone forms a cluster of its own, and keeps its data when it stops, as its last member.
    const alone = await started([...prefix, 'empty'])
    alone.child.kill('SIGINT')
    assert.equal(await alone.exited, 0, alone.output())
    const h1 = await host('h1', [])
    const joined = await started([...prefix, '--seeds', h1.client, 'empty'])
    assert.match(joined.output(), /h2 is no member of the cluster at .* \(any more\): joining anew/)
    assert.deepEqual(await members(h1.client), ['h1', 'h2'])
    await leave([{ name: 'h2', m: joined, client: urls[1]! }, h1])
  }))

test('a managed etcd server killed under a running host is started again, and the world comes back', async () => {
  const h1 = await host('h1', [])
  const [server] = childrenOf(h1.m.child.pid!)
  process.kill(server!, 'SIGKILL')
  await h1.m.waitFor(/etcd is back/, 20_000)
  assert.match(
    h1.m.output(),
    /the etcd server exited \(SIGKILL\)[^\n]*\n.*starting the etcd server again in 1 s/,
  )
  const [again] = childrenOf(h1.m.child.pid!)
  assert.notEqual(again, server)
  assert.deepEqual(await members(h1.client), ['h1'])
  assert.equal(await interrupt(h1), 0, h1.m.output())
  await gone(again!)
})

test('three hosts leave in the order they joined, and in reverse', async () => {
  const a = await cluster(3)
  await leave(a)
  const b = await cluster(3)
  await leave([...b].reverse())
})

test('hosts joining at the same moment become members one after the other', async () => {
  const first = await host('h1', [])
  const joined = await Promise.all(['h2', 'h3', 'h4'].map(n => host(n, ['--seeds', first.client])))
  assert.deepEqual(await members(first.client), ['h1', 'h2', 'h3', 'h4'])
  await leave([...joined, first])
})

test('a second server on the same ports exits 1 and says why; the first is unharmed', async () => {
  const client = await freeUrl()
  const server = await freeUrl()
  const urls = ['--client-urls', client, '--server-urls', server]
  const first = startMgmt(['run', '--tmp-prefix', '--hostname', 'one', ...urls, 'empty'])
  running.push(first)
  await first.waitFor(/running no local graph/, 30_000)
  const second = await runMgmt(['run', '--tmp-prefix', '--hostname', 'two', ...urls, 'empty'])
  assert.equal(second.code, 1, second.output)
  assert.match(second.output, /the managed etcd server failed: .*address already in use/)
  assert.doesNotMatch(second.output, /\n\s+at /, 'no stack trace')
  first.child.kill('SIGINT')
  assert.equal(await first.exited, 0, first.output())
})

test('past the ideal cluster size, or with --no-server, a host joins as a client', async () => {
  const h1 = await host('h1', [])
  const h2 = await host('h2', ['--seeds', h1.client, '--ideal-cluster-size', '1'])
  const h3 = await host('h3', ['--seeds', h1.client, '--no-server'], { server: false })
  assert.match(h2.m.output(), /the cluster has 1 members \(ideal size 1\): joining as a client/)
  assert.deepEqual(await members(h1.client), ['h1'])
  for (const h of [h2, h3, h1]) assert.equal(await interrupt(h), 0, h.m.output())
})

test('without the etcd binary: a clear error naming the Debian package, exit 1', async () => {
  const r = await runMgmt([
    'run',
    '--tmp-prefix',
    '--client-urls',
    await freeUrl(),
    '--server-urls',
    await freeUrl(),
    '--etcd-binary',
    '/nonexistent/etcd',
    'empty',
  ])
  assert.equal(r.code, 1, r.output)
  assert.match(r.output, /\/nonexistent\/etcd.*not installed \(Debian: apt-get install etcd-server\)/)
})

test('cluster flags that do not go together are usage errors', async () => {
  const r = await runMgmt(['run', '--tmp-prefix', '--no-server', '--client-urls', await freeUrl(), 'empty'])
  assert.equal(r.code, 2)
  assert.match(r.output, /--no-server needs --seeds/)
  const u = await runMgmt(['run', '--tmp-prefix', '--seeds', 'localhost', 'empty'])
  assert.equal(u.code, 2)
  assert.match(u.output, /--seeds expects URLs like http:\/\/127\.0\.0\.1:2379, not `localhost`/)
})

test('--converged-timeout on a cluster exits once every live host has been converged that long', async () => {
  const etcd = await startEtcd()
  try {
    const seeds = ['--seeds', etcd.clientUrl, '--no-server']
    // b never converges on its own (no timeout): a waits for it, until it leaves.
    const b = startMgmt(['run', '--tmp-prefix', '--hostname', 'b', ...seeds, 'empty'])
    running.push(b)
    await b.waitFor(/running no local graph/, 30_000)
    const a = startMgmt([
      'run',
      '--tmp-prefix',
      '--hostname',
      'a',
      ...seeds,
      '--converged-timeout',
      '1',
      'empty',
    ])
    running.push(a)
    await a.waitFor(/converged/, 30_000)
    assert.equal(await etcd.get('/_mgmt/converged/b'), 'false')
    b.child.kill('SIGINT')
    assert.equal(await b.exited, 0, b.output())
    assert.equal(await a.exited, 0, a.output())
    assert.match(a.output(), /converged: 0 resources, 0 changed/)
    // Two hosts that both converge: the later one waits for the earlier, then both are done.
    const c = startMgmt([
      'run',
      '--tmp-prefix',
      '--hostname',
      'c',
      ...seeds,
      '--converged-timeout',
      // Long enough for d to start and join meanwhile, even on a loaded machine: else c converges
      // and leaves alone, before d is there to be waited for.
      '15',
      'empty',
    ])
    running.push(c)
    await c.waitFor(/running no local graph/, 30_000)
    const d = startMgmt([
      'run',
      '--tmp-prefix',
      '--hostname',
      'd',
      ...seeds,
      '--converged-timeout',
      '1',
      'empty',
    ])
    running.push(d)
    assert.equal(await c.exited, 0, c.output())
    assert.equal(await d.exited, 0, d.output())
    // Whichever converged last saw both.
    assert.match(c.output() + d.output(), /the cluster converged: 2 hosts/)
  } finally {
    await etcd.cleanup()
  }
})

test('^C ends a run whose etcd stopped answering: nothing left open keeps the process', async () => {
  const etcd = await startEtcd()
  try {
    const m = startMgmt([
      'run',
      '--tmp-prefix',
      '--hostname',
      'e',
      '--seeds',
      etcd.clientUrl,
      '--no-server',
      'empty',
    ])
    running.push(m)
    await m.waitFor(/running no local graph/, 30_000)
    // Stopped, the server keeps its connections open and answers nothing: the world's watch
    // stream stays open on the client's side, whatever closing the client does.
    process.kill(etcd.pid!, 'SIGSTOP')
    try {
      m.child.kill('SIGINT')
      const exited = await Promise.race([
        m.exited.then(code => `exit ${code}`),
        new Promise(resolve => setTimeout(() => resolve('still running after 20 s'), 20_000).unref()),
      ])
      assert.equal(exited, 'exit 0', m.output())
    } finally {
      process.kill(etcd.pid!, 'SIGCONT')
    }
  } finally {
    await etcd.cleanup()
  }
})
