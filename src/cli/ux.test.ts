/**
 * What a user of Puppet or Ansible expects of the command, end to end through the real CLI: typos
 * are errors with a hint, `--detailed-exitcodes`, failures that say what they skipped and how they
 * retry, one recap line, `--noop` that tells the whole story, `--diff` on a real run, `mgmt check
 * yaml`, the graph from standard input.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt } from '../testing/cli.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-t11-ux-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

let n = 0
/** Writes a graph file into a fresh sub-directory; `@` in the text stands for that directory. */
async function graph(text: string): Promise<{ file: string; root: string }> {
  const root = await mkdtemp(join(dir, `g${n++}-`))
  const file = join(root, 'g.yaml')
  await writeFile(file, text.replaceAll('@', root))
  return { file, root }
}

const once = ['run', '--tmp-prefix', '--converged-timeout', '0']

test('a misspelt key exits 2 with a hint and applies nothing; --lenient warns and runs', async () => {
  const { file, root } = await graph(`graph: g
resources:
  file:
  - name: f
    path: "@/f"
    state: exists
    contnet: "hello\\n"
`)
  const r = await runMgmt([...once, 'yaml', file])
  assert.equal(r.code, 2, r.output)
  assert.ok(
    r.output.includes(
      `${file}:7:14: resources.file[0].contnet: unknown parameter (did you mean \`content\`?)`,
    ),
    r.output,
  )
  assert.equal(existsSync(join(root, 'f')), false, 'nothing applied')
  const lenient = await runMgmt([...once, '--lenient', 'yaml', file])
  assert.equal(lenient.code, 0, lenient.output)
  assert.match(lenient.output, /warn: .*contnet: unknown parameter \(did you mean `content`\?\)/)
  assert.equal(await readFile(join(root, 'f'), 'utf8'), '')
  // --strict and --lenient say opposite things.
  assert.equal((await runMgmt([...once, '--lenient', '--strict', 'yaml', file])).code, 2)
})

test('mgmt check yaml: exit 0 for a valid graph, 2 with every problem for an invalid one', async () => {
  const good = await graph('graph: g\nresources:\n  noop: [{name: n}]\n')
  const ok = await runMgmt(['check', 'yaml', good.file])
  assert.equal(ok.code, 0, ok.output)
  assert.match(ok.output, /: ok \(1 resource\)/)
  const bad = await graph('graph: g\nresource:\n  noop: [{name: n}]\nedges: [{name: e, from: x}]\n')
  const r = await runMgmt(['check', 'yaml', bad.file])
  assert.equal(r.code, 2, r.output)
  assert.match(r.output, /:2:1: resource: unknown key \(did you mean `resources`\?\)/)
  assert.match(r.output, /:4:\d+: edges\[0\]\.from: `from` must be a mapping/)
  assert.match(r.output, /:4:\d+: edges\[0\]: `to` must be a mapping/)
})

test('--detailed-exitcodes: 0 nothing changed, 2 changes (or pending with --noop), 4 failures, 6 both', async () => {
  const { file: changes, root } = await graph(
    'graph: g\nresources:\n  file: [{name: f, path: "@/f", state: exists, content: "x\\n"}]\n',
  )
  const detailed = [...once, '--detailed-exitcodes', 'yaml']
  assert.equal((await runMgmt([...detailed, '--noop', changes])).code, 2, 'pending with --noop')
  assert.equal(existsSync(join(root, 'f')), false)
  assert.equal((await runMgmt([...detailed, changes])).code, 2, 'changes')
  assert.equal((await runMgmt([...detailed, changes])).code, 0, 'nothing changed')
  const { file: fails } = await graph('graph: g\nresources:\n  exec: [{name: bad, cmd: "false"}]\n')
  const r4 = await runMgmt([...detailed, fails])
  assert.equal(r4.code, 4, r4.output)
  const { file: both } = await graph(
    'graph: g\nresources:\n  exec: [{name: bad, cmd: "false"}]\n  file: [{name: f, path: "@/f", state: exists}]\n',
  )
  assert.equal((await runMgmt([...detailed, both])).code, 6)
  // An invalid graph is 1 with --detailed-exitcodes (2 means changes), as Puppet has it.
  const { file: invalid } = await graph('graph: g\nresources:\n  noop: [{name: n, bogus: 1}]\n')
  assert.equal((await runMgmt([...detailed, invalid])).code, 1)
  assert.equal((await runMgmt([...once, 'yaml', invalid])).code, 2)
})

test('a failure: each retry says which of how many and when, dependents say they are skipped, one recap line', async () => {
  const { file } = await graph(`graph: g
resources:
  exec:
  - name: bad
    cmd: "false"
    meta: {retry: 2, delay: 50}
  print:
  - name: after
    msg: never
  - name: later
    msg: never
  noop:
  - name: fine
edges:
- {name: e1, from: {kind: exec, name: bad}, to: {kind: print, name: after}}
- {name: e2, from: {kind: print, name: after}, to: {kind: print, name: later}}
`)
  const r = await runMgmt([...once, 'yaml', file])
  assert.equal(r.code, 1, r.output)
  assert.match(r.output, /exec\[bad\]: error: command `false` exited with code 1; retry 1\/2 in 50 ms\n/)
  assert.match(r.output, /exec\[bad\]: error: command `false` exited with code 1; retry 2\/2 in 50 ms\n/)
  assert.match(r.output, /print\[after\]: warn: skipped: depends on failed exec\[bad\]/)
  assert.match(r.output, /print\[later\]: warn: skipped: depends on failed exec\[bad\]/)
  const recap = r.output.split('\n').filter(l => / converged: /.test(l))
  assert.deepEqual(
    recap.map(l => l.replace(/^\S+ /, '')),
    [
      'error: converged: 4 resources, 0 changed, 1 failed (exec[bad]), 2 skipped (print[after], print[later])',
    ],
    r.output,
  )
})

test('--noop tells the whole story: what would change, what it would notify, a password not shown', async () => {
  const { file, root } = await graph(`graph: g
resources:
  file:
  - {name: conf, path: "@/conf", state: exists, content: "a=1\\n"}
  exec:
  - {name: reload, cmd: "touch @/reloaded", refreshonly: true}
  password:
  - {name: pw, length: 12}
edges:
- {name: e1, from: {kind: file, name: conf}, to: {kind: exec, name: reload}, notify: true}
`)
  const r = await runMgmt([...once, '--noop', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /file\[conf\]: would create with content:\n/)
  assert.match(r.output, /file\[conf\]: would notify exec\[reload\]/)
  assert.match(r.output, /password\[pw\]: would generate a new password \(not shown\) \(no token\)/)
  assert.match(r.output, /converged: 3 resources, 0 changed, 2 would change/)
  assert.equal(existsSync(join(root, 'conf')), false)
  assert.equal(existsSync(join(root, 'reloaded')), false)
})

test('--diff shows what a real run changed, and never a secret', async () => {
  const { file, root } = await graph(`graph: g
resources:
  file:
  - {name: conf, path: "@/conf", state: exists, content: "a=2\\nb=1\\n"}
  - {name: secret, path: "@/secret", state: exists}
  password:
  - {name: pw, length: 12}
edges:
- {name: e1, from: {kind: password, name: pw}, to: {kind: file, name: secret}, send: password, recv: content}
`)
  await writeFile(join(root, 'conf'), 'a=1\nb=1\n')
  const r = await runMgmt([...once, '--diff', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  assert.match(
    r.output,
    /file\[conf\]: updated content:\n.* file\[conf\]: --- .*\n.*\n.* file\[conf\]: @@ .* @@\n.* file\[conf\]: -a=1\n.* file\[conf\]: \+a=2\n/,
  )
  assert.match(r.output, /file\[secret\]: created with content \(sensitive content changed\)/)
  const secret = await readFile(join(root, 'secret'), 'utf8')
  assert.equal(secret.length, 12)
  assert.ok(!r.output.includes(secret), 'the password is never shown')
})

test("changing a password's length rotates it, with a log line", async () => {
  const prefix = await mkdtemp(join(dir, 'prefix-'))
  const text = (length: number) =>
    `graph: g\nresources:\n  password: [{name: pw, length: ${length}}]\n  file: [{name: f, path: "@/f", state: exists}]\n` +
    'edges:\n- {name: e, from: {kind: password, name: pw}, to: {kind: file, name: f}, send: password, recv: content}\n'
  const { file, root } = await graph(text(8))
  const run = ['run', '--prefix', prefix, '--converged-timeout', '0', 'yaml', file]
  assert.equal((await runMgmt(run)).code, 0)
  assert.equal((await readFile(join(root, 'f'), 'utf8')).length, 8)
  await writeFile(file, text(12).replaceAll('@', root))
  const r = await runMgmt(run)
  assert.equal(r.code, 0, r.output)
  assert.match(
    r.output,
    /password\[pw\]: generated a new password \(`length` changed from 8 to 12: rotating it\)/,
  )
  assert.equal((await readFile(join(root, 'f'), 'utf8')).length, 12)
})

test('`-` reads the graph from standard input', async () => {
  const root = await mkdtemp(join(dir, 'stdin-'))
  const r = await runMgmt([...once, 'yaml', '-'], {
    input: `graph: g\nresources:\n  file: [{name: f, path: "${root}/f", state: exists, content: "in\\n"}]\n`,
  })
  assert.equal(r.code, 0, r.output)
  assert.equal(await readFile(join(root, 'f'), 'utf8'), 'in\n')
  const bad = await runMgmt([...once, 'yaml', '-'], {
    input: 'graph: g\nresources:\n  noop: [{name: n, x: 1}]\n',
  })
  assert.equal(bad.code, 2)
  assert.match(bad.output, /^ {2}<stdin>:3:\d+: resources\.noop\[0\]\.x: unknown parameter/m)
})

test('--log-format json: parseable lines with kind, name, code, file, line, col; one object per problem', async () => {
  const { file } = await graph(
    'graph: g\nresources:\n  exec:\n  - {name: two, cmd: "printf \'a\\\\nb\\\\n\'", shell: /bin/sh}\n',
  )
  const r = await runMgmt([...once, '--log-format', 'json', 'yaml', file])
  assert.equal(r.code, 0, r.output)
  const objs = r.output
    .trim()
    .split('\n')
    .map(l => JSON.parse(l) as Record<string, unknown>)
  const out = objs.find(o => typeof o.msg === 'string' && o.msg.startsWith('exited 0'))
  assert.equal(out?.kind, 'exec')
  assert.equal(out?.name, 'two')
  assert.equal(out?.msg, 'exited 0, output:\n  a\n  b')
  const { file: bad } = await graph(
    'graph: g\nresources:\n  noop:\n  - {name: n, mdoe: 1}\n  fiel: [{name: f}]\n',
  )
  const b = await runMgmt([...once, '--log-format', 'json', 'yaml', bad])
  assert.equal(b.code, 2)
  const problems = b.output
    .trim()
    .split('\n')
    .map(l => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(
    problems.map(({ time: _t, ...p }) => p),
    [
      {
        level: 'error',
        msg: 'unknown parameter',
        code: 'ERR_YAML_INVALID',
        file: bad,
        line: 4,
        col: 21,
        path: 'resources.noop[0].mdoe',
      },
      {
        level: 'error',
        msg: 'no resource kind `fiel` available (did you mean `file`?)',
        code: 'ERR_YAML_INVALID',
        file: bad,
        line: 5,
        col: 10,
        path: 'resources.fiel[0]',
      },
    ],
  )
})

test("text logs: a command's output keeps the prefix on every line; quotes without a shell are warned of; no colour off a terminal", async () => {
  const { file } = await graph(`graph: g
resources:
  exec:
  - {name: two, cmd: "printf 'a\\\\nb\\\\n'", shell: /bin/sh}
  - {name: quoted, cmd: "echo 'hi there'"}
`)
  const r = await runMgmt([...once, 'yaml', file])
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /exec\[two\]: exited 0, output:\n\S+ exec\[two\]: {3}a\n\S+ exec\[two\]: {3}b\n/)
  assert.match(r.output, /exec\[quoted\]: warn: `cmd` has quotes but no shell is set/)
  assert.ok(!r.output.includes('\x1b['), 'no colour off a terminal')
})

test('errors name the real problem: a user mgmt cannot switch to, a group it cannot set', async t => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root, to run mgmt as another user')
    return
  }
  // Outside the test's private (0700) directory, so that `daemon` can reach it.
  const root = await mkdtemp(join(tmpdir(), 'mgmt-t11-daemon-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  await chmod(root, 0o777)
  const file = join(root, 'g.yaml')
  await writeFile(
    file,
    `graph: g\nresources:\n  exec:\n  - {name: e, cmd: "true", user: nobody}\n  file:\n  - {name: f, path: "${root}/f", state: exists, group: root}\n  - {name: g, path: "${root}/g", state: exists, group: root}\n`,
  )
  await chmod(file, 0o644)
  // The file is daemon's: only its group is wrong, and daemon is not in group root.
  await writeFile(join(root, 'f'), '')
  await chown(join(root, 'f'), 1, 1)
  // mgmt as the unprivileged `daemon` (uid 1, no supplementary groups).
  const r = await runMgmt([...once, 'yaml', file], {
    via: ['setpriv', '--reuid=1', '--regid=1', '--clear-groups', '--'],
    env: { HOME: root },
  })
  assert.equal(r.code, 1, r.output)
  assert.match(r.output, /exec\[e\]: error: cannot switch to user nobody: mgmt is not running as root/)
  assert.match(
    r.output,
    new RegExp(`file\\[f\\]: error: cannot set group root \\(0\\) on ${root}/f: not a member`),
  )
  // A new file too: the write that would create it with that group is refused in the same words.
  assert.match(
    r.output,
    new RegExp(`file\\[g\\]: error: cannot set group root \\(0\\) on ${root}/g: not a member`),
  )
  assert.doesNotMatch(
    r.output,
    /mgmt-tmp|EPERM/,
    'the managed path and the cause, never a temporary name or a bare code',
  )
})
