/**
 * mount, only inside mount namespaces of its own whose `/etc` is an overlay (a private fstab): an
 * ext4 image file, loop-mounted, with mount(8) where systemd is absent and through systemd's mount
 * unit on a confined systemd PID 1. The machine's fstab and mount table are never touched.
 */
import assert from 'node:assert/strict'
import { copyFile, link, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { runMgmt, startMgmt, watchingRun } from '../testing/cli.js'
import { whenContent, whenInDir } from '../testing/fswait.js'
import { Namespace } from '../testing/namespace.js'
import { cleanups, run } from '../testing/proc.js'
import { startSystemd } from '../testing/systemd.js'
import { hasExactly, parseLine, replaceEntry } from './mount/fstab.js'
import { mountUnitName } from './mount/mounts.js'
import { mount } from './mount.js'

test('mount params, fstab lines, unit names', () => {
  assert.ok(parseParams(mount, 'relative', { state: 'absent' }).issues.some(i => i.path[0] === 'name'))
  assert.ok(parseParams(mount, '/mnt/x', { state: 'exists' }).issues.some(i => i.path[0] === 'device'))
  const e = parseLine('/dev/sdb1  /mnt/a\\040b  ext4  noatime,size=1M  0 2')!
  assert.deepEqual(e, {
    spec: '/dev/sdb1',
    file: '/mnt/a b',
    vfstype: 'ext4',
    options: { noatime: '', size: '1M' },
    freq: 0,
    passno: 2,
  })
  const text = '# keep me\n/dev/sda1 / ext4 defaults 0 1\n/dev/x /mnt/a\\040b xfs defaults 0 0\n'
  const next = replaceEntry(text, '/mnt/a b/', e)
  assert.equal(
    next,
    '# keep me\n/dev/sda1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/a\\040b ext4 noatime,size=1M 0 2\n',
  )
  assert.ok(hasExactly(next, e))
  assert.equal(mountUnitName('/mnt/data disk/'), 'mnt-data\\x20disk.mount')
  assert.equal(mountUnitName('/var/lib/my-app'), 'var-lib-my\\x2dapp.mount')
})

/** An 8 MB ext4 image file. */
async function image(path: string): Promise<void> {
  await run('truncate', ['-s', '8M', path])
  await run('mkfs.ext4', ['-q', '-F', path])
}

/** Resolves once the status file says it was busy and converged again. */
const whenConvergedAgain = (status: string): Promise<void> =>
  whenInDir(
    dirname(status),
    async () => /^true\nfalse\n(.*\n)*true\n$/.test(await readFile(status, 'utf8')),
    `${status}: converged again`,
  )

const graph = (mp: string, device: string, state = 'exists'): string =>
  JSON.stringify({
    graph: 'm',
    resources: { mount: [{ name: mp, state, device, type: 'ext4', options: { noatime: '' } }] },
  })

test('mount with mount(8), in a namespace with a private fstab: mount, drift repair, unmount', async t => {
  const defer = cleanups(t)
  const ns = await Namespace.start({ overlayEtc: true })
  defer(() => ns.stop())
  const img = join(ns.dir, 'disk.img')
  const mp = join(ns.dir, 'mnt')
  await image(img)
  await mkdir(mp)
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${ns.dir}/no-bus` }
  const file = join(ns.dir, 'g.yaml')
  const mgmt = async (): Promise<string> => {
    const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', file], {
      env,
      prefix: ns.prefix,
    })
    assert.equal(r.code, 0, r.output)
    return r.output
  }
  await writeFile(file, graph(mp, img))
  assert.match(await mgmt(), /mounting with mount\(8\)/)
  assert.match(
    await readFile(join(ns.etcUpper, 'fstab'), 'utf8'),
    new RegExp(`^${img} ${mp} ext4 noatime 0 0$`, 'm'),
  )
  const source = (await ns.run('findmnt', ['-n', '-o', 'SOURCE', mp])).trim()
  assert.match(source, /^\/dev\/loop\d+$/)
  // Outside the namespace: nothing.
  assert.equal((await run('findmnt', ['-n', mp]).catch(() => '')).trim(), '')
  assert.doesNotMatch(await readFile('/etc/fstab', 'utf8'), /mgmt-t13/)

  // Unmounted by hand while mgmt runs: mounted again.
  const status = join(ns.dir, 'converged')
  const running = startMgmt(watchingRun(status, file), { env, prefix: ns.prefix })
  defer(() => running.kill())
  await whenContent(status, 'true\n')
  await ns.run('umount', [mp])
  await whenConvergedAgain(status)
  assert.match(running.output(), /mounting .* on /)
  assert.match((await ns.run('findmnt', ['-n', '-o', 'SOURCE', mp])).trim(), /^\/dev\/loop\d+$/)
  assert.equal(await running.kill(), 0)

  await writeFile(file, graph(mp, img, 'absent'))
  await mgmt()
  assert.equal((await ns.run('findmnt', ['-n', mp]).catch(() => '')).trim(), '')
  assert.doesNotMatch(await readFile(join(ns.etcUpper, 'fstab'), 'utf8'), /disk\.img/)
})

test('mount through systemd, on a confined systemd PID 1: the mount unit, drift repair, unmount', async t => {
  const defer = cleanups(t)
  const sd = await startSystemd()
  defer(() => sd.stop())
  // Inside, /run is sd.runDir: the image, the mount point and the graph live there.
  const inside = (p: string): string => join('/run', p)
  await image(join(sd.runDir, 'disk.img'))
  await mkdir(join(sd.runDir, 'mnt'))
  const mp = inside('mnt')
  const { DBUS_SYSTEM_BUS_ADDRESS: _, ...env } = process.env
  // The namespace's /tmp is its own: a node binary there (Node 24 in CI) is linked into /run.
  let node = process.execPath
  if (/^\/(var\/)?tmp\//.test(node)) {
    await link(node, join(sd.runDir, 'node')).catch(() => copyFile(node, join(sd.runDir, 'node')))
    node = inside('node')
  }
  const prefix = ['nsenter', '-t', String(sd.pid), '-m', '-p', '--']
  const mgmt = async (state: string): Promise<string> => {
    await writeFile(join(sd.runDir, 'g.yaml'), graph(mp, inside('disk.img'), state))
    const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', inside('g.yaml')], {
      env,
      prefix,
      node,
    })
    assert.equal(r.code, 0, r.output)
    return r.output
  }
  assert.match(await mgmt('exists'), /mounting through systemd \(run-mnt\.mount\)/)
  assert.equal((await sd.systemctl('is-active', 'run-mnt.mount')).trim(), 'active')
  assert.match(
    await readFile(join(sd.etcUpper, 'fstab'), 'utf8'),
    /^\/run\/disk\.img \/run\/mnt ext4 noatime 0 0$/m,
  )

  const running = startMgmt(watchingRun(inside('converged'), inside('g.yaml')), { env, prefix, node })
  defer(() => running.kill())
  const status = join(sd.runDir, 'converged')
  await whenContent(status, 'true\n')
  await sd.exec('umount', mp)
  await whenConvergedAgain(status)
  assert.match(running.output(), /mounting \/run\/disk\.img on \/run\/mnt/)
  assert.equal((await sd.systemctl('is-active', 'run-mnt.mount')).trim(), 'active')
  assert.equal(await running.kill(), 0)

  await mgmt('absent')
  assert.equal((await sd.systemctl('is-active', 'run-mnt.mount')).trim(), 'inactive')
  await whenContent(
    join(sd.etcUpper, 'fstab'),
    (await readFile(join(sd.etcUpper, 'fstab'), 'utf8')).replace(/^.*disk\.img.*\n/m, ''),
  )
  assert.doesNotMatch(await readFile(join(sd.etcUpper, 'fstab'), 'utf8'), /disk\.img/)
})
