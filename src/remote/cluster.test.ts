/**
 * Remote hosts joined to the etcd world, end to end: the initiator's managed etcd, each host a
 * client of it through its tunnel, exports exchanged (the original's remote2a/remote2b example), the
 * whole cluster's convergence, a hierarchy whose far host's exports reach the initiator, and
 * `--detach`: the hosts left as an etcd cluster of their own. Each host is a network namespace
 * with a real sshd (src/testing/remotelab.ts).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { whenContent } from '../testing/fswait.js'
import { createRemoteLab, type RemoteLab } from '../testing/remotelab.js'

const run = promisify(execFile)
const seed = fileURLToPath(new URL('../../../../shared/mgmt-yaml/examples/', import.meta.url))

let lab: RemoteLab
let graphs: string
before(async () => {
  lab = await createRemoteLab('cluster', [
    { name: 'h1', bridges: [0, 1] },
    { name: 'h2', bridges: [0] },
    { name: 'h3', bridges: [0], noNode: true },
    { name: 'c', bridges: [1] },
  ])
  graphs = join(lab.dir, 'graphs')
  await mkdir(graphs)
})
after(() => lab?.cleanup())

/** Where a test's graphs write on a host (each test its own: exports stay in etcd, see below). */
const out = (host: string, tag: string): string => join(lab.hosts[host]!.dir, 'out', tag)
/**
 * The initiator's flags for a test: a prefix of its own (its etcd's data: exported resources stay
 * there when their hosts stop, as in any cluster) and the keys.
 */
const base = (tag: string): string[] => [
  '--prefix',
  join(lab.dir, 'init', tag),
  '--ssh-key',
  lab.clientKey.file,
  '--known-hosts',
  lab.knownHosts,
]
const ip = (host: string, bridge = 0): string => lab.hosts[host]!.addr(bridge)

/** The seed's remote2a/remote2b for a host of the lab: its /tmp/ is the host's `out/`, its URL the host's. */
async function seedGraph(name: 'remote2a' | 'remote2b', host: string, tag: string): Promise<string> {
  await mkdir(out(host, tag), { recursive: true })
  const text = (await readFile(join(seed, `${name}.yaml`), 'utf8'))
    .replaceAll('"/tmp/', `"${out(host, tag)}/`)
    .replace(/^remote: .*$/m, `remote: ssh://root@${ip(host)}:22`)
  const file = join(graphs, `${name}-${tag}.yaml`)
  await writeFile(file, text)
  return file
}

/** What each host holds at the end of the seed's example. */
const seedFiles = (own: 'a' | 'b'): Record<string, string> => ({
  [`file1${own}`]: `i am file1${own}\n`,
  file2a: 'i am file2a, exported from host a\n',
  file2b: 'i am file2b, exported from host b\n',
})

async function holds(dir: string): Promise<Record<string, string>> {
  const got: Record<string, string> = {}
  for (const n of (await readdir(dir)).sort()) got[n] = await readFile(join(dir, n), 'utf8')
  return got
}

/** The PIDs of mgmt (the command, or the bundle) and of managed etcd servers in a host's namespace. */
async function ours(host: RemoteLab['init']): Promise<number[]> {
  const found = await Promise.all(
    ['cli/main.js', 'mgmt.mjs', '--initial-cluster-token=mgmt'].map(n => lab.lab.processes(host, n)),
  )
  return found.flat()
}

/** Waits until nothing of ours runs in a host's namespace (another namespace's exits give no event: looked at every 50 ms). */
async function untilGone(host: RemoteLab['init'], ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while ((await ours(host)).length && Date.now() < deadline) await new Promise(r => setTimeout(r, 50))
}

test("the seed's remote2a/remote2b: two hosts exchange exports through the initiator's etcd; --converged-timeout 5 ends everything", async () => {
  const a = await seedGraph('remote2a', 'h1', 'seed')
  const b = await seedGraph('remote2b', 'h2', 'seed')
  const m = lab.mgmt([
    'run',
    ...base('seed'),
    '--converged-timeout',
    '5',
    '--remote',
    a,
    '--remote',
    b,
    'empty',
  ])
  assert.equal(await m.exited, 0, m.output())
  assert.deepEqual(await holds(out('h1', 'seed')), seedFiles('a'))
  assert.deepEqual(await holds(out('h2', 'seed')), seedFiles('b'))
  assert.match(
    m.output(),
    new RegExp(`${ip('h1')}: tunnel: port \\d+ on its loopback leads to 127\\.0\\.0\\.1:2379 here`),
  )
  assert.match(m.output(), /the cluster converged: 3 hosts/)
  for (const h of [lab.init, lab.hosts.h1!, lab.hosts.h2!])
    assert.deepEqual(await ours(h), [], `no mgmt or etcd left in ${h.ns}`)
})

test("hierarchy: a host that only the middle host reaches tunnels through it; its exports reach the initiator's graph", async () => {
  const child = join(graphs, 'far.yaml')
  await writeFile(
    child,
    [
      'graph: far',
      `remote: root@${ip('c', 1)}`,
      'hostname: far',
      'resources:',
      '  file:',
      '  - name: "@@from-far"',
      '    path: /nowhere/from-far',
      '    state: exists',
      '    content: "exported by the far host\\n"',
      '',
    ].join('\n'),
  )
  const middle = join(graphs, 'middle.yaml')
  await writeFile(
    middle,
    [
      'graph: middle',
      `remote: root@${ip('h1')}`,
      'hostname: middle',
      'remotes: [far.yaml]',
      'resources:',
      '  file:',
      '  - name: mid',
      `    path: ${join(lab.hosts.h1!.dir, 'out', 'mid')}`,
      '    state: exists',
      '    content: "middle\\n"',
      '',
    ].join('\n'),
  )
  const initOut = join(lab.dir, 'init', 'out')
  await mkdir(initOut)
  const local = join(graphs, 'initiator.yaml')
  await writeFile(local, `graph: initiator\ncollect:\n- kind: file\n  pattern: ${initOut}/\n`)
  const m = lab.mgmt(['run', ...base('tree'), '--converged-timeout', '1', '--remote', middle, 'yaml', local])
  assert.equal(await m.exited, 0, m.output())
  assert.equal(await readFile(join(initOut, 'from-far'), 'utf8'), 'exported by the far host\n')
  // far's tunnel leads to middle's own tunnel to the initiator's etcd.
  assert.match(m.output(), /middle: far: tunnel: port \d+ on its loopback leads to 127\.0\.0\.1:\d+ here/)
  assert.match(m.output(), /the cluster converged: 3 hosts/)
  for (const h of [lab.hosts.h1!, lab.hosts.c!]) assert.deepEqual(await ours(h), [])
})

test('--detach: the hosts stay as an etcd cluster of their own and keep exchanging exports after the initiator has gone', async () => {
  // h3 has neither Node.js nor etcd on its PATH: both are copied along.
  const a = await seedGraph('remote2a', 'h1', 'detach')
  const b = await seedGraph('remote2b', 'h3', 'detach')
  const m = lab.mgmt([
    'run',
    ...base('detach'),
    '--detach',
    '--converged-timeout',
    '1',
    '--remote',
    a,
    '--remote',
    b,
    'empty',
  ])
  const pids: number[] = []
  try {
    assert.equal(await m.exited, 0, m.output())
    assert.deepEqual(await holds(out('h1', 'detach')), seedFiles('a'))
    assert.deepEqual(await holds(out('h3', 'detach')), seedFiles('b'))
    assert.match(m.output(), /copied \d+ program bytes, [1-9]\d* Node\.js bytes, [1-9]\d* etcd bytes/)
    assert.match(m.output(), /etcd: left the cluster \(2 members remain\)/)
    assert.deepEqual(await ours(lab.init), [], 'the initiator and its etcd are gone')
    for (const h of ['h1', 'h3']) {
      const [pid] = (await lab.lab.processes(lab.hosts[h]!, 'mgmt.mjs')).map(Number)
      assert.ok(pid, `mgmt still runs on ${h}`)
      assert.match(m.output(), new RegExp(`${ip(h)}: detached: mgmt keeps running there as pid ${pid}`))
      pids.push(pid)
    }
    // The initiator left: the members are the two hosts, on their own addresses.
    const { stdout } = await run('ip', [
      'netns',
      'exec',
      lab.hosts.h1!.ns,
      'etcdctl',
      `--endpoints=http://${ip('h1')}:2379`,
      'member',
      'list',
    ])
    const members = stdout.trim().split('\n').sort()
    assert.equal(members.length, 2, stdout)
    assert.match(members.join('\n'), new RegExp(`${ip('h1')}, http://${ip('h1')}:2380`))
    assert.match(members.join('\n'), new RegExp(`${ip('h3')}, http://${ip('h3')}:2380`))
    // An exported resource changed on h1 (its copy of the graph, saved as an editor does) reaches h3.
    const copy = join(lab.hosts.h1!.dir, 'prefix', 'remote', `run-${ip('h1')}`, 'remote2a-detach.yaml')
    const text = (await readFile(copy, 'utf8')).replace('exported from host a', 'changed on host a')
    await writeFile(`${copy}.new`, text)
    await rename(`${copy}.new`, copy)
    await whenContent(join(out('h3', 'detach'), 'file2a'), 'i am file2a, changed on host a\n', 30_000)
    // A new run for h1 leaves the detached one alone, and says how to stop it.
    const again = lab.mgmt(['run', ...base('again'), '--converged-timeout', '0', '--remote', a, 'empty'])
    assert.equal(await again.exited, 1, again.output())
    assert.match(
      again.output(),
      new RegExp(
        `a detached run \\(--detach\\) of this host is still going as pid ${pids[0]}: stop it first with kill -INT ${pids[0]}`,
      ),
    )
  } finally {
    await m.kill()
    // Stopped as the documentation says: INT to the pid it gave.
    for (const pid of pids) process.kill(pid, 'SIGINT')
  }
  for (const h of ['h1', 'h3']) {
    await untilGone(lab.hosts[h]!)
    assert.deepEqual(await ours(lab.hosts[h]!), [], `the detached run on ${h} stopped, and its etcd`)
  }
})
