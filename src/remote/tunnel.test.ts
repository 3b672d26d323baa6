/** The reverse tunnel through a real sshd: a port on the remote's loopback reaches a local server. */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { newKeyPair, type Sshd, startSshd } from '../testing/sshd.js'
import { silentLogger } from '../util/logger.js'
import { loadCredentials } from './auth.js'
import { connect } from './connect.js'
import { reverseTunnel } from './tunnel.js'

let dir: string
let sshd: Sshd
let echo: Server
let echoPort: number
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-tunnel-'))
  const client = await newKeyPair(dir, 'client')
  sshd = await startSshd({ dir: join(dir, 'sshd'), authorizedKeys: [client.pub] })
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`)
  echo = createServer(s => s.pipe(s))
  await new Promise<void>(r => echo.listen(0, '127.0.0.1', r))
  echoPort = (echo.address() as { port: number }).port
})
after(async () => {
  await sshd?.stop()
  echo?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Sends `msg` to port and resolves with what comes back before the far end closes. */
function roundTrip(port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1')
    let got = ''
    s.on('data', d => {
      got += d.toString()
      if (got.length >= msg.length) s.end()
    })
    s.on('close', () => resolve(got))
    s.on('error', reject)
    s.write(msg)
  })
}

test('a reverse tunnel carries connections from the remote loopback to a local port, until closed', async () => {
  const credentials = await loadCredentials({ explicit: join(dir, 'client'), home: dir, log: silentLogger })
  const conn = await connect(
    { user: 'root', host: '127.0.0.1', port: sshd.port },
    { credentials, knownHosts: join(dir, 'known_hosts') },
  )
  try {
    const t = await reverseTunnel(conn, { host: '127.0.0.1', port: echoPort })
    assert.ok(t.remotePort > 0 && t.remotePort !== echoPort)
    // Two connections at once, each with its own bytes.
    const [a, b] = await Promise.all([roundTrip(t.remotePort, 'first'), roundTrip(t.remotePort, 'second')])
    assert.deepEqual([a, b], ['first', 'second'])
    await t.close()
    await assert.rejects(roundTrip(t.remotePort, 'gone'), /ECONNREFUSED/)
  } finally {
    conn.end()
  }
})
