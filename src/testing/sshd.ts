/**
 * A real OpenSSH server for tests (`/usr/sbin/sshd -D -e`), with its own host key, config and
 * authorized keys in a test directory, listening on loopback (a random free port) or, inside a
 * network namespace, on port 22. Stopped by PID (TERM, then KILL).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { deadline } from './deadline.js'
import { freePort } from './ports.js'

const run = promisify(execFile)

export interface KeyPair {
  /** The private key's path. */
  readonly file: string
  /** `type base64`: the public key, as in authorized_keys and known_hosts. */
  readonly pub: string
}

/** A fresh ed25519 key pair from ssh-keygen, without a passphrase. */
export async function newKeyPair(dir: string, name: string): Promise<KeyPair> {
  const file = join(dir, name)
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file])
  const [type, b64] = (await readFile(`${file}.pub`, 'utf8')).split(' ')
  return { file, pub: `${type} ${b64}` }
}

export interface SshdOptions {
  /** Where its key, config and logs go. */
  readonly dir: string
  /** Public keys (`type base64`) that may log in as root. */
  readonly authorizedKeys: readonly string[]
  /** Run inside this network namespace, on port 22 of every address. */
  readonly netns?: string
  /** Allow password logins (checked against the system's accounts). */
  readonly passwords?: boolean
  /** Variables set in every session (sshd's `SetEnv`: PATH, HOME, MGMT_PREFIX...). */
  readonly env?: Readonly<Record<string, string>>
}

export interface Sshd {
  readonly port: number
  /** The host's public key (`type base64`), for a known_hosts line. */
  readonly hostKey: string
  readonly child: ChildProcess
  /** TERM, then KILL after a second. */
  stop(): Promise<void>
}

export async function startSshd(o: SshdOptions): Promise<Sshd> {
  await mkdir(o.dir, { recursive: true })
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 })
  const key = await newKeyPair(o.dir, 'host_ed25519')
  const port = o.netns ? 22 : await freePort()
  // For root only: another user logs in by password (or not at all).
  await writeFile(join(o.dir, 'authorized_keys.root'), `${o.authorizedKeys.join('\n')}\n`, { mode: 0o644 })
  const env = Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`)
  const config = join(o.dir, 'sshd_config')
  await writeFile(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${o.netns ? '0.0.0.0' : '127.0.0.1'}`,
      `HostKey ${key.file}`,
      `PidFile ${join(o.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(o.dir, 'authorized_keys.%u')}`,
      'PermitRootLogin prohibit-password',
      `PasswordAuthentication ${o.passwords ? 'yes' : 'no'}`,
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'Subsystem sftp internal-sftp',
      'MaxStartups 100',
      ...(env.length ? [`SetEnv ${env.join(' ')}`] : []),
      '',
    ].join('\n'),
  )
  const argv = ['/usr/sbin/sshd', '-D', '-e', '-f', config]
  const [cmd, ...args] = o.netns ? ['ip', 'netns', 'exec', o.netns, ...argv] : argv
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  const exited = new Promise<void>(r => child.once('exit', () => r()))
  await new Promise<void>((resolve, reject) => {
    const timer = deadline(10_000, () => reject(new Error(`sshd did not start within 10 s:\n${log}`)))
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString()
      if (/Server listening on/.test(log)) {
        timer.cancel()
        resolve()
      }
    })
    void exited.then(() => {
      timer.cancel()
      reject(new Error(`sshd exited:\n${log}`))
    })
  })
  return {
    port,
    hostKey: key.pub,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 1000)
      await exited
      clearTimeout(t)
    },
  }
}
