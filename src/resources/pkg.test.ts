/**
 * pkg against real package managers, offline: tiny packages built by the test, served from a local
 * repository inside a sandbox where apt and PackageKit see nothing else. Each scenario runs the
 * real mgmt command in the sandbox: three packages installed in one transaction, a pinned older
 * version, newest, removal of the three in one transaction, and a package removed by hand that
 * comes back. Then once with PackageKit (a private system bus) and once with apt alone.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { loadYaml } from '../frontends/yaml/parse.js'
import { AptSandbox, type DebSpec } from '../testing/aptrepo.js'
import { runMgmt, startMgmt, watchingRun } from '../testing/cli.js'
import { startPackageKit } from '../testing/dbus.js'
import { whenInDir } from '../testing/fswait.js'
import { cleanups } from '../testing/proc.js'
import { builtinRegistry } from './index.js'
import { parsePolicy } from './pkg/apt.js'
import { programCandidates, shippedCandidates, usrMergeTwins } from './pkg/files.js'
import { pkg, planChange } from './pkg.js'

const id = process.pid.toString(36)
const A = `mgmt-t13-a${id}`
const B = `mgmt-t13-b${id}`
const C = `mgmt-t13-c${id}`

const PACKAGES: DebSpec[] = [
  { name: A, version: '1.0', files: { [`/usr/bin/${A}`]: '#!/bin/sh\necho 1.0\n' } },
  {
    name: A,
    version: '2.0',
    files: {
      [`/usr/bin/${A}`]: '#!/bin/sh\necho 2.0\n',
      [`/etc/${A}/${A}.conf`]: 'x = 1\n',
      [`/lib/systemd/system/${A}.service`]: '[Service]\nExecStart=/bin/true\n',
    },
  },
  { name: B, version: '1.0' },
  { name: C, version: '1.0' },
]

test('pkg params, plans and helpers', () => {
  assert.equal(
    parseParams(pkg, 'x', { state: 'latest' }).issues[0]?.message,
    'use `newest` for the newest version',
  )
  assert.deepEqual(parseParams(pkg, 'x', { state: '1.2-3' }).issues, [])
  assert.deepEqual(parseParams(pkg, 'lib+x2.0:amd64', { state: 'installed' }).issues, [])
  // A name that apt-get would take as an option, or that no package has, is the graph's problem.
  for (const name of ['-oDebug::pkgProblemResolver=1', 'foo;rm -rf /', 'a b'])
    assert.deepEqual(
      parseParams(pkg, name, { state: 'installed' }).issues.map(i => [i.path, i.message]),
      [[['name'], `\`${name}\` is not a valid package name`]],
    )
  const s = { name: 'x', installed: '1.0', candidate: '2.0' }
  assert.equal(planChange('installed', s), undefined)
  assert.deepEqual(planChange('newest', s), { name: 'x', action: 'update', version: '2.0', arch: undefined })
  assert.deepEqual(planChange('uninstalled', { name: 'x' }), undefined)
  assert.equal(planChange('1.0', s), undefined)
  assert.equal(planChange('2.0', s)?.action, 'install')
  assert.ok(pkg.groupCmp?.(parseParams(pkg, 'a', {}).params!, parseParams(pkg, 'b', {}).params!))
  assert.ok(
    !pkg.groupCmp?.(
      parseParams(pkg, 'a', { state: '1' }).params!,
      parseParams(pkg, 'b', { state: '1' }).params!,
    ),
  )
  assert.deepEqual(usrMergeTwins('/usr/bin/ls'), ['/usr/bin/ls', '/bin/ls'])
  assert.ok(programCandidates('ls').includes('/bin/ls'))
  assert.deepEqual(
    [...shippedCandidates('/etc/nginx/conf.d/x.conf')],
    ['/etc/nginx/conf.d/x.conf', '/etc/nginx/conf.d/', '/etc/nginx/'],
  )
  const policy = parsePolicy(
    'x:\n  Installed: (none)\n  Candidate: 2.0\n  Version table:\n     2.0 500\ny:\n  Installed: 1\n  Candidate: 1\n',
  )
  assert.deepEqual(Object.fromEntries(policy), {
    x: { candidate: '2.0' },
    y: { installed: '1', candidate: '1' },
  })
})

/** The graph of `pkgs` (name → params), in a file of the sandbox. */
async function graphFile(box: AptSandbox, pkgs: Record<string, Record<string, unknown>>): Promise<string> {
  const path = join(box.dir, `g-${Math.random().toString(36).slice(2)}.yaml`)
  const resources = { pkg: Object.entries(pkgs).map(([name, p]) => ({ name, ...p })) }
  await writeFile(path, JSON.stringify({ graph: 'pkg', resources }))
  return path
}

async function scenario(t: TestContext, backend: 'packagekit' | 'apt'): Promise<void> {
  const defer = cleanups(t)
  const box = await AptSandbox.start(PACKAGES)
  defer(() => box.stop())
  let env: NodeJS.ProcessEnv = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${box.dir}/no-bus` }
  if (backend === 'packagekit') {
    const pk = await startPackageKit(box)
    defer(() => pk.stop())
    env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: pk.busAddress }
    await box.run('apt-get', ['-q', 'update'])
  } else await box.run('apt-get', ['-q', 'update'])
  // Local packages are "unsupported" to PackageKit: they need the flag, as in the original.
  const o = { allowunsupported: true }
  const mgmt = async (pkgs: Record<string, Record<string, unknown>>): Promise<string> => {
    const t0 = Date.now()
    const r = await runMgmt(
      ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', await graphFile(box, pkgs)],
      { env, prefix: box.prefix, ms: 120_000 },
    )
    assert.equal(r.code, 0, r.output)
    if (process.env.MGMT_TEST_TIMES) t.diagnostic(`${Date.now() - t0} ms: ${JSON.stringify(pkgs)}`)
    return r.output
  }
  const started = Date.now()

  // Three packages, one state: one vertex, one transaction.
  let out = await mgmt({ [A]: o, [B]: o, [C]: o })
  assert.match(out, backend === 'apt' ? /PackageKit is not available .*: using apt/ : /using PackageKit/)
  assert.match(
    out,
    new RegExp(`install ${A} 2.0, install ${B} 1.0, install ${C} 1.0: one transaction \\(${backend}\\)`),
  )
  assert.equal(await box.installed(A), '2.0')
  assert.equal(await box.installed(B), '1.0')
  assert.equal(await box.installed(C), '1.0')
  assert.equal(await box.transactions(), 1)

  // A pinned older version (a downgrade must be allowed), then the newest again.
  out = await mgmt({ [A]: { ...o, state: '1.0', allowdowngrade: true } })
  assert.equal(await box.installed(A), '1.0', out)
  out = await mgmt({ [A]: { ...o, state: 'newest' } })
  assert.equal(await box.installed(A), '2.0', out)
  // Already right: nothing to do.
  out = await mgmt({ [A]: { ...o, state: 'newest' }, [B]: o })
  assert.doesNotMatch(out, /one transaction/)

  // Removed by hand while mgmt runs: installed again at once.
  const status = join(box.dir, 'converged')
  const running = startMgmt(watchingRun(status, await graphFile(box, { [B]: o })), {
    env,
    prefix: box.prefix,
  })
  defer(() => running.kill())
  await whenInDir(
    box.dir,
    async () => (await readFile(status, 'utf8').catch(() => '')).includes('true'),
    'converged',
    60_000,
  )
  const statusLines = async (): Promise<string[]> =>
    (await readFile(status, 'utf8').catch(() => '')).split('\n').filter(Boolean)
  const linesBefore = (await statusLines()).length
  await box.run('dpkg', ['-r', B])
  await whenInDir('/var/lib/dpkg', async () => (await box.installed(B)) === '1.0', `${B} reinstalled`, 60_000)
  // Stopped once converged again: the stop signals the whole process group, and a check still
  // under way (the one the reinstall's own dpkg writes wake) would lose its dpkg-query to it.
  await whenInDir(
    box.dir,
    async () => {
      const lines = await statusLines()
      return lines.length > linesBefore && lines.at(-1) === 'true'
    },
    'converged again',
    60_000,
  )
  assert.equal(await running.kill(), 0, running.output())

  const before = await box.transactions()
  out = await mgmt({
    [A]: { ...o, state: 'uninstalled' },
    [B]: { ...o, state: 'uninstalled' },
    [C]: { ...o, state: 'uninstalled' },
  })
  assert.equal(await box.installed(A), undefined, out)
  assert.equal(await box.installed(B), undefined)
  assert.equal(await box.installed(C), undefined)
  assert.equal(await box.transactions(), before + 1, out)
  t.diagnostic(`${backend}: ${((Date.now() - started) / 1000).toFixed(1)} s for the scenario`)
}

test('pkg through PackageKit: one transaction for three, pin, newest, drift, removal', t =>
  scenario(t, 'packagekit'))

test('pkg through apt: one transaction for three, pin, newest, drift, removal', t => scenario(t, 'apt'))

test('pkg installs from a repository that the same graph adds (resolved when checked)', async t => {
  const defer = cleanups(t)
  const box = await AptSandbox.start(PACKAGES, { listed: false })
  defer(() => box.stop())
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${box.dir}/no-bus` }
  const list = '/etc/apt/sources.list.d/mgmt-t13.list'
  const graph = join(box.dir, 'repo.yaml')
  await writeFile(
    graph,
    JSON.stringify({
      graph: 'repo',
      resources: {
        file: [{ name: list, state: 'exists', content: box.repo.sourcesLine }],
        pkg: [{ name: A }],
      },
      edges: [{ name: 'repo-first', from: { kind: 'file', name: list }, to: { kind: 'pkg', name: A } }],
    }),
  )
  const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', graph], {
    env,
    prefix: box.prefix,
    ms: 120_000,
  })
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /not found; refreshing the package lists/)
  assert.equal(await box.installed(A), '2.0')

  // Installed, it ships files and a unit: they, and a command it ships, come after it.
  const yaml = JSON.stringify({
    graph: 'edges',
    resources: {
      pkg: [{ name: A }],
      file: [{ name: `/etc/${A}/${A}.conf`, state: 'exists', content: 'x = 2\n' }],
      svc: [{ name: A, state: 'running' }],
      exec: [{ name: 'version', cmd: `${A} --version` }],
    },
  })
  const { graph: g } = loadYaml(yaml, 'edges.yaml', builtinRegistry())
  const from = `pkg[${A}]`
  for (const to of [`file[/etc/${A}/${A}.conf]`, `svc[${A}]`, 'exec[version]'])
    assert.ok(g.outgoing(from).has(to), `${from} -> ${to}`)
})

test("the original's pkg graphs run (their packages renamed to the test's): pkg1, pkg2, autogroup1, autogroup2, autoedges5", async t => {
  const defer = cleanups(t)
  const originals = new URL('../../../../shared/mgmt-yaml/examples/', import.meta.url)
  const read = (f: string): Promise<string> => readFile(new URL(f, originals), 'utf8')
  if (!(await read('pkg1.yaml').catch(() => ''))) {
    t.skip('the original graphs are not here')
    return
  }
  const D = `mgmt-t13-d${id}`
  const box = await AptSandbox.start([...PACKAGES, { name: D, version: '1.0' }])
  defer(() => box.stop())
  await box.run('apt-get', ['-q', 'update'])
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${box.dir}/no-bus` }
  const renames: [RegExp, string][] = [
    [/\bpowertop\b/g, A],
    [/\bsl\b/g, B],
    [/\bcowsay\b/g, C],
    [/\bdrbd-utils\b/g, D],
  ]
  const run = async (file: string): Promise<string> => {
    let text = await read(file)
    for (const [re, to] of renames) text = text.replace(re, to)
    const path = join(box.dir, file)
    await writeFile(path, text)
    const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', path], {
      env,
      prefix: box.prefix,
      ms: 120_000,
    })
    assert.equal(r.code, 0, `${file}: ${r.output}`)
    return r.output
  }
  await run('pkg1.yaml')
  assert.equal(await box.installed(A), '2.0')
  await run('pkg2.yaml')
  assert.equal(await box.installed(A), undefined)
  // autogroup1: drbd-utils keeps its own vertex (autogroup: false), the three others share one.
  const before = await box.transactions()
  const out = await run('autogroup1.yaml')
  assert.match(out, new RegExp(`install ${A} 2.0, install ${B} 1.0, install ${C} 1.0: one transaction`))
  assert.match(out, new RegExp(`install ${D} 1.0: one transaction`))
  assert.equal(await box.transactions(), before + 2)
  assert.doesNotMatch(await run('autogroup2.yaml'), /one transaction/)
  // autoedges5: the exec of a program the package ships runs after it (here it is installed, and
  // the pkg is in noop mode, as in the original).
  renames.push([/\bhttpd\b/g, A], [/\/usr\/bin\/apachectl status/g, `/usr/bin/${A}`])
  const edges = await run('autoedges5.yaml')
  assert.match(edges, /exec\[pkg10\]: exited 0/)
})
