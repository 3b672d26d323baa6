/**
 * Notifications and send/recv through the real command: crashes (kill -9), ^C, restarts, and
 * values that change while the engine runs.
 */
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt, startMgmt } from '../testing/cli.js'
import { whenEntry, whenWritten } from '../testing/fswait.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-notify-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A fresh directory with a graph file in it; `@` in the text stands for the directory. */
async function setup(name: string, text: string): Promise<{ file: string; root: string; prefix: string }> {
  const root = await mkdtemp(join(dir, `${name}-`))
  const file = join(root, 'graph.yaml')
  await writeFile(file, text.replaceAll('@', root))
  return { file, root, prefix: join(root, 'state') }
}

const lines = async (path: string): Promise<string[]> =>
  (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean)

/** One run of the graph in `file` with the state in `prefix`, to convergence. */
const runToConvergence = (prefix: string, file: string) =>
  runMgmt(['run', '--prefix', prefix, '--no-watch', '--converged-timeout', '0', 'yaml', file])

/**
 * `config` changes and notifies `reload` (refreshonly), which also waits for `slow`. The engine is
 * stopped while `slow` runs, so the notification is pending, and only the flag on disk remembers it.
 */
const pendingGraph = `graph: g
resources:
  file:
  - name: config
    path: "@/config"
    state: exists
    content: "v1\\n"
  exec:
  - name: slow
    cmd: "echo started >> @/slow.log; sleep 2"
    shell: /bin/sh
  - name: reload
    cmd: "echo reloaded >> @/reload.log"
    shell: /bin/sh
    refreshonly: true
edges:
- {name: e1, from: {kind: file, name: config}, to: {kind: exec, name: reload}, notify: true}
- {name: e2, from: {kind: exec, name: slow}, to: {kind: exec, name: reload}}
`

for (const [how, stop] of [
  ['kill -9', (m: ReturnType<typeof startMgmt>) => m.child.kill('SIGKILL')],
  ['^C', (m: ReturnType<typeof startMgmt>) => m.child.kill('SIGINT')],
] as const) {
  test(`a notification pending at ${how} is delivered once by the next start`, async () => {
    const { file, root, prefix } = await setup(how === '^C' ? 'int' : 'kill', pendingGraph)
    const m = startMgmt(['run', '--prefix', prefix, '--no-watch', 'yaml', file])
    await whenWritten(join(root, 'slow.log'))
    await whenEntry(join(prefix, 'engine', 'refresh'), '.json')
    stop(m)
    await m.exited
    assert.deepEqual(await lines(join(root, 'reload.log')), [], 'the receiver had not run yet')
    assert.equal((await readdir(join(prefix, 'engine', 'refresh'))).length, 1, 'the flag is on disk')
    const r = await runToConvergence(prefix, file)
    assert.equal(r.code, 0, r.output)
    assert.deepEqual(await lines(join(root, 'reload.log')), ['reloaded'])
    assert.deepEqual(await readdir(join(prefix, 'engine', 'refresh')), [])
    // A third run has nothing to deliver.
    const again = await runToConvergence(prefix, file)
    assert.equal(again.code, 0, again.output)
    assert.deepEqual(await lines(join(root, 'reload.log')), ['reloaded'])
  })
}

test('refreshonly: the receiver runs only when notified, once per change', async () => {
  const { file, root, prefix } = await setup('refreshonly', pendingGraph.replace('sleep 2', 'true'))
  const run = () => runToConvergence(prefix, file)
  assert.equal((await run()).code, 0)
  assert.deepEqual(await lines(join(root, 'reload.log')), ['reloaded'])
  assert.equal((await run()).code, 0)
  assert.deepEqual(await lines(join(root, 'reload.log')), ['reloaded'], 'no change, no notification')
  await writeFile(join(root, 'config'), 'drift\n')
  assert.equal((await run()).code, 0)
  assert.deepEqual(await lines(join(root, 'reload.log')), ['reloaded', 'reloaded'])
})

test('send/recv: a value that changes while running reaches the receiver; the same value does not re-run it', async () => {
  const { file, root } = await setup(
    'live',
    `graph: g
resources:
  exec:
  - name: reader
    cmd: "cat @/input"
    shell: /bin/sh
    watchcmd: "tail -n0 -F @/trigger"
    watchshell: /bin/sh
  file:
  - name: output
    path: "@/output"
    state: exists
edges:
- {name: e1, from: {kind: exec, name: reader}, to: {kind: file, name: output}, send: stdout, recv: content}
`,
  )
  const input = join(root, 'input')
  const output = join(root, 'output')
  const trigger = join(root, 'trigger')
  await writeFile(input, 'one\n')
  await writeFile(trigger, '')
  // Each line appended to the trigger file is a watch event of the exec (tail prints it).
  const poke = () => appendFile(trigger, 'go\n')
  const m = startMgmt(['run', '--tmp-prefix', '--no-watch', 'yaml', file])
  try {
    await m.waitFor(/file\[output\]: created/)
    assert.equal(await readFile(output, 'utf8'), 'one\n')
    await writeFile(input, 'two\n')
    await poke()
    await m.waitFor(/file\[output\]: content updated/)
    assert.equal(await readFile(output, 'utf8'), 'two\n')
    const transfers = () =>
      m.output().split('SendRecv: exec[reader].stdout -> file[output].content').length - 1
    assert.equal(transfers(), 2)
    // The same value again: the exec runs, but the file is not touched.
    const runs = () => m.output().split('exec[reader]: running').length - 1
    const before = runs()
    await poke()
    await m.waitFor(new RegExp(`(exec\\[reader\\]: running[\\s\\S]*){${before + 1}}[\\s\\S]*exited 0`))
    assert.equal(transfers(), 2)
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
})
