/**
 * The cluster's version check before a join, against a stand-in of etcd's /version answers; the
 * joins themselves run against real etcd servers in src/cli/cluster.test.ts.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { versionDecided } from './cluster.js'

test('a join waits for the cluster to have decided its version, asked of the first seed that answers', async () => {
  const answers = ['not_decided', '3.4.0']
  const server = createServer((req, res) => {
    assert.equal(req.url, '/version')
    res.end(JSON.stringify({ etcdserver: '3.4.23', etcdcluster: answers.shift() }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const seed = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const down = 'http://127.0.0.1:1'
    const soon = (): number => Date.now() + 2000
    await assert.rejects(
      versionDecided([down, seed], soon()),
      /the cluster's version is not decided yet \(not_decided\)/,
    )
    await versionDecided([down, seed], soon())
    await assert.rejects(versionDecided([down], soon()))
  } finally {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
})
