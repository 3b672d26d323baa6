/**
 * Exported and collected resources across real hosts: the original's t3 (three hosts, the
 * `t3-a/b/c` graphs, relocated into a temporary directory), a live edit that the other hosts
 * follow, and the loss of etcd under a running cluster.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { clusterClient, type Running, startMgmt } from '../testing/cli.js'
import { startEtcd } from '../testing/etcd.js'
import { whenContent, whenInDir } from '../testing/fswait.js'
import { freeUrl } from '../testing/ports.js'

const originals = fileURLToPath(new URL('../../../../shared/mgmt-yaml/test-shell/', import.meta.url))

const running: Running[] = []
const dirs: string[] = []
after(async () => {
  for (const m of running) await m.kill(2000)
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const HOSTS = ['a', 'b', 'c'] as const
type H = (typeof HOSTS)[number]
const up = (h: H): string => h.toUpperCase()

/** The t3 graphs, their /tmp/mgmt/ moved to `root`; the host directories made (as the original test does). */
async function t3(root: string): Promise<Record<H, string>> {
  const files = {} as Record<H, string>
  for (const h of HOSTS) {
    await mkdir(join(root, `mgmt${up(h)}`), { recursive: true })
    const text = (await readFile(join(originals, `t3-${h}.yaml`), 'utf8')).replaceAll(
      '/tmp/mgmt/',
      `${root}/`,
    )
    files[h] = join(root, `t3-${h}.yaml`)
    await writeFile(files[h], text)
  }
  return files
}

/** What each host's directory holds in the end: its own files, and every host's exports. */
function expected(h: H, exported: Record<string, string>): Record<string, string> {
  return { [`f1${h}`]: 'i am f1\n', [`f2${h}`]: 'i am f2\n', ...exported }
}

const t3Exports: Record<string, string> = Object.fromEntries(
  HOSTS.flatMap(h => [
    [`f3${h}`, `i am f3, exported from host ${up(h)}\n`],
    [`f4${h}`, `i am f4, exported from host ${up(h)}\n`],
  ]),
)

/** Resolves once `dir` holds exactly these files with these contents. */
function whenFiles(dir: string, want: Record<string, string>, ms = 30_000): Promise<void> {
  return whenInDir(
    dir,
    async () => {
      const names = (await readdir(dir)).filter(n => !n.startsWith('.')).sort()
      if (names.join() !== Object.keys(want).sort().join()) return false
      for (const n of names) if ((await readFile(join(dir, n), 'utf8')) !== want[n]) return false
      return true
    },
    `${dir} holding ${Object.keys(want).sort().join(', ')}`,
    ms,
  )
}

/** ^C to each in turn (a member leaves the cluster before the next one goes); each exits 0. */
async function interruptAll(ms: Running[]): Promise<void> {
  for (const m of ms) {
    m.child.kill('SIGINT')
    assert.equal(await m.exited, 0, m.output())
  }
}

test("t3: each host has its own files and every host's exports, relocated; an edit on one host reaches the others", async () => {
  const root = await mkdtemp(join(tmpdir(), 'mgmt-9-t3-'))
  dirs.push(root)
  const graphs = await t3(root)
  const client = await freeUrl()
  const start = (h: H, args: string[]): Running => {
    const m = startMgmt(['run', '--tmp-prefix', '--hostname', h, ...args, 'yaml', graphs[h]])
    running.push(m)
    return m
  }
  // a serves the cluster; b and c join it as members, one after the other.
  const a = start('a', ['--client-urls', client, '--server-urls', await freeUrl()])
  await a.waitFor(/exported file\[file3a\]/, 30_000)
  const b = start('b', [
    '--seeds',
    client,
    '--client-urls',
    await freeUrl(),
    '--server-urls',
    await freeUrl(),
  ])
  await b.waitFor(/exported file\[file3b\]/, 30_000)
  const c = start('c', [
    '--seeds',
    client,
    '--client-urls',
    await freeUrl(),
    '--server-urls',
    await freeUrl(),
  ])
  for (const h of HOSTS) await whenFiles(join(root, `mgmt${up(h)}`), expected(h, t3Exports))

  // a edits its graph: one export changes, one is added; every host follows.
  const edited = (await readFile(graphs.a, 'utf8'))
    .replace('i am f3, exported from host A', 'i am f3, exported from host A, edited')
    .replace(
      'collect:',
      `  - name: "@@file5a"\n    path: "${root}/mgmtA/f5a"\n    content: "five\\n"\n    state: exists\ncollect:`,
    )
  await writeFile(graphs.a, edited)
  const now = { ...t3Exports, f3a: 'i am f3, exported from host A, edited\n', f5a: 'five\n' }
  for (const h of HOSTS) await whenFiles(join(root, `mgmt${up(h)}`), expected(h, now))
  await interruptAll([c, b, a])
})

test('etcd lost under a running three-host cluster: resources keep repairing, exports re-sync, nothing duplicated or lost', async () => {
  const root = await mkdtemp(join(tmpdir(), 'mgmt-9-fault-'))
  dirs.push(root)
  const graphs = await t3(root)
  const etcd = await startEtcd()
  try {
    const hosts = HOSTS.map(h => {
      const m = startMgmt(['run', ...clusterClient(h, etcd.clientUrl), 'yaml', graphs[h]])
      running.push(m)
      return m
    })
    for (const h of HOSTS) await whenFiles(join(root, `mgmt${up(h)}`), expected(h, t3Exports))

    await etcd.kill()
    for (const m of hosts) await m.waitFor(/lost etcd/, 15_000)
    // A managed file deleted during the outage is put back at once.
    await unlink(join(root, 'mgmtB', 'f1b'))
    await whenContent(join(root, 'mgmtB', 'f1b'), 'i am f1\n')
    // a's graph changes during the outage: its own part is applied; its export waits for etcd.
    await writeFile(
      graphs.a,
      (await readFile(graphs.a, 'utf8'))
        .replace('i am f2', 'i am f2, edited offline')
        .replace('exported from host A', 'exported from host A, while etcd was down'),
    )
    await whenContent(join(root, 'mgmtA', 'f2a'), 'i am f2, edited offline\n')

    await etcd.restart()
    const now = { ...t3Exports, f3a: 'i am f3, exported from host A, while etcd was down\n' }
    for (const h of HOSTS)
      await whenFiles(
        join(root, `mgmt${up(h)}`),
        h === 'a' ? { ...expected(h, now), f2a: 'i am f2, edited offline\n' } : expected(h, now),
      )
    // Exactly each host's exports, once; every host registered.
    assert.deepEqual(
      await etcd.keys('/_mgmt/exported/'),
      HOSTS.flatMap(h => [3, 4].map(n => `/_mgmt/exported/${h}/resources/file/file${n}${h}`)),
    )
    assert.deepEqual(
      await etcd.keys('/_mgmt/hosts/'),
      HOSTS.map(h => `/_mgmt/hosts/${h}`),
    )
    await interruptAll(hosts)
  } finally {
    await etcd.cleanup()
  }
})
