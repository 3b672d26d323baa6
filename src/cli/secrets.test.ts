/**
 * A password never reaches a log line: not in `--noop` diffs, not in what value and print say, not
 * in send/recv lines, `--debug` or `--log-format json`, whichever resource it travels through.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt } from '../testing/cli.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-7-secrets-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** password → file.content and → value.any; value.any → print.msg; the file notifies an exec. */
const graph = (root: string): string => `graph: secrets
resources:
  password:
  - name: pw
    length: 32
  file:
  - name: secret
    path: ${root}/secret
    state: exists
    mode: "0600"
  value:
  - name: kept
  print:
  - name: shown
  exec:
  - name: consumer
    cmd: "wc -c ${root}/secret"
    shell: /bin/sh
    refreshonly: true
edges:
- {name: e1, from: {kind: password, name: pw}, to: {kind: file, name: secret}, send: password, recv: content}
- {name: e2, from: {kind: password, name: pw}, to: {kind: value, name: kept}, send: password, recv: any}
- {name: e3, from: {kind: value, name: kept}, to: {kind: print, name: shown}, send: any, recv: msg}
- {name: e4, from: {kind: file, name: secret}, to: {kind: exec, name: consumer}, notify: true}
- {name: e5, from: {kind: exec, name: consumer}, to: {kind: value, name: kept}}
`

test('a password sent into a file, a value and a print is never printed, whatever the log format', async () => {
  const root = await mkdtemp(join(dir, 'run-'))
  const file = join(root, 'g.yaml')
  await writeFile(file, graph(root))
  const prefix = join(root, 'state')
  const args = (...extra: string[]) => [
    'run',
    '--prefix',
    prefix,
    '--no-watch',
    '--converged-timeout',
    '0',
    ...extra,
  ]

  // A dry run on a fresh state: nothing is known yet, and it says so; exit 0.
  const dry = await runMgmt([...args('--noop'), 'yaml', file])
  assert.equal(dry.code, 0, dry.output)
  assert.match(
    dry.output,
    /file\[secret\]: would receive password\[pw\]\.password -> file\[secret\]\.content/,
  )
  assert.match(dry.output, /file\[secret\]: would create/)

  const outputs: string[] = []
  for (const extra of [[], ['--debug'], ['--log-format', 'json', '--debug']]) {
    await rm(join(root, 'secret'), { force: true })
    const r = await runMgmt([...args(...extra), 'yaml', file])
    assert.equal(r.code, 0, r.output)
    outputs.push(r.output)
  }
  const secret = await readFile(join(root, 'secret'), 'utf8')
  assert.match(secret, /^[A-Za-z0-9]{32}$/)
  for (const out of outputs) {
    assert.ok(!out.includes(secret), `the password was printed:\n${out}`)
    assert.match(out, /SendRecv: password\[pw\]\.password -> file\[secret\]\.content \(sensitive\)/)
  }
  assert.match(outputs[0]!, /print\[shown\]: \(sensitive content changed\)/)
  assert.match(outputs[0]!, /value\[kept\]: keeps a new value: \(sensitive content changed\)/)

  // Drift, then a dry run: the diff would show the password; it says that sensitive content changed.
  await writeFile(join(root, 'secret'), 'tampered\n')
  const diff = await runMgmt([...args('--noop'), 'yaml', file])
  assert.equal(diff.code, 0, diff.output)
  assert.ok(!diff.output.includes(secret), diff.output)
  assert.doesNotMatch(diff.output, /tampered/)
  assert.match(diff.output, /file\[secret\]: would update content \(sensitive content changed\)/)
})
