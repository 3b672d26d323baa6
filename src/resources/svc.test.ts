/**
 * svc against real systemd: a user manager (session units) and a system manager as PID 1 of a
 * confined namespace. Each test starts its own manager and stops it, with every unit it made.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { runMgmt } from '../testing/cli.js'
import { whenContent } from '../testing/fswait.js'
import { cleanups } from '../testing/proc.js'
import { startSystemd, startUserManager } from '../testing/systemd.js'
import { startResource } from '../testing/timeline.js'
import { serviceUnit, svc } from './svc.js'

/** A unit that sleeps, and logs each start and reload to `log`. */
const unitFile = (log: string, wantedBy: string, extra = ''): string =>
  `[Unit]
Description=mgmt test service
[Service]
ExecStartPre=/bin/sh -c 'echo start${extra} >> ${log}'
ExecStart=/bin/sleep infinity
ExecReload=/bin/sh -c 'echo reload >> ${log}'
[Install]
WantedBy=${wantedBy}
`

/** A graph of the original (its examples/yaml), or undefined when they are not here. */
const original = (file: string): Promise<string | undefined> =>
  readFile(new URL(`../../../../shared/mgmt-yaml/examples/${file}`, import.meta.url), 'utf8').catch(
    () => undefined,
  )

const lines = async (path: string): Promise<string[]> =>
  (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean)

test('svc params: state, startup, session; the unit name', () => {
  assert.deepEqual(parseParams(svc, 'nginx', {}).params, { state: '', startup: '', session: false })
  assert.match(parseParams(svc, 'x', { state: 'started' }).issues[0]?.message ?? '', /running/)
  assert.equal(serviceUnit('nginx'), 'nginx.service')
  assert.equal(serviceUnit('dbus.socket'), 'dbus.socket')
  assert.deepEqual(parseParams(svc, 'getty@tty1', {}).issues, [])
  // A name is a unit name, and so a file name in the unit directories: no way out of them.
  for (const name of ['../../etc/passwd', '.hidden', 'a b'])
    assert.deepEqual(
      parseParams(svc, name, {}).issues.map(i => i.path),
      [['name']],
      name,
    )
  assert.deepEqual([...(svc.autoEdges?.(parseParams(svc, 'a', {}).params!, 'a') ?? [])][0], [
    'file:/etc/systemd/system/a.service',
  ])
})

test('svc on a user manager: start, enable, drift repair, reload on a notification, stop, disable', async t => {
  const defer = cleanups(t)
  const um = await startUserManager()
  defer(() => um.stop())
  const env = { ...process.env, ...um.env }
  Object.assign(process.env, um.env)
  const name = `mgmt-t13-svc-${process.pid}`
  const log = join(um.env.XDG_RUNTIME_DIR, 'log')
  await writeFile(join(um.unitDir, `${name}.service`), unitFile(log, 'default.target'))

  const h = await startResource(svc, name, { state: 'running', startup: 'enabled', session: true })
  defer(() => h.stop())
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.equal((await um.systemctl('is-active', name)).trim(), 'active')
  assert.equal((await um.systemctl('is-enabled', name)).trim(), 'enabled')
  assert.deepEqual(await lines(log), ['start'])

  // Stopped by hand: the watch sees it, the next check starts it again.
  await h.expectEvent(() => um.systemctl('stop', name))
  assert.equal(await h.converge(), 1)
  assert.equal((await um.systemctl('is-active', name)).trim(), 'active')
  assert.deepEqual(await lines(log), ['start', 'start'])

  // A notification reloads it (it was not just started).
  h.setRefresh(true)
  assert.equal(await h.checkApply(), false)
  assert.deepEqual(await lines(log), ['start', 'start', 'reload'])
  assert.equal(await h.checkApply(), true)
  await h.stop()

  const off = await startResource(svc, name, { state: 'stopped', startup: 'disabled', session: true })
  defer(() => off.stop())
  await off.startup()
  assert.equal(await off.converge(), 1)
  assert.equal((await um.systemctl('is-active', name)).trim(), 'inactive')
  assert.equal((await um.systemctl('is-enabled', name)).trim(), 'disabled')
  await off.stop()

  // noop: says what it would do, does nothing.
  const dry = await startResource(svc, name, { state: 'running', startup: 'enabled', session: true })
  defer(() => dry.stop())
  await dry.startup()
  assert.equal(await dry.checkApply(false), false)
  assert.ok(
    dry.logs.some(l => l.endsWith(`would start ${name}.service (it is inactive)`)),
    dry.logs.join('\n'),
  )
  assert.equal((await um.systemctl('is-active', name)).trim(), 'inactive')
  assert.equal((await um.systemctl('is-enabled', name)).trim(), 'disabled')
  await dry.stop()

  // The engine: a changed config file notifies the service, which reloads; the unit file, written
  // by a file resource, comes first (automatic edge), and a change of it means daemon-reload and
  // a restart.
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-t13-svc-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const graph = (conf: string, unit: string): string =>
    JSON.stringify({
      graph: 'svc',
      resources: {
        file: [
          { name: 'unit', path: join(um.unitDir, `${name}.service`), state: 'exists', content: unit },
          { name: 'conf', path: join(dir, 'conf'), state: 'exists', content: conf },
        ],
        svc: [{ name, state: 'running', session: true }],
      },
      edges: [{ name: 'e1', from: { kind: 'file', name: 'conf' }, to: { kind: 'svc', name }, notify: true }],
    })
  await rm(log)
  const file = join(dir, 'g.yaml')
  const mgmt = (): Promise<{ code: number; output: string }> =>
    runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', file], { env })
  await writeFile(file, graph('v1\n', unitFile(log, 'default.target')))
  let r = await mgmt()
  assert.equal(r.code, 0, r.output)
  assert.deepEqual(await lines(log), ['start'], r.output)
  await writeFile(file, graph('v2\n', unitFile(log, 'default.target')))
  r = await mgmt()
  assert.equal(r.code, 0, r.output)
  assert.deepEqual(await lines(log), ['start', 'reload'], r.output)
  r = await mgmt()
  assert.deepEqual(await lines(log), ['start', 'reload'], r.output)
  await writeFile(file, graph('v2\n', unitFile(log, 'default.target', ' v2')))
  r = await mgmt()
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /daemon-reload/)
  assert.deepEqual(await lines(log), ['start', 'reload', 'start v2'], r.output)
  await um.systemctl('stop', name)

  // The original's svc2 (a session unit kept running), its unit renamed to the test's.
  const svc2 = await original('svc2.yaml')
  if (svc2) {
    await writeFile(file, svc2.replace(/purpleidea/g, name))
    r = await mgmt()
    assert.equal(r.code, 0, r.output)
    assert.equal((await um.systemctl('is-active', name)).trim(), 'active')
    await um.systemctl('stop', name)
  }
})

test('svc on a system manager (PID 1 of a confined namespace)', async t => {
  const defer = cleanups(t)
  const sd = await startSystemd()
  defer(() => sd.stop())
  process.env.DBUS_SYSTEM_BUS_ADDRESS = sd.busAddress
  const name = `mgmt-t13-svc-${process.pid}`
  // Inside, /run is sd.runDir: the unit logs there, where the test can read it.
  await writeFile(join(sd.unitDir, `${name}.service`), unitFile(`/run/${name}.log`, 'multi-user.target'))
  const log = join(sd.runDir, `${name}.log`)

  const h = await startResource(svc, name, { state: 'running', startup: 'enabled' })
  defer(() => h.stop())
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.equal((await sd.systemctl('is-active', name)).trim(), 'active')
  assert.equal((await sd.systemctl('is-enabled', name)).trim(), 'enabled')

  await h.expectEvent(() => sd.systemctl('stop', name))
  assert.equal(await h.converge(), 1)
  assert.equal((await sd.systemctl('is-active', name)).trim(), 'active')

  h.setRefresh(true)
  assert.equal(await h.checkApply(), false)
  await whenContent(log, 'start\nstart\nreload\n')

  // Disabled by hand: drift too.
  await h.expectEvent(() => sd.systemctl('disable', name))
  assert.equal(await h.converge(), 1)
  assert.equal((await sd.systemctl('is-enabled', name)).trim(), 'enabled')
  await h.stop()

  const off = await startResource(svc, name, { state: 'stopped', startup: 'disabled' })
  defer(() => off.stop())
  await off.startup()
  assert.equal(await off.converge(), 1)
  assert.equal((await sd.systemctl('is-active', name)).trim(), 'inactive')
  assert.equal((await sd.systemctl('is-enabled', name)).trim(), 'disabled')

  // The original's svc1 (noop -> file -> svc, running and enabled), renamed to the test's unit and
  // files, run by the mgmt command against this manager.
  const svc1 = await original('svc1.yaml')
  if (svc1) {
    const dir = await mkdtemp(join(tmpdir(), 'mgmt-t13-svc1-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    await writeFile(
      join(dir, 'svc1.yaml'),
      svc1.replace(/purpleidea/g, name).replace(/\/tmp\/mgmt\//g, `${dir}/`),
    )
    const r = await runMgmt(
      ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', join(dir, 'svc1.yaml')],
      {
        env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: sd.busAddress },
      },
    )
    assert.equal(r.code, 0, r.output)
    assert.equal(await readFile(join(dir, 'f1'), 'utf8'), 'i am f1\n')
    assert.equal((await sd.systemctl('is-active', name)).trim(), 'active')
    assert.equal((await sd.systemctl('is-enabled', name)).trim(), 'enabled')
  }

  // A unit that does not exist is an error that says so.
  const missing = await startResource(svc, 'mgmt-t13-nothing', { state: 'running' })
  defer(() => missing.stop())
  await missing.startup()
  await assert.rejects(missing.checkApply(), /mgmt-t13-nothing\.service does not exist/)
})
