/**
 * hostname, only ever inside namespaces of its own (a hostname of their own, and `/etc` as an
 * overlay whose writes stay in the test's directory): by the files and the kernel where
 * systemd-hostnamed is absent, and through hostnamed on a confined systemd PID 1.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { hostname as osHostname } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { runMgmt, startMgmt, watchingRun } from '../testing/cli.js'
import { whenContent } from '../testing/fswait.js'
import { Namespace } from '../testing/namespace.js'
import { cleanups } from '../testing/proc.js'
import { startSystemd } from '../testing/systemd.js'
import { startResource } from '../testing/timeline.js'
import { hostname, namesOf, prettyOf, withPretty } from './hostname.js'

const machine = osHostname()

test('hostname params: every name defaults to hostname; names are checked', () => {
  const p = parseParams(hostname, 'h', { hostname: 'a.example', pretty_hostname: "A's box" }).params!
  assert.deepEqual(namesOf(p), { pretty: "A's box", static: 'a.example', transient: 'a.example' })
  assert.ok(parseParams(hostname, 'h', { static_hostname: 'no_underscores' }).issues.length)
  assert.equal(prettyOf('A=1\nPRETTY_HOSTNAME="x y"\n'), 'x y')
  assert.equal(withPretty('A=1\nPRETTY_HOSTNAME=old\n', 'new'), 'A=1\nPRETTY_HOSTNAME="new"\n')
})

test('hostname without hostnamed: the files and the kernel, in a namespace; drift repaired', async t => {
  const defer = cleanups(t)
  const ns = await Namespace.start({ uts: true, overlayEtc: true })
  defer(() => ns.stop())
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${ns.dir}/no-bus` }
  const graph = join(ns.dir, 'g.yaml')
  await writeFile(
    graph,
    JSON.stringify({
      graph: 'h',
      resources: {
        hostname: [{ name: 'h', hostname: 'mgmt-t13.example', pretty_hostname: 'mgmt test box' }],
      },
    }),
  )
  const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', graph], {
    env,
    prefix: ns.prefix,
  })
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /systemd-hostnamed is not available/)
  assert.equal((await ns.run('hostname', [])).trim(), 'mgmt-t13.example')
  assert.equal(await readFile(join(ns.etcUpper, 'hostname'), 'utf8'), 'mgmt-t13.example\n')
  assert.match(
    await readFile(join(ns.etcUpper, 'machine-info'), 'utf8'),
    /^PRETTY_HOSTNAME="mgmt test box"$/m,
  )
  // The machine itself is untouched.
  assert.equal(osHostname(), machine)
  assert.notEqual(await readFile('/etc/hostname', 'utf8').catch(() => ''), 'mgmt-t13.example\n')

  // /etc/hostname edited by hand while mgmt runs: put back.
  const status = join(ns.dir, 'converged')
  const running = startMgmt(watchingRun(status, graph), { env, prefix: ns.prefix })
  defer(() => running.kill())
  await whenContent(status, 'true\n')
  await ns.run('sh', ['-c', 'echo changed > /etc/hostname'])
  await whenContent(join(ns.etcUpper, 'hostname'), 'mgmt-t13.example\n')
  assert.equal(await running.kill(), 0)
})

test('hostname through systemd-hostnamed, on a confined systemd PID 1', async t => {
  const defer = cleanups(t)
  const sd = await startSystemd()
  defer(() => sd.stop())
  process.env.DBUS_SYSTEM_BUS_ADDRESS = sd.busAddress
  const h = await startResource(hostname, 'h', {
    hostname: 'mgmt-t13-hostnamed.example',
    pretty_hostname: 'pretty',
  })
  defer(() => h.stop())
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.ok(
    h.logs.some(l => l.includes('using systemd-hostnamed')),
    h.logs.join('\n'),
  )
  assert.equal((await sd.exec('hostname')).trim(), 'mgmt-t13-hostnamed.example')
  assert.equal(await readFile(join(sd.etcUpper, 'hostname'), 'utf8'), 'mgmt-t13-hostnamed.example\n')
  // Changed through hostnamed by someone else: the property change is drift.
  await h.expectEvent(() => sd.exec('hostnamectl', 'set-hostname', '--static', 'other'))
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(join(sd.etcUpper, 'hostname'), 'utf8'), 'mgmt-t13-hostnamed.example\n')
  assert.equal(osHostname(), machine)
})
