import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LocalWorld } from '../world/local.js'
import { type LinkedWorld, worldLink } from './link.js'

/** A world of one host, reached at `clientUrls` (and serving peers at `peerUrls`). */
function linked(clientUrls: string[], peerUrls?: string[]): LinkedWorld {
  const w = new LocalWorld('h1') as unknown as LinkedWorld
  w.endpoints = async () => ({ clientUrls, ...(peerUrls ? { peerUrls } : {}) })
  return w
}

const options = { detach: false, hosts: 2, idealClusterSize: 5 }

test('attached: a client of the tunnel, which leads to the etcd this host talks to', async () => {
  const link = worldLink(linked(['http://0.0.0.0:2379', 'http://10.0.0.1:2379']), options)
  assert.deepEqual(await link.target(), { host: '127.0.0.1', port: 2379 })
  assert.deepEqual(link.args(40000, '10.0.0.2'), ['--no-server', '--seeds', 'http://127.0.0.1:40000'])
  assert.equal(link.peer, undefined)
  // A middle host: its seeds are its own tunnel, where its children's tunnels lead.
  const middle = worldLink(linked(['http://127.0.0.1:40000']), options)
  assert.deepEqual(await middle.target(), { host: '127.0.0.1', port: 40000 })
})

test('detached: a member on the address it was reached at; the peers port tunnelled only from loopback', async () => {
  const link = worldLink(linked(['http://127.0.0.1:2379'], ['http://127.0.0.1:2380']), {
    ...options,
    detach: true,
  })
  assert.deepEqual(link.args(40000, '10.0.0.2'), [
    '--seeds',
    'http://127.0.0.1:40000',
    '--client-urls',
    'http://10.0.0.2:2379',
    '--server-urls',
    'http://10.0.0.2:2380',
    '--ideal-cluster-size',
    '5',
  ])
  assert.deepEqual(link.args(40000, 'fd00::2').slice(3, 6), [
    'http://[fd00::2]:2379',
    '--server-urls',
    'http://[fd00::2]:2380',
  ])
  assert.throws(() => link.args(40000, undefined), /which address it was reached at/)
  assert.deepEqual(await link.peer?.(), { host: '127.0.0.1', port: 2380 })
  const reachable = worldLink(linked(['http://10.0.0.1:2379'], ['http://10.0.0.1:2380']), {
    detach: true,
    hosts: 7,
    idealClusterSize: 5,
  })
  assert.equal(await reachable.peer?.(), undefined, 'members reach a peer URL on the network themselves')
  assert.equal(reachable.args(1, '10.0.0.2').at(-1), '8', 'every host of seven, and this one, a member')
})

test("a host's convergence follows its key in the world, from one watch", async () => {
  const world = linked(['http://127.0.0.1:2379'])
  const link = worldLink(world, options)
  const heard: boolean[] = []
  let wake: (() => void) | undefined
  const next = (): Promise<void> => new Promise(r => (wake = r))
  const unfollow = link.converged!('h1', c => {
    heard.push(c)
    wake?.()
  })
  let seen = next()
  await world.setConverged(true)
  await seen
  seen = next()
  await world.setConverged(false)
  await seen
  unfollow()
  // Another follower hears the next change; the first one, gone, does not.
  const later = new Promise<boolean>(r => link.converged!('h1', r))
  await world.setConverged(true)
  assert.equal(await later, true)
  assert.deepEqual(heard, [true, false])
})
