import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import { isMgmtError } from '../util/errors.js'
import { closeServer, listen, MAX_VIEWERS, parseListen } from './listen.js'

test('a listen address: HOST:PORT, [IPV6]:PORT, :PORT or a port alone (loopback), else a usage error', () => {
  for (const [addr, host, port] of [
    ['8080', '127.0.0.1', 8080],
    ['0', '127.0.0.1', 0],
    [':9233', '127.0.0.1', 9233],
    ['0.0.0.0:80', '0.0.0.0', 80],
    ['localhost:0', 'localhost', 0],
    ['[::1]:8080', '::1', 8080],
  ] as const)
    assert.deepEqual(parseListen(addr, '--http-listen'), { host, port }, addr)
  for (const addr of ['999999', '1.2.3.4:65536', 'host:', 'a:b', '::1:80', '[::1]80', ''])
    assert.throws(
      () => parseListen(addr, '--http-listen'),
      e =>
        isMgmtError(e, 'ERR_USAGE') &&
        e.message.includes(`--http-listen expects HOST:PORT, [IPV6]:PORT, :PORT or PORT, not \`${addr}\``),
      addr,
    )
})

test('a view serves so many connections at once, and closes more at once', async () => {
  const server = await listen({ host: '127.0.0.1', port: 0 }, 'the test view', (_req, res) => res.end('ok\n'))
  const sockets: Socket[] = []
  try {
    const port = (server.address() as { port: number }).port
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => resolve(c))
        c.on('error', reject)
        sockets.push(c)
      })
    const closedAtOnce = (c: Socket): Promise<boolean> =>
      new Promise(resolve => {
        c.once('data', () => resolve(false))
        c.once('close', () => resolve(true))
        c.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
      })
    for (let i = 0; i < MAX_VIEWERS; i++) await open()
    assert.equal(await closedAtOnce(await open()), true)
    assert.equal(await closedAtOnce(sockets[0]!), false, 'the first ones are served')
  } finally {
    for (const c of sockets) c.destroy()
    await closeServer(server)
  }
})
