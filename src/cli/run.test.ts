/**
 * The `mgmt` command end to end: real processes, real files. Several are the original's shell
 * tests (t2, t6, graph-fanin-1, yaml-change1) rewritten here, in temporary directories.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { runMgmt, startMgmt, watchingRun } from '../testing/cli.js'
import { whenContent, whenWritten } from '../testing/fswait.js'
import { version } from '../version.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-cli-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Writes a graph file into a fresh sub-directory; `@` in the text stands for that directory. */
async function graph(name: string, text: string): Promise<{ file: string; root: string }> {
  const root = await mkdtemp(join(dir, `${name}-`))
  const file = join(root, `${name}.yaml`)
  await writeFile(file, text.replaceAll('@', root))
  return { file, root }
}

const once = ['run', '--tmp-prefix', '--converged-timeout', '0']

test('--help and --version', async () => {
  const h = await runMgmt(['--help'])
  assert.equal(h.code, 0)
  assert.match(h.output, /Usage: mgmt/)
  const v = await runMgmt(['--version'])
  assert.equal(v.code, 0)
  assert.equal(v.output.trim(), version)
})

test('a usage error exits 2', async () => {
  const r = await runMgmt(['run', '--converged-timeout', 'soon', 'yaml', 'x.yaml'])
  assert.equal(r.code, 2)
  assert.match(r.output, /--converged-timeout expects a whole number/)
  assert.equal((await runMgmt(['run', '--bogus', 'yaml', 'x.yaml'])).code, 2)
  // Out of range: a duration no timer takes (it would fire at once), a negative that means nothing.
  for (const [args, says] of [
    [['--max-runtime', '3000000'], '--max-runtime expects a whole number from 0 to 2147483, not `3000000`'],
    [
      ['--converged-timeout', '-2'],
      '--converged-timeout expects a whole number from -1 to 2147483, not `-2`',
    ],
    [['--sema', '-1'], '--sema expects a whole number of at least 0, not `-1`'],
  ]) {
    const o = await runMgmt(['run', ...args!, 'yaml', 'x.yaml'])
    assert.equal(o.code, 2, o.output)
    assert.equal(o.output.trim(), `mgmt: ${says}`)
  }
})

test('an invalid graph exits 2 with located errors and applies nothing', async () => {
  const { file, root } = await graph(
    'invalid',
    `graph: g
resources:
  file:
  - name: f1
    path: "@/f1"
    state: exists
    content: "x"
  print:
  - name: p1
    msg: [not, a, string]
`,
  )
  const r = await runMgmt([...once, 'yaml', file])
  assert.equal(r.code, 2)
  assert.ok(r.output.includes(`${file}:10:10: resources.print[0].msg: `), r.output)
  assert.equal(existsSync(join(root, 'f1')), false)
  assert.doesNotMatch(r.output, /\n\s+at /, 'no stack trace')
})

test('a missing graph file is a clear error', async () => {
  const r = await runMgmt([...once, 'yaml', join(dir, 'nope.yaml')])
  assert.equal(r.code, 1)
  assert.match(r.output, /cannot read .*nope\.yaml: no such file or directory \(ENOENT\)\n/)
  assert.equal(r.output.match(/no such file/g)?.length, 1, r.output)
})

const t2 = `graph: mygraph
resources:
  noop:
  - name: noop1
  file:
  - name: file1
    path: "@/f1"
    content: |
      i am f1
    state: exists
  - name: file2
    path: "@/f2"
    content: |
      i am f2
    state: exists
  - name: file3
    path: "@/f3"
    content: |
      i am f3
    state: exists
  - name: file4
    path: "@/f4"
    state: absent
  - name: dir1
    path: "@/dir1/"
    state: exists
edges:
- name: e1
  from: {kind: file, name: file1}
  to: {kind: file, name: file2}
- name: e2
  from: {kind: file, name: file2}
  to: {kind: file, name: file3}
`

test('t2: files exist with their content, f4 is absent, dir1 exists; exit 0; a second run changes nothing', async () => {
  const { file, root } = await graph('t2', t2)
  await writeFile(join(root, 'f4'), 'to be removed')
  const r = await runMgmt([...once, 'yaml', file])
  assert.equal(r.code, 0, r.output)
  for (const n of [1, 2, 3]) assert.equal(await readFile(join(root, `f${n}`), 'utf8'), `i am f${n}\n`)
  assert.equal(existsSync(join(root, 'f4')), false)
  assert.ok((await stat(join(root, 'dir1'))).isDirectory())
  const again = await runMgmt([...once, 'yaml', file])
  assert.equal(again.code, 0, again.output)
  assert.match(again.output, /converged: 6 resources, 0 changed\n/)
})

test('t6: a running engine restores a deleted or overwritten file; SIGINT exits 0', async () => {
  const { file, root } = await graph('t6', t2)
  const status = join(root, 'status')
  const m = startMgmt(watchingRun(status, file))
  try {
    await m.waitFor(/converged/)
    const f2 = join(root, 'f2')
    await unlink(f2)
    await m.waitFor(/file\[file2\]: .*(created|content)/)
    await whenContent(f2, 'i am f2\n')
    await writeFile(f2, 'foo')
    await whenContent(f2, 'i am f2\n')
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
  assert.match(await readFile(status, 'utf8'), /^true\n/)
})

test('graph-fanin-1: four commands run in parallel, the fifth after all of them', async () => {
  const step = (n: number) => `  - name: exec${n}
    cmd: "echo start $(date +%s%N) >> @/exec${n}; sleep 0.5; echo end $(date +%s%N) >> @/exec${n}"
    shell: /bin/sh
`
  const edges = [1, 2, 3, 4]
    .map(n => `- {name: e${n}, from: {kind: exec, name: exec${n}}, to: {kind: exec, name: exec5}}`)
    .join('\n')
  const { file, root } = await graph(
    'fanin',
    `graph: g\nresources:\n  exec:\n${[1, 2, 3, 4, 5].map(step).join('')}edges:\n${edges}\n`,
  )
  const r = await runMgmt([...once, 'yaml', file])
  assert.equal(r.code, 0, r.output)
  // Microseconds since the epoch, from `date +%s%N`.
  const times = await Promise.all(
    [1, 2, 3, 4, 5].map(async n => {
      const t = (await readFile(join(root, `exec${n}`), 'utf8')).match(/start (\d+)\nend (\d+)/)!
      return { start: Number(BigInt(t[1]!) / 1000n), end: Number(BigInt(t[2]!) / 1000n) }
    }),
  )
  const first4 = times.slice(0, 4)
  const lastStart = Math.max(...first4.map(t => t.start))
  const firstEnd = Math.min(...first4.map(t => t.end))
  assert.ok(lastStart < firstEnd, 'the four commands overlapped in time')
  const lastEnd = Math.max(...first4.map(t => t.end))
  assert.ok(times[4]!.start >= lastEnd, 'exec5 started after the others ended')
})

test('--noop changes nothing and shows a diff; exit 0', async () => {
  const { file, root } = await graph(
    'noop',
    'graph: g\nresources:\n  file:\n  - name: f\n    path: "@/f"\n    state: exists\n    content: "new\\n"\n',
  )
  await writeFile(join(root, 'f'), 'old\n')
  const r = await runMgmt([...once, '--noop', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  assert.equal(await readFile(join(root, 'f'), 'utf8'), 'old\n')
  assert.match(r.output, /-old\n.*\+new/s)
  assert.match(r.output, /converged: 1 resource, 0 changed, 1 would change/)
})

test('a switch from the environment reads its value: MGMT_NOOP=false applies, MGMT_NOOP=1 does not', async () => {
  const { file, root } = await graph(
    'envnoop',
    'graph: g\nresources:\n  file:\n  - name: f\n    path: "@/f"\n    state: exists\n    content: "new\\n"\n',
  )
  const dry = await runMgmt([...once, 'yaml', file], { env: { MGMT_NOOP: '1' } })
  assert.equal(dry.code, 0, dry.output)
  assert.equal(existsSync(join(root, 'f')), false)
  for (const off of ['false', '0', 'no']) {
    const r = await runMgmt([...once, 'yaml', file], { env: { MGMT_NOOP: off } })
    assert.equal(r.code, 0, r.output)
    assert.equal(await readFile(join(root, 'f'), 'utf8'), 'new\n')
    await unlink(join(root, 'f'))
  }
})

test('a failing resource makes the run exit 1 and names it; its dependents do not run', async () => {
  const { file, root } = await graph(
    'fail',
    `graph: g
resources:
  exec:
  - name: bad
    cmd: /bin/false
  - name: after
    cmd: touch @/after
edges:
- {name: e, from: {kind: exec, name: bad}, to: {kind: exec, name: after}}
`,
  )
  const r = await runMgmt([...once, 'yaml', file])
  assert.equal(r.code, 1, r.output)
  assert.match(r.output, /exec\[bad\]: error: command `\/bin\/false` exited with code 1/)
  assert.match(
    r.output,
    /error: converged: 2 resources, 0 changed, 1 failed \(exec\[bad\]\), 1 skipped \(exec\[after\]\)/,
  )
  assert.equal(existsSync(join(root, 'after')), false)
})

test('yaml-change1: saving the graph file applies the change; an invalid edit keeps the running graph', async () => {
  const text = (s: string) =>
    `graph: g\nresources:\n  file:\n  - name: f\n    path: "@/f"\n    state: exists\n    content: "${s}\\n"\n`
  const { file, root } = await graph('change', text('hello'))
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file])
  try {
    const f = join(root, 'f')
    await whenContent(f, 'hello\n')
    await writeFile(file, text('goodbye').replaceAll('@', root))
    await whenContent(f, 'goodbye\n')
    await m.waitFor(/graph swap: 0 kept, 1 changed \(file\[f\]\), 0 added, 0 removed/)
    await writeFile(file, 'graph: g\nresources: {file: [{name: f, state: maybe}]}\n')
    await m.waitFor(/keeping the running graph/)
    await writeFile(f, 'drift')
    await whenContent(f, 'goodbye\n')
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
})

test('sema-1: the original graph with semaphores converges with --sema 2, two commands at most at once', async t => {
  const original = fileURLToPath(
    new URL('../../../../shared/mgmt-yaml/test-shell/sema-1.yaml', import.meta.url),
  )
  if (!existsSync(original)) {
    t.skip('../shared/mgmt-yaml is not here')
    return
  }
  const root = await mkdtemp(join(dir, 'sema-'))
  const log = join(root, 'log')
  // Each `sleep 10s` becomes a short command that logs when it starts and ends.
  const text = (await readFile(original, 'utf8'))
    .replaceAll("shell: ''", 'shell: /bin/sh')
    .replace(
      /name: (\w+)\n(\s+)cmd: sleep 10s/g,
      `name: $1\n$2cmd: "echo +$1 >> ${log}; sleep 0.1; echo -$1 >> ${log}"`,
    )
  const file = join(root, 'sema-1.yaml')
  await writeFile(file, text)
  const r = await runMgmt([...once, '--sema', '2', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  let running = 0
  let most = 0
  const events = (await readFile(log, 'utf8')).trim().split('\n')
  for (const e of events) {
    running += e.startsWith('+') ? 1 : -1
    most = Math.max(most, running)
  }
  assert.ok(events.length >= 10)
  assert.equal(most, 2)
})

test('t7: run empty, then SIGINT, exits 0', async () => {
  const m = startMgmt(['run', '--tmp-prefix', 'empty'])
  await m.waitFor(/running no local graph/)
  m.child.kill('SIGINT')
  assert.equal(await m.exited, 0, m.output())
})

test('graph-exit2: SIGINT while a failing command waits to retry exits 0', async () => {
  const { file } = await graph(
    'exit2',
    `graph: g
resources:
  exec:
  - {name: a, cmd: /bin/false, meta: {retry: 10, delay: 1000}}
  - {name: b, cmd: /bin/true}
edges:
- {name: e, from: {kind: exec, name: a}, to: {kind: exec, name: b}}
`,
  )
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file])
  await m.waitFor(/exec\[a\]: error: command `\/bin\/false` exited with code 1/)
  m.child.kill('SIGINT')
  assert.equal(await m.exited, 0, m.output())
})

test('a second SIGINT cancels running work, kills the command, and does not exit 0', async () => {
  const { file, root } = await graph(
    'cancel',
    'graph: g\nresources:\n  exec:\n  - {name: long, cmd: "echo $$ > @/pid; exec sleep 60", shell: /bin/sh}\n',
  )
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file])
  await m.waitFor(/exec\[long\]: running/)
  // The shell writes its pid, then becomes the sleep: a stop before that would leave no pid to check.
  await whenWritten(join(root, 'pid'))
  m.child.kill('SIGINT')
  await m.waitFor(/shutting down/)
  m.child.kill('SIGINT')
  assert.equal(await m.exited, 1, m.output())
  assert.match(m.output(), /error: cancelled \(1 running check aborted\): 1 resource, 0 changed/)
  const pid = Number(await readFile(join(root, 'pid'), 'utf8'))
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the sleep is gone')
})

test('--log-format json writes one JSON object a line', async () => {
  const { file } = await graph('json', 'graph: g\nresources:\n  print: [{name: p, msg: hi}]\n')
  const r = await runMgmt([...once, '--log-format', 'json', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  const lines = r.output
    .trim()
    .split('\n')
    .map(l => JSON.parse(l) as { level: string; msg: string; source?: string })
  assert.ok(lines.some(l => l.source === 'print[p]' && l.msg === 'hi' && l.level === 'info'))
})

test('--max-runtime ends a run that never converges, with exit 0', async () => {
  const { file } = await graph('maxrt', 'graph: g\nresources:\n  timer: [{name: t, interval: 1}]\n')
  const r = await runMgmt(['run', '--tmp-prefix', '--max-runtime', '1', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /stopped at --max-runtime: 1 resource, /)
})
