/**
 * A small network of hosts for remote-execution tests and benchmarks: an initiator namespace and one
 * namespace per host (netns.ts), each host with its own real sshd on port 22 and its own directory
 * (`<dir>/<name>/`: `prefix/` as its MGMT_PREFIX, `tmp/` as its TMPDIR, `home/` as its HOME with the
 * client key in `.ssh/`, `out/` for what its graphs write); the initiator's is `<dir>/init/` (its
 * HOME, and `prefix/` as its MGMT_PREFIX). The hosts share this machine's file system, so a test
 * reads a host's files directly.
 *
 * Options per host: `passwords` (a throw-away user, `lab.user`, may log in there with a password),
 * `noNode` (the sessions' PATH holds only the few tools a remote run needs, no node).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, chown, copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type Running, type StartOptions, startMgmt } from './cli.js'
import { fastTmp } from './etcd.js'
import { createLab, type Lab, type LabHost } from './netns.js'
import { type KeyPair, newKeyPair, type Sshd, startSshd } from './sshd.js'

const run = promisify(execFile)

export interface HostSpec {
  readonly name: string
  readonly bridges: readonly number[]
  readonly passwords?: boolean
  readonly noNode?: boolean
}

export interface RemoteLabHost extends LabHost {
  readonly name: string
  /** `<lab dir>/<name>`. */
  readonly dir: string
  readonly sshd: Sshd
}

export interface RemoteLab {
  readonly dir: string
  readonly lab: Lab
  readonly init: LabHost
  readonly hosts: Readonly<Record<string, RemoteLabHost>>
  /** The key every host accepts for root; also in each host's ~/.ssh/id_ed25519. */
  readonly clientKey: KeyPair
  /** A known_hosts file listing every host under each of its addresses. */
  readonly knownHosts: string
  /** The user that may log in with a password where `passwords` is set. */
  readonly user?: { readonly name: string; readonly password: string }
  /** Starts the mgmt command in the initiator's namespace (HOME: `<dir>/init`). */
  mgmt(args: string[], opts?: StartOptions): Running
  cleanup(): Promise<void>
}

/** The tools a remote run needs besides node (a detached one: setsid, tail, grep; a reconnection: sleep), for a PATH without node. */
const TOOLS = [
  'sh',
  'bash',
  'id',
  'uname',
  'mkdir',
  'mktemp',
  'rm',
  'sha256sum',
  'cat',
  'setsid',
  'tail',
  'grep',
  'sleep',
]

/**
 * Runs a user-database command again while another process (a test running beside this one) holds
 * the lock on /etc/passwd or /etc/shadow.
 */
async function lockedRetry<T>(fn: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 1; ; i++)
    try {
      return await fn()
    } catch (err) {
      const text = String((err as { stderr?: unknown }).stderr ?? err)
      if (i >= tries || !/lock/i.test(text)) throw err
      await new Promise(r => setTimeout(r, 100 * i))
    }
}

export async function createRemoteLab(tag: string, specs: readonly HostSpec[]): Promise<RemoteLab> {
  // On tmpfs when there is one: the initiator's etcd (and a detached host's) fsyncs a lot.
  const dir = await fastTmp(`mgmt-${tag}-`)
  await chmod(dir, 0o755)
  const lab = await createLab(tag)
  const hosts: Record<string, RemoteLabHost> = {}
  let user: RemoteLab['user']
  const cleanups: (() => Promise<unknown>)[] = []
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => {})
    await lab.cleanup()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const init = await lab.host('init', [0])
    await mkdir(join(dir, 'init'))
    const clientKey = await newKeyPair(dir, 'client')
    if (specs.some(s => s.passwords)) {
      user = {
        name: `mgmt-t10-${randomBytes(3).toString('hex')}`,
        password: randomBytes(9).toString('base64url'),
      }
      const u = user
      const home = join(dir, specs.find(s => s.passwords)!.name, 'home')
      await lockedRetry(() => run('useradd', ['-M', '-d', home, '-s', '/bin/sh', u.name]))
      cleanups.push(() => lockedRetry(() => run('userdel', [u.name])))
      await lockedRetry(
        () =>
          new Promise<void>((resolve, reject) => {
            const c = execFile('chpasswd', err => (err ? reject(err) : resolve()))
            c.stdin!.end(`${u.name}:${u.password}\n`)
          }),
      )
    }
    const known: string[] = []
    for (const s of specs) {
      const h = await lab.host(s.name, s.bridges)
      const hd = join(dir, s.name)
      for (const sub of ['prefix', 'tmp', 'home/.ssh', 'out', 'bin'])
        await mkdir(join(hd, sub), { recursive: true })
      await copyFile(clientKey.file, join(hd, 'home/.ssh/id_ed25519'))
      if (s.noNode)
        for (const t of TOOLS)
          await symlink(`/usr/bin/${t}`, join(hd, 'bin', t)).catch(() =>
            symlink(`/bin/${t}`, join(hd, 'bin', t)),
          )
      if (s.passwords && user) {
        const { stdout } = await run('id', ['-u', user.name])
        for (const sub of ['', 'prefix', 'tmp', 'home', 'out']) await chown(join(hd, sub), Number(stdout), 0)
      }
      const sshd = await startSshd({
        dir: join(hd, 'sshd'),
        authorizedKeys: [clientKey.pub],
        netns: h.ns,
        passwords: s.passwords,
        env: {
          MGMT_PREFIX: join(hd, 'prefix'),
          TMPDIR: join(hd, 'tmp'),
          HOME: join(hd, 'home'),
          ...(s.noNode ? { PATH: join(hd, 'bin') } : {}),
        },
      })
      cleanups.push(() => sshd.stop())
      for (const b of s.bridges) known.push(`${h.addr(b)} ${sshd.hostKey}`)
      hosts[s.name] = { ...h, name: s.name, dir: hd, sshd }
    }
    const knownHosts = join(dir, 'known_hosts')
    await writeFile(knownHosts, `${known.join('\n')}\n`)
    return {
      dir,
      lab,
      init,
      hosts,
      clientKey,
      knownHosts,
      ...(user ? { user } : {}),
      mgmt: (args, opts = {}) =>
        startMgmt(args, {
          ...opts,
          via: ['ip', 'netns', 'exec', init.ns],
          // Its own prefix: the initiator's managed etcd keeps its data there.
          env: {
            HOME: join(dir, 'init'),
            MGMT_PREFIX: join(dir, 'init', 'prefix'),
            SSH_AUTH_SOCK: '',
            ...opts.env,
          },
        }),
      cleanup,
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}
