/** Connecting to a real sshd on loopback: host keys checked, logins tried in order, failures named. */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { freePort } from '../testing/ports.js'
import { type KeyPair, newKeyPair, type Sshd, startSshd } from '../testing/sshd.js'
import { isMgmtError } from '../util/errors.js'
import { memoryLogger, silentLogger } from '../util/logger.js'
import { loadCredentials } from './auth.js'
import { connect } from './connect.js'
import { execCapture } from './exec.js'
import type { RemoteUrl } from './url.js'

let dir: string
let sshd: Sshd
let client: KeyPair
let known: string
let target: RemoteUrl
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-connect-'))
  client = await newKeyPair(dir, 'client')
  sshd = await startSshd({ dir: join(dir, 'sshd'), authorizedKeys: [client.pub] })
  known = join(dir, 'known_hosts')
  await writeFile(known, `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`)
  target = { user: 'root', host: '127.0.0.1', port: sshd.port }
})
after(async () => {
  await sshd?.stop()
  await rm(dir, { recursive: true, force: true })
})

const creds = (explicit?: string) => loadCredentials({ explicit, home: dir, log: silentLogger })

test('a known host and an authorized key: connected, and a command runs', async () => {
  const conn = await connect(target, { credentials: await creds(client.file), knownHosts: known })
  try {
    const r = await execCapture(conn, 'echo hello; echo oops >&2; exit 3')
    assert.deepEqual(r, { stdout: 'hello\n', stderr: 'oops\n', code: 3, signal: null })
  } finally {
    conn.end()
  }
})

test('an unknown host key is refused, with its fingerprint and how to trust it', async () => {
  const empty = join(dir, 'empty_known_hosts')
  await assert.rejects(
    connect(target, { credentials: await creds(client.file), knownHosts: empty }),
    (e: Error) =>
      isMgmtError(e, 'ERR_REMOTE_HOSTKEY_UNKNOWN') &&
      /host key not known \(ssh-ed25519 SHA256:/.test(e.message) &&
      e.message.includes(`ssh-keyscan -p ${sshd.port} -t ed25519 127.0.0.1 >> ${empty}`),
  )
})

test('a changed host key is refused, with how to forget the old one', async () => {
  const other = await newKeyPair(dir, 'other')
  const file = join(dir, 'changed_known_hosts')
  await writeFile(file, `[127.0.0.1]:${sshd.port} ${other.pub}\n`)
  await assert.rejects(
    connect(target, { credentials: await creds(client.file), knownHosts: file }),
    (e: Error) =>
      isMgmtError(e, 'ERR_REMOTE_HOSTKEY_CHANGED') &&
      e.message.includes(`${file}:1`) &&
      e.message.includes(`ssh-keygen -R '[127.0.0.1]:${sshd.port}'`),
  )
})

test('a refused login lists what was tried; a closed port is named as such', async () => {
  const stranger = await newKeyPair(dir, 'stranger')
  await assert.rejects(
    connect(target, { credentials: await creds(stranger.file), knownHosts: known }),
    (e: Error) =>
      isMgmtError(e, 'ERR_REMOTE_AUTH') &&
      e.message.includes(`authentication refused (tried: key ${stranger.file})`),
  )
  await assert.rejects(
    connect(
      { ...target, password: 'not-this' },
      {
        credentials: await loadCredentials({ home: join(dir, 'nowhere'), log: silentLogger }),
        knownHosts: known,
      },
    ),
    (e: Error) => isMgmtError(e, 'ERR_REMOTE_AUTH') && !e.message.includes('not-this'),
  )
  const closed = await freePort()
  await assert.rejects(
    connect({ ...target, port: closed }, { credentials: await creds(client.file), knownHosts: known }),
    (e: Error) => isMgmtError(e, 'ERR_REMOTE_CONNECT') && /connection refused/.test(e.message),
  )
})

test('an encrypted key is skipped with a warning that says to use the agent', async () => {
  const { execFileSync } = await import('node:child_process')
  const file = join(dir, 'locked')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', file])
  const log = memoryLogger()
  const c = await loadCredentials({ explicit: file, home: dir, log })
  assert.deepEqual(c.keys, [])
  assert.deepEqual(log.lines, [
    `warn: ${file}: encrypted: add it to the SSH agent (ssh-add) to use it; not used`,
  ])
})

test('the default keys of ~/.ssh and the SSH agent are used', async () => {
  const home = join(dir, 'home')
  const { mkdir, copyFile } = await import('node:fs/promises')
  await mkdir(join(home, '.ssh'), { recursive: true })
  await copyFile(client.file, join(home, '.ssh', 'id_ed25519'))
  const fromHome = await loadCredentials({ home, log: silentLogger })
  assert.deepEqual(
    fromHome.keys.map(k => k.label),
    [join(home, '.ssh', 'id_ed25519')],
  )
  ;(await connect(target, { credentials: fromHome, knownHosts: known })).end()
  const { spawn, execFileSync } = await import('node:child_process')
  const sock = join(dir, 'agent.sock')
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' })
  try {
    const { whenEntry } = await import('../testing/fswait.js')
    await whenEntry(dir, 'agent.sock')
    execFileSync('ssh-add', ['-q', client.file], {
      env: { ...process.env, SSH_AUTH_SOCK: sock },
      stdio: 'ignore',
    })
    const viaAgent = await loadCredentials({ home: join(dir, 'nowhere'), agent: sock, log: silentLogger })
    ;(await connect(target, { credentials: viaAgent, knownHosts: known })).end()
  } finally {
    agent.kill('SIGTERM')
  }
})
