import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isMgmtError } from '../util/errors.js'
import { parseListen } from './listen.js'

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
