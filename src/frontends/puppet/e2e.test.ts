/**
 * `mgmt run puppet` end to end, with Debian's real `puppet` compiling (skipped when it is not
 * installed). Few and lean: each mgmt process starts one Ruby child.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { builtinRegistry } from '../../resources/index.js'
import { clusterClient, type Running, runMgmt, startMgmt } from '../../testing/cli.js'
import { deadline } from '../../testing/deadline.js'
import { startEtcd } from '../../testing/etcd.js'
import { whenContent } from '../../testing/fswait.js'
import { whichSync } from '../../util/which.js'
import { loadYaml } from '../yaml/parse.js'
import { endless } from './testdata.js'

const skip = whichSync('puppet') ? false : 'puppet is not installed (Debian package `puppet`)'

/** Saves `text` the way editors do: a temporary file renamed over the old one. */
async function save(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text)
  await rename(`${file}.tmp`, file)
}

test('a config file notifies a refresh-only exec: one append on the first run, none on a second, one after an edit; a compile error keeps the graph', {
  skip,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'mgmt-16-e2e-'))
  const conf = join(root, 'app.conf')
  const log = join(root, 'reloads.log')
  const manifest = join(root, 'site.pp')
  const facts = join(root, 'facts.json')
  const pp = (v: number): string =>
    `file { '${conf}': content => "version=${v} role=\${facts['role']}\\n" }\n` +
    `~> exec { 'reload': command => 'echo reloaded >> ${log}', refreshonly => true }\n`
  const run = ['run', '--prefix', join(root, 'state'), '--converged-timeout', '0']
  const puppet = ['puppet', '--facts', facts, manifest]
  try {
    await writeFile(facts, '{"role": "web"}')
    await writeFile(manifest, pp(1))
    const noop = await runMgmt([...run, '--noop', ...puppet])
    assert.equal(noop.code, 0, noop.output)
    assert.match(
      noop.output,
      /file\[\S+app.conf\]: would create with content:\n(.*\n)*.*: \+version=1 role=web\n/,
    )
    assert.equal(await readFile(conf, 'utf8').catch(() => 'absent'), 'absent')

    const first = await runMgmt([...run, ...puppet])
    assert.equal(first.code, 0, first.output)
    assert.equal(await readFile(conf, 'utf8'), 'version=1 role=web\n')
    assert.equal(await readFile(log, 'utf8'), 'reloaded\n')

    const m = startMgmt([...run, '--converged-timeout-no-exit', ...puppet])
    const whenLog = (want: string): Promise<void> =>
      whenContent(log, want).catch((e: Error) => {
        throw new Error(`${e.message}\nmgmt printed:\n${m.output()}`)
      })
    try {
      await m.waitFor(/converged/, 30_000)
      assert.equal(await readFile(log, 'utf8'), 'reloaded\n', 'the second run changed nothing')
      await save(manifest, pp(2))
      await whenLog('reloaded\nreloaded\n')
      assert.equal(await readFile(conf, 'utf8'), 'version=2 role=web\n')

      await save(manifest, `${pp(2)}file { '/x':\n  content =>\n}\n`)
      await m.waitFor(
        /Syntax error at '}' \(file: \S+site\.pp, line: 5, column: 1\).*\n.*puppet: +\(keeping the running graph\)/,
      )
      // The graph still runs: the file comes back, and its change refreshes the exec again.
      await unlink(conf)
      await whenContent(conf, 'version=2 role=web\n')
      await whenLog('reloaded\nreloaded\nreloaded\n')
    } finally {
      m.child.kill('SIGINT')
    }
    assert.equal(await m.exited, 0, m.output())
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})

test('two hosts on one etcd: A exports a file and a defined resource, B collects them with its query, override and refresh; an edit on A reaches B', {
  skip,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'mgmt-16-exports-'))
  const etcd = await startEtcd()
  const log = join(root, 'reloads.log')
  const facts = join(root, 'facts.json')
  const define = `define vhost($port) { file { "${root}/vhost-\${title}.conf": content => "port \${port}\\n" } }\n`
  const manifestA = join(root, 'a.pp')
  const ppA = (v: string, port: number): string =>
    `${define}@@file { '${root}/motd-a': content => "a is ${v}\\n", tag => 'motd' }\n` +
    `@@file { '${root}/other-a': content => "not for b\\n" }\n@@vhost { 'a': port => ${port} }\n`
  const manifestB = join(root, 'b.pp')
  const ppB =
    `${define}File <<| tag == 'motd' |>> { mode => '0640' }\n` +
    `Vhost <<| |>> ~> exec { 'reload': command => 'echo reloaded >> ${log}', refreshonly => true }\n`
  const host = (h: string, manifest: string): Running =>
    startMgmt(['run', ...clusterClient(h, etcd.clientUrl), 'puppet', '--facts', facts, manifest])
  const running: Running[] = []
  try {
    await writeFile(facts, '{}')
    await writeFile(manifestA, ppA('up', 8080))
    await writeFile(manifestB, ppB)
    const a = host('a', manifestA)
    running.push(a)
    await a.waitFor(/exported file\[\S+motd-a\], file\[\S+other-a\], noop\[Vhost\[a\]\]/, 30_000)
    await a.waitFor(/converged/, 30_000)
    // Exported, not applied where it is declared.
    await assert.rejects(stat(join(root, 'motd-a')))
    assert.deepEqual((await etcd.keys('/_mgmt/exported/a/')).sort(), [
      `/_mgmt/exported/a/resources/file/${root}/motd-a`,
      `/_mgmt/exported/a/resources/file/${root}/other-a`,
      '/_mgmt/exported/a/resources/noop/Vhost[a]',
    ])

    const b = host('b', manifestB)
    running.push(b)
    await whenContent(join(root, 'motd-a'), 'a is up\n')
    assert.equal((await stat(join(root, 'motd-a'))).mode & 0o777, 0o640)
    await whenContent(join(root, 'vhost-a.conf'), 'port 8080\n')
    await whenContent(log, 'reloaded\n')
    assert.match(b.output(), /`Vhost <<\| \|>>` collected Vhost\[a\] from a/)
    await assert.rejects(stat(join(root, 'other-a')), 'not tagged motd: not collected')

    await save(manifestA, ppA('up again', 8081))
    await whenContent(join(root, 'motd-a'), 'a is up again\n')
    await whenContent(join(root, 'vhost-a.conf'), 'port 8081\n')
    await whenContent(log, 'reloaded\nreloaded\n')
    for (const m of running) m.child.kill('SIGINT')
    for (const m of running) assert.equal(await m.exited, 0, m.output())
  } finally {
    for (const m of running) await m.kill(2000)
    await etcd.cleanup()
    await rm(root, { recursive: true, force: true })
  }
})

test('^C in the middle of a first compile that never ends: mgmt stops its Puppet child and exits 0', {
  skip,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'mgmt-puppet-endless-'))
  const marker = join(root, 'compiling')
  const facts = join(root, 'facts.json')
  await writeFile(facts, '{}')
  const m = startMgmt(['run', '--tmp-prefix', 'puppet', '--facts', facts, '--code', endless(marker)])
  try {
    await whenContent(marker, 'compiling\n', 60_000)
    m.child.kill('SIGINT')
    // An mgmt still waiting for the compile is killed: the test then fails on its exit code.
    const stuck = deadline(30_000, () => void m.kill(0))
    assert.equal(await m.exited, 0, m.output())
    stuck.cancel()
    assert.doesNotMatch(m.output(), /error/)
  } finally {
    await m.kill(2000)
    await rm(root, { recursive: true, force: true })
  }
})

test('--print-graph --code prints the translated graph as YAML that `mgmt run yaml` loads', {
  skip,
}, async () => {
  const code = `file { '/tmp/mgmt-16-never/a': content => "a\\n" } ~> exec { 'r': command => '/bin/true', refreshonly => true }`
  const r = await runMgmt([
    'run',
    'puppet',
    '--print-graph',
    '--certname',
    'node16.example.com',
    '--code',
    code,
  ])
  assert.equal(r.code, 0, r.output)
  const yaml = r.output.slice(r.output.indexOf('# mgmt run puppet'))
  const g = loadYaml(yaml, 'printed.yaml', builtinRegistry(), { strict: true })
  assert.equal(g.name, 'node16.example.com')
  assert.deepEqual([...g.graph.entries()].map(([id]) => id).sort(), ['exec[r]', 'file[/tmp/mgmt-16-never/a]'])
  assert.equal([...g.graph.edges()][0]?.[2].notify, true)
})

test('without puppet, mgmt run puppet names the Debian package and exits 2', async () => {
  const r = await runMgmt(['run', '--tmp-prefix', 'puppet', '--code', 'notify { "x": }'], {
    env: { PATH: '/nonexistent' },
  })
  assert.equal(r.code, 2, r.output)
  assert.match(
    r.output,
    /Puppet is not available \(no `puppet` on PATH\): install the Debian package `puppet`/,
  )
})

test('mgmt run puppet wants a manifest or --code, not both, and says so before it takes the state directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-usage-'))
  try {
    const prefix = join(dir, 'state')
    const r = await runMgmt(['run', '--prefix', prefix, 'puppet', '--code', 'notify { "x": }', 'site.pp'])
    assert.equal(r.code, 2, r.output)
    assert.match(r.output, /needs a manifest file or --code, not both/)
    await assert.rejects(stat(prefix), { code: 'ENOENT' })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('mgmt check puppet compiles a manifest and checks its graph, applying nothing: ok with its count, or the located problem and exit 2', {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-check-'))
  try {
    const made = join(dir, 'never-made')
    const ok = join(dir, 'ok.pp')
    await writeFile(
      ok,
      `file { '${made}': content => "x\\n" }\n~> exec { 'reload': command => '/bin/true', refreshonly => true }\n`,
    )
    const good = await runMgmt(['check', 'puppet', '--certname', 'node16.example.com', ok])
    assert.equal(good.code, 0, good.output)
    assert.match(good.output, new RegExp(`${ok}: ok \\(2 resources for node16\\.example\\.com\\)`))
    await assert.rejects(stat(made), { code: 'ENOENT' })

    // Puppet compiles a cycle (it finds cycles only as it applies); the graph's check refuses it.
    const cycle = join(dir, 'cycle.pp')
    await writeFile(
      cycle,
      "exec { 'a': command => '/bin/true' }\nexec { 'b': command => '/bin/true', require => Exec['a'] }\nExec['b'] -> Exec['a']\n",
    )
    const bad = await runMgmt(['check', 'puppet', '--certname', 'node16.example.com', cycle])
    assert.equal(bad.code, 2, bad.output)
    assert.match(
      bad.output,
      new RegExp(`${cycle}:1: Exec\\[a\\]: the graph has a cycle: exec\\[a\\] -> exec\\[b\\] -> exec\\[a\\]`),
    )
    assert.doesNotMatch(bad.output, /\n\s+at /)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('mgmt check puppet wants a manifest or --code, not both, and says so before Puppet starts', async () => {
  const r = await runMgmt(['check', 'puppet'], { env: { PATH: '/nonexistent' } })
  assert.equal(r.code, 2, r.output)
  assert.match(r.output, /mgmt check puppet needs a manifest file or --code, not both/)
})
