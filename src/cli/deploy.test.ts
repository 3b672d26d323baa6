/** `mgmt deploy` and hosts that run the newest deploy: real processes, a real etcd. */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type Running, runMgmt, startMgmt } from '../testing/cli.js'
import { startEtcd, type TestEtcd } from '../testing/etcd.js'
import { whenContent } from '../testing/fswait.js'

let etcd: TestEtcd
let dir: string
const running: Running[] = []
before(async () => {
  etcd = await startEtcd()
  dir = await mkdtemp(join(tmpdir(), 'mgmt-9-deploy-'))
  await mkdir(join(dir, 'out'))
})
after(async () => {
  for (const m of running) await m.kill(2000)
  await etcd?.cleanup()
  await rm(dir, { recursive: true, force: true })
})

/** A graph directory: the graph names `files/motd` by a relative source. */
async function graphDir(name: string, msg: string, motd: string): Promise<string> {
  const g = join(dir, name)
  await mkdir(join(g, 'files'), { recursive: true })
  await writeFile(join(g, 'files', 'motd'), motd)
  await writeFile(
    join(g, 'graph.yaml'),
    `graph: ${name}
resources:
  file:
  - name: motd
    path: ${dir}/out/motd
    source: files/motd
    state: exists
  print:
  - name: p
    msg: ${msg}
`,
  )
  return join(g, 'graph.yaml')
}

test('a deploy reaches two running hosts, with its files; a second deploy replaces it live', async () => {
  const seeds = ['--seeds', etcd.clientUrl]
  // Two hosts on one machine: h2 gets a private mount namespace whose `out` directory is a tmpfs of
  // its own, as another machine would have its own disk (the graph's file is the same path on both).
  const own = [
    'unshare',
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    'mount -t tmpfs none "$0" && exec "$@"',
  ]
  const hosts = ['h1', 'h2'].map(h => {
    const args = ['run', '--tmp-prefix', '--hostname', h, ...seeds, '--no-server', 'empty']
    const m = startMgmt(args, h === 'h2' ? { prefix: [...own, join(dir, 'out')] } : {})
    running.push(m)
    return m
  })
  for (const m of hosts) await m.waitFor(/running no local graph/, 30_000)

  const first = await runMgmt(['deploy', ...seeds, 'yaml', await graphDir('one', 'deploy one', 'first\n')])
  assert.equal(first.code, 0, first.output)
  assert.match(first.output, /deploy 1 stored: graph `one`, 2 files/)
  for (const m of hosts) await m.waitFor(/print\[p\]: deploy one/, 15_000)
  await whenContent(join(dir, 'out', 'motd'), 'first\n')

  const second = await runMgmt(['deploy', ...seeds, 'yaml', await graphDir('two', 'deploy two', 'second\n')])
  assert.equal(second.code, 0, second.output)
  for (const m of hosts) await m.waitFor(/running deploy 2 \(graph `two`/, 15_000)
  for (const m of hosts) await m.waitFor(/print\[p\]: deploy two/, 15_000)
  await whenContent(join(dir, 'out', 'motd'), 'second\n')
  // A graph swap, as for a saved file.
  for (const m of hosts) assert.match(m.output(), /graph swap: 0 kept, 2 changed \(.*\), 0 added, 0 removed/)
  assert.equal(await etcd.get('/_mgmt/deploy/latest'), '2')

  for (const m of hosts) {
    m.child.kill('SIGINT')
    assert.equal(await m.exited, 0, m.output())
  }
})

test('a graph that does not load is refused with its located error, and nothing is stored', async () => {
  const bad = join(dir, 'bad.yaml')
  await writeFile(bad, 'graph: bad\nresources:\n  print:\n  - name: p\n    msg: [1, 2]\n')
  const before = await etcd.get('/_mgmt/deploy/latest')
  const r = await runMgmt(['deploy', '--seeds', etcd.clientUrl, 'yaml', bad])
  assert.equal(r.code, 2, r.output)
  assert.ok(r.output.includes(`${bad}:5:10: resources.print[0].msg: `), r.output)
  const missing = join(dir, 'missing.yaml')
  await writeFile(
    missing,
    'graph: m\nresources:\n  file:\n  - {name: f, path: /tmp/x, source: nowhere/f, state: exists}\n',
  )
  const m = await runMgmt(['deploy', '--seeds', etcd.clientUrl, 'yaml', missing])
  assert.equal(m.code, 1, m.output)
  assert.match(m.output, /cannot deploy nowhere\/f: ENOENT/)
  assert.equal(await etcd.get('/_mgmt/deploy/latest'), before)
})
