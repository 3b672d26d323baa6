/**
 * D-Bus for tests: waiting until a service owns its name on a bus, and a private system bus with
 * PackageKit (and polkit, which PackageKit asks) running inside a package sandbox, started by hand
 * as TESTING.md describes and stopped by PID.
 */
import { stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { Bus } from '../util/dbus.js'
import type { AptSandbox } from './aptrepo.js'
import { deadline } from './deadline.js'
import { whenInDir } from './fswait.js'
import type { Daemon } from './proc.js'

/**
 * Resolves once the socket of `address` exists (directory events) and `name` is owned on that bus
 * (a NameOwnerChanged signal): no polling.
 */
export async function whenOnBus(address: string, name: string, daemon: Daemon, ms = 20_000): Promise<void> {
  const socket = address.replace(/^unix:path=/, '')
  const failed = daemon.exited.then(code => {
    throw new Error(`the manager exited (${code}) before ${name} was on its bus:\n${daemon.output()}`)
  })
  failed.catch(() => {})
  // Each missing directory on the way to the socket is awaited in its parent.
  let dir = dirname(socket)
  while (!(await exists(dir))) dir = dirname(dir)
  for (const part of relative(dir, socket).split('/')) {
    const here = dir
    await Promise.race([whenInDir(here, () => exists(join(here, part)), `${join(here, part)}`, ms), failed])
    dir = join(dir, part)
  }
  const bus = await Promise.race([connectListening(address), failed])
  try {
    await Promise.race([
      failed,
      new Promise<void>((resolve, reject) => {
        const timer = deadline(ms, () => reject(new Error(`${name} not on the bus within ${ms} ms`)))
        let finished = false
        const done = (): void => {
          finished = true
          timer.cancel()
          resolve()
        }
        void bus
          .subscribe({ sender: 'org.freedesktop.DBus', member: 'NameOwnerChanged', arg0: name }, s => {
            if (s.body[2]) done()
          })
          .then(async () => {
            const dbusPath = [
              'org.freedesktop.DBus',
              '/org/freedesktop/DBus',
              'org.freedesktop.DBus',
            ] as const
            const [owned] = await bus.call(...dbusPath, 'NameHasOwner', 's', [name])
            if (owned) done()
          })
          // Once done, the bus is closed under a call still on its way: that is no failure.
          .catch(e => (finished ? undefined : reject(e)))
      }),
    ])
  } finally {
    bus.close()
  }
}

/**
 * A socket file appears at bind(), a moment before listen(): a refused connection in that moment
 * is retried (briefly; there is no event for listen()).
 */
async function connectListening(address: string): Promise<Bus> {
  for (let i = 0; ; i++) {
    try {
      return await Bus.connect('system', address)
    } catch (e) {
      if (i >= 100 || !String((e as Error).message).includes('ECONNREFUSED')) throw e
      await new Promise(r => setTimeout(r, 10))
    }
  }
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  )

/** A private system bus that allows everything to everyone: the bus of one test. */
const busConfig = (
  socket: string,
): string => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
`

export interface PackageKit {
  /** `DBUS_SYSTEM_BUS_ADDRESS` of its bus. */
  readonly busAddress: string
  stop(): Promise<void>
}

/**
 * A system bus of its own, polkitd and packagekitd, all in `box` (so PackageKit sees the
 * sandbox's apt configuration). packagekitd keeps its environment and never exits on idle.
 */
export async function startPackageKit(box: AptSandbox): Promise<PackageKit> {
  const socket = join(box.busDir, 'socket')
  const config = join(box.busDir, 'bus.conf')
  await writeFile(config, busConfig(socket))
  const busAddress = `unix:path=${socket}`
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: busAddress }
  const daemons: Daemon[] = []
  const stop = async (): Promise<void> => {
    for (const d of daemons.reverse()) await d.stop()
  }
  try {
    const bus = box.spawn(
      'dbus-daemon',
      [`--config-file=${config}`, '--nofork', '--nopidfile', '--nosyslog'],
      env,
    )
    daemons.push(bus)
    await whenOnBus(busAddress, 'org.freedesktop.DBus', bus)
    const polkit = box.spawn('/usr/lib/polkit-1/polkitd', ['--no-debug'], env)
    daemons.push(polkit)
    await whenOnBus(busAddress, 'org.freedesktop.PolicyKit1', polkit)
    const pk = box.spawn('/usr/libexec/packagekitd', ['--keep-environment', '--disable-timer'], env)
    daemons.push(pk)
    await whenOnBus(busAddress, 'org.freedesktop.PackageKit', pk)
  } catch (e) {
    await stop()
    throw e
  }
  return { busAddress, stop }
}
