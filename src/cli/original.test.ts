/**
 * The original's command line: its flag spellings and its older `run --yaml FILE` form work, and
 * exec logs its command's output at the normal level, as the original does.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt, startMgmt } from '../testing/cli.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-7-original-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function graph(name: string, text: string): Promise<string> {
  const file = join(dir, `${name}.yaml`)
  await writeFile(file, text)
  return file
}

const prints = `graph: g
resources:
  print:
  - {name: p1, msg: one}
  - {name: p2, msg: two}
`

test('--converger-timeout with --converged-exit, --converger-status-file, --no-pgp, --no-autoedges, --no-autogroup', async () => {
  const file = await graph('flags', prints)
  const status = join(dir, 'status')
  const flags = [
    '--converger-timeout',
    '0',
    '--converged-exit',
    '--converger-status-file',
    status,
    '--no-pgp',
  ]
  const grouped = await runMgmt(['run', '--tmp-prefix', '--debug', ...flags, 'yaml', file])
  assert.equal(grouped.code, 0, grouped.output)
  assert.match(await readFile(status, 'utf8'), /^true\n/)
  assert.match(grouped.output, /print\[p1\]: debug: grouped with print\[p2\]/)
  const apart = await runMgmt([
    'run',
    '--tmp-prefix',
    '--debug',
    ...flags,
    '--no-autogroup',
    '--no-autoedges',
    'yaml',
    file,
  ])
  assert.equal(apart.code, 0, apart.output)
  assert.doesNotMatch(apart.output, /grouped with/)
  assert.match(apart.output, /print\[p2\]: two/)
})

test('--converger-timeout alone reports convergence and keeps running, as the original does', async () => {
  const file = await graph('noexit', prints)
  const m = startMgmt(['run', '--tmp-prefix', '--converger-timeout', '0', 'yaml', file])
  try {
    await m.waitFor(/converged/)
    assert.equal(m.child.exitCode, null, 'still running')
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
})

test('the older `run --yaml FILE` and `run --file FILE` work, with a warning naming the new form', async () => {
  const file = await graph('old', prints)
  for (const spelling of ['--yaml', '--file']) {
    const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', spelling, file])
    assert.equal(r.code, 0, r.output)
    assert.ok(
      r.output.includes(`\`run ${spelling} FILE\` is deprecated: use \`mgmt run yaml ${file}\``),
      r.output,
    )
    assert.match(r.output, /print\[p1\]: one/)
  }
})

test("exec logs its command's output at the normal level, the last lines of it", async () => {
  const file = await graph(
    'output',
    'graph: g\nresources:\n  exec:\n  - {name: short, cmd: "echo hello"}\n  - {name: long, cmd: "seq 1 30"}\n',
  )
  const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /exec\[short\]: exited 0, output:\n\S+ exec\[short\]: {3}hello\n/)
  assert.match(
    r.output,
    /exec\[long\]: exited 0, output \(the last 20 of 30 lines\):\n\S+ exec\[long\]: {3}11\n[\s\S]* {3}30\n/,
  )
  assert.doesNotMatch(r.output, /^ {2}10$/m)
})
