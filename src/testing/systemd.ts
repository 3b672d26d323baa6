/**
 * Real systemd for tests, in the two forms that run without systemd as PID 1 (TESTING.md):
 *
 * - `startUserManager()`: `systemd --user` with a private runtime directory (its bus socket) and a
 *   private config directory (its unit files), in a mount namespace of its own whose `/run` is a
 *   tmpfs holding the `/run/systemd/system` marker, so the marker never appears on the host.
 * - `startSystemd()`: a real system manager as PID 1 of a confined namespace (its own pid, mount,
 *   uts and network namespaces): `/run` is a test directory, `/etc` a copy-on-write overlay of the
 *   host's (enable/disable, fstab and hostname writes stay inside), `/etc/systemd/system` and
 *   `/var/lib/systemd` private and empty, `/tmp` and `/var/tmp` fresh tmpfs, `/sys` and `/proc/sys`
 *   read-only, and every unit that would touch the machine masked. Only D-Bus runs.
 *
 * Both live in a cgroup of their own; `stop()` stops the manager by PID (TERM or poweroff, then
 * KILL), kills what is left in the cgroup, removes it, and removes every directory it made.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { whenOnBus } from './dbus.js'
import { run, runStatus, startDaemon, TestCgroup } from './proc.js'

export interface UserManager {
  /** XDG_RUNTIME_DIR, XDG_CONFIG_HOME and DBUS_SESSION_BUS_ADDRESS of the manager. */
  readonly env: Readonly<Record<string, string>>
  /** Where its unit files go (`$XDG_CONFIG_HOME/systemd/user`). */
  readonly unitDir: string
  /** `systemctl --user ARGS`: its stdout, whatever its exit code (`is-active` exits 3 for inactive). */
  systemctl(...args: string[]): Promise<string>
  stop(): Promise<void>
}

export interface SystemManager {
  /** PID 1 of the namespace, as the host sees it. */
  readonly pid: number
  /** The namespace's system bus, reachable from the host: `unix:path=<run>/dbus/system_bus_socket`. */
  readonly busAddress: string
  /** The namespace's `/run` as seen from the host. */
  readonly runDir: string
  /** `<run>/systemd/system`: runtime unit files (the namespace's `/run/systemd/system`). */
  readonly unitDir: string
  /** The upper layer of the namespace's `/etc`: what was written there. */
  readonly etcUpper: string
  /** `systemctl ARGS` inside the namespace: its stdout, whatever its exit code. */
  systemctl(...args: string[]): Promise<string>
  /** Runs a command inside the namespace's mount, pid and uts namespaces. */
  exec(cmd: string, ...args: string[]): Promise<string>
  stop(): Promise<void>
}

const unique = (): string => `mgmt-t13-${process.pid}-${randomBytes(3).toString('hex')}`

/** `systemd --user` for this test. */
export async function startUserManager(): Promise<UserManager> {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-t13-um-'))
  const cgroup = new TestCgroup(unique())
  const runtime = join(dir, 'run')
  const config = join(dir, 'config')
  const unitDir = join(config, 'systemd/user')
  await mkdir(runtime, { mode: 0o700 })
  await mkdir(unitDir, { recursive: true })
  const env = {
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: config,
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtime}/bus`,
  }
  const script = [
    'set -e',
    // The marker systemd checks for, in this namespace only.
    'mount -t tmpfs -o mode=755 mgmt-t13-run /run',
    'mkdir -p /run/systemd/system',
    await cgroup.enterScript(),
    'exec /lib/systemd/systemd --user',
  ].join('\n')
  const daemon = startDaemon('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
    env: { ...process.env, ...env },
  })
  const stop = async (): Promise<void> => {
    await daemon.stop('SIGTERM', 5000)
    await cgroup.remove()
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  }
  try {
    await whenOnBus(env.DBUS_SESSION_BUS_ADDRESS, 'org.freedesktop.systemd1', daemon)
  } catch (e) {
    await stop()
    throw e
  }
  return {
    env,
    unitDir,
    systemctl: async (...args) =>
      (await runStatus('systemctl', ['--user', ...args], { env: { ...process.env, ...env } })).stdout,
    stop,
  }
}

/** Units that would touch the machine (devices, kernel settings, the journal, timers): masked. */
const MASKED = [
  'systemd-journald.service',
  'systemd-journald@.service',
  'systemd-journald.socket',
  'systemd-journald-dev-log.socket',
  'systemd-journald-audit.socket',
  'systemd-journal-flush.service',
  'systemd-udevd.service',
  'systemd-udevd-control.socket',
  'systemd-udevd-kernel.socket',
  'systemd-udev-trigger.service',
  'systemd-udev-settle.service',
  'systemd-tmpfiles-setup.service',
  'systemd-tmpfiles-setup-dev.service',
  'systemd-tmpfiles-clean.timer',
  'systemd-sysctl.service',
  'systemd-modules-load.service',
  'systemd-binfmt.service',
  'proc-sys-fs-binfmt_misc.automount',
  'systemd-sysusers.service',
  'systemd-remount-fs.service',
  'systemd-update-utmp.service',
  'systemd-update-utmp-runlevel.service',
  'systemd-random-seed.service',
  'systemd-firstboot.service',
  'systemd-machine-id-commit.service',
  'systemd-pcrphase.service',
  'systemd-pcrphase-sysinit.service',
  'systemd-repart.service',
  'systemd-logind.service',
  'systemd-initctl.socket',
  'systemd-ask-password-console.path',
  'systemd-ask-password-wall.path',
  'kmod-static-nodes.service',
  'ldconfig.service',
  'dev-hugepages.mount',
  'dev-mqueue.mount',
  'sys-fs-fuse-connections.mount',
  'sys-kernel-config.mount',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'getty.target',
  'console-getty.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  'logrotate.timer',
  'man-db.timer',
  'dpkg-db-backup.timer',
]

/** SIGRTMIN+4 (glibc's SIGRTMIN is 34): systemd powers off. Node has no name for it. */
const SIGRTMIN_4 = 38

/** A system manager as PID 1 of a confined namespace, for this test. */
export async function startSystemd(): Promise<SystemManager> {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-t13-pid1-'))
  const cgroup = new TestCgroup(unique())
  const runDir = join(dir, 'run')
  const unitDir = join(runDir, 'systemd/system')
  const p = {
    etcUpper: join(dir, 'etc-upper'),
    etcWork: join(dir, 'etc-work'),
    etcSystemd: join(dir, 'etc-systemd'),
    varLibSystemd: join(dir, 'var-lib-systemd'),
  }
  await mkdir(unitDir, { recursive: true })
  for (const d of Object.values(p)) await mkdir(d, { recursive: true })
  // Extra masks for what this machine's own /lib/systemd/system wants early.
  const wants = await Promise.all(
    ['sysinit.target.wants', 'sockets.target.wants', 'timers.target.wants'].map(w =>
      readdir(join('/lib/systemd/system', w)).catch(() => [] as string[]),
    ),
  )
  const masked = new Set([
    ...MASKED,
    ...wants.flat().filter(u => !u.endsWith('.target') && u !== 'dbus.socket'),
  ])
  for (const u of masked) await symlink('/dev/null', join(unitDir, u))
  await writeFile(join(unitDir, 'mgmt-t13.target'), '[Unit]\nDescription=mgmt tests\nWants=dbus.service\n')
  const script = [
    'set -e',
    `mount --bind '${runDir}' /run`,
    `mount -t overlay mgmt-t13-etc -o 'lowerdir=/etc,upperdir=${p.etcUpper},workdir=${p.etcWork}' /etc`,
    `mount --bind '${p.etcSystemd}' /etc/systemd/system`,
    `mount --bind '${p.varLibSystemd}' /var/lib/systemd`,
    'mount -t tmpfs mgmt-t13-tmp /tmp',
    'mount -t tmpfs mgmt-t13-vartmp /var/tmp',
    'mount --bind /dev/null /dev/console',
    'mount --bind /sys /sys && mount -o remount,bind,ro /sys',
    'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys',
    'export container=mgmt-test',
    'exec /lib/systemd/systemd --unit=mgmt-t13.target',
  ].join('\n')
  // The shell joins the cgroup first; unshare then forks PID 1 of the new namespaces inside it.
  const outer = [
    'set -e',
    await cgroup.enterScript(),
    `exec unshare --net --pid --fork --kill-child --mount --uts --mount-proc --propagation private sh -c "$0"`,
  ].join('\n')
  const daemon = startDaemon('sh', ['-c', outer, script])
  const busAddress = `unix:path=${runDir}/dbus/system_bus_socket`
  let pid1 = -1
  // Inside, the host's bus addresses mean nothing: the namespace's tools use its own bus.
  const { DBUS_SYSTEM_BUS_ADDRESS: _s, DBUS_SESSION_BUS_ADDRESS: _u, ...inside } = process.env
  const nsenter = (cmd: string, args: string[]): Promise<string> =>
    run('nsenter', ['-t', String(pid1), '-m', '-p', '-u', '--', cmd, ...args], { env: inside })
  const stop = async (): Promise<void> => {
    if (pid1 > 0)
      try {
        process.kill(pid1, SIGRTMIN_4) // systemd: power off
      } catch {}
    const timer = setTimeout(() => void daemon.stop('SIGKILL'), 10_000)
    await daemon.exited
    clearTimeout(timer)
    await cgroup.remove()
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  }
  try {
    await whenOnBus(busAddress, 'org.freedesktop.systemd1', daemon)
    pid1 = Number((await run('pgrep', ['-P', String(daemon.pid), '-x', 'systemd'])).trim().split('\n')[0])
    if (!(pid1 > 0)) throw new Error('cannot find the namespace PID 1')
  } catch (e) {
    await stop()
    throw e
  }
  return {
    get pid() {
      return pid1
    },
    busAddress,
    runDir,
    unitDir,
    etcUpper: p.etcUpper,
    systemctl: async (...args) =>
      (
        await runStatus('nsenter', ['-t', String(pid1), '-m', '-p', '-u', '--', 'systemctl', ...args], {
          env: inside,
        })
      ).stdout,
    exec: (cmd, ...args) => nsenter(cmd, args),
    stop,
  }
}
