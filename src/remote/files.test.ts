import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { builtinRegistry } from '../resources/index.js'
import { isMgmtError } from '../util/errors.js'
import { flatten, loadRemoteFiles, travellingText } from './files.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-remotefiles-'))
})
after(() => rm(dir, { recursive: true, force: true }))

async function file(rel: string, text: string): Promise<string> {
  const path = join(dir, rel)
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, text)
  return path
}

const load = (files: string[]) => loadRemoteFiles(files, builtinRegistry(), {})

test('a tree of remote files: each host gets its file and its descendants, at the same relative places', async () => {
  const a = await file('hosts/a.yaml', 'graph: a\nremote: root@a\nremotes: [../kids/b.yaml]\n')
  await file('kids/b.yaml', 'graph: b\nremote: root@b\nhostname: bee\nremotes: [c/c.yaml]\n')
  await file('kids/c/c.yaml', 'graph: c\nremote: root@c\n')
  const [plan] = await load([a, a])
  assert.equal(plan!.remote.hostname, 'a')
  assert.deepEqual(
    plan!.files.map(f => f.rel),
    ['hosts/a.yaml', 'kids/b.yaml', 'kids/c/c.yaml'],
  )
  assert.deepEqual(
    plan!.children[0]!.files.map(f => f.rel),
    ['b.yaml', 'c/c.yaml'],
  )
  assert.deepEqual(
    flatten([plan!]).map(p => p.remote.hostname),
    ['a', 'bee', 'c'],
  )
})

test('a file without remote:, two files for one host, and a file listing itself are refused together', async () => {
  const x = await file('bad/x.yaml', 'graph: x\nremote: root@h1\nremotes: [y.yaml, z.yaml]\n')
  await file('bad/y.yaml', 'graph: y\nremote: root@h2\nhostname: h1\n')
  await file('bad/z.yaml', 'graph: z\nremote: root@h3\nremotes: [x.yaml]\n')
  const none = await file('bad/none.yaml', 'graph: none\n')
  await assert.rejects(load([x, none]), (e: Error) => {
    assert.ok(isMgmtError(e, 'ERR_REMOTE_FILES'))
    assert.deepEqual(e.details.problems, [
      `${join(dir, 'bad/y.yaml')} and ${x} both name the host \`h1\``,
      `${x} lists itself: ${x} -> ${join(dir, 'bad/z.yaml')} -> ${x}`,
      `${none}: no \`remote:\` key; a remote graph file names its host with remote: ssh://user@host`,
    ])
    return true
  })
  // An invalid graph is reported as such, with its location.
  const broken = await file(
    'bad/broken.yaml',
    'graph: b\nremote: root@h9\nresources:\n  file:\n  - name: f\n    path: 3\n',
  )
  await assert.rejects(
    load([broken]),
    (e: Error) => isMgmtError(e, 'ERR_YAML_INVALID') && /broken\.yaml:6:11/.test(e.message),
  )
})

test("travelling text: the host's own password is masked, keeping every position; children keep theirs", () => {
  const text = 'graph: g\nremote: "ssh://root:s3cret@h1:22"  # the host\nresources: {}\n'
  const own = travellingText(text, true).toString()
  assert.equal(own, 'graph: g\nremote: "ssh://root:******@h1:22"  # the host\nresources: {}\n')
  assert.equal(travellingText(text, false).toString(), text)
  const plain = 'graph: g\nremote: root:pw@h1\n'
  assert.equal(travellingText(plain, true).toString(), 'graph: g\nremote: "root:**@h1"\n')
  assert.equal(travellingText('graph: g\nremote: root@h1\n', true).toString(), 'graph: g\nremote: root@h1\n')
})
