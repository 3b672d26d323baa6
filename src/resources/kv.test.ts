import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { loadYamlFile } from '../frontends/yaml/parse.js'
import { run } from '../lib/run.js'
import { startEtcd, type TestEtcd } from '../testing/etcd.js'
import { tempPrefix } from '../testing/prefix.js'
import { startResource } from '../testing/timeline.js'
import { silentLogger } from '../util/logger.js'
import { EtcdWorld } from '../world/etcd/world.js'
import { LocalWorld } from '../world/local.js'
import type { World } from '../world/world.js'
import { builtinRegistry } from './index.js'
import { kv } from './kv.js'

const originals = fileURLToPath(new URL('../../../../shared/mgmt-yaml/examples/', import.meta.url))

interface Backend {
  /** A world of host `h`. */
  world(h: string): World
  /** What another client sees at `key` (etcdctl for etcd). */
  read(key: string): Promise<string | undefined>
  /** Another client writes `key`. */
  write(key: string, value: string): Promise<void>
}

function kvTimelines(name: string, backend: () => Backend): void {
  describe(`kv on the ${name} world`, () => {
    test('sets the key, sends it, and puts it back when someone else changes it', async () => {
      const b = backend()
      const h = await startResource(kv, 'greeting', { value: 'hello' }, { world: b.world('h1') })
      await h.startup()
      assert.equal(await h.converge(), 1)
      assert.equal(await b.read('strings/greeting'), 'hello')
      assert.deepEqual(h.sent, { value: 'hello' })
      await h.expectEvent(() => b.write('strings/greeting', 'clobbered'))
      assert.equal(await h.converge(), 1)
      assert.equal(await b.read('strings/greeting'), 'hello')
      await h.stop()
    })

    test('without a value the key is deleted; noop only says so', async () => {
      const b = backend()
      await b.write('strings/doomed', 'x')
      const noop = await startResource(kv, 'doomed', {}, { world: b.world('h1') })
      await noop.startup()
      assert.equal(await noop.checkApply(false), false)
      assert.equal(await b.read('strings/doomed'), 'x')
      assert.ok(noop.logs.includes('kv[doomed]: would delete doomed'), noop.logs.join('\n'))
      await noop.stop()
      const h = await startResource(kv, 'doomed', {}, { world: b.world('h1') })
      await h.startup()
      assert.equal(await h.converge(), 1)
      assert.equal(await b.read('strings/doomed'), undefined)
      await h.stop()
    })

    test('skiplessthan keeps a greater stored value unless notified', async () => {
      const b = backend()
      await b.write('strings/stage', '10')
      const h = await startResource(
        kv,
        'k',
        { key: 'stage', value: '9', skiplessthan: true },
        { world: b.world('h1') },
      )
      await h.startup()
      assert.equal(await h.converge(), 0)
      assert.deepEqual(h.sent, { value: '10' })
      // Not a number: old or corrupt, overwritten.
      await h.expectEvent(() => b.write('strings/stage', 'junk'))
      assert.equal(await h.converge(), 1)
      assert.equal(await b.read('strings/stage'), '9')
      await h.expectEvent(() => b.write('strings/stage', '11'))
      assert.equal(await h.converge(), 0)
      h.setRefresh(true)
      assert.equal(await h.converge(), 1)
      assert.equal(await b.read('strings/stage'), '9')
      await h.stop()
      // As strings, "b" is greater than "a10".
      await b.write('strings/word', 'b')
      const s = await startResource(
        kv,
        'w',
        { key: 'word', value: 'a10', skiplessthan: true, skipcmpstyle: 1 },
        { world: b.world('h1') },
      )
      await s.startup()
      assert.equal(await s.converge(), 0)
      await s.stop()
    })

    test("mapped: this host's own entry of a per-host key", async () => {
      const b = backend()
      const world = b.world('h1')
      const h = await startResource(kv, 'm', { key: 'role', value: 'web', mapped: true }, { world })
      await h.startup()
      assert.equal(await h.converge(), 1)
      assert.equal(await b.read(`strings/role/${world.hostname}`), 'web')
      assert.equal(await b.read('strings/role'), undefined)
      await h.stop()
    })
  })
}

test('kv validates its value against its comparison', async () => {
  await assert.rejects(
    startResource(kv, 'k', { value: 'x', skiplessthan: true }),
    /value: `x` is not a whole number/,
  )
})

// The local world: "another client" is the same world's API (one host, one process).
kvTimelines('local', () => {
  const world = new LocalWorld('h1')
  return {
    world: () => world,
    read: async k => {
      const [, key, host] = /^strings\/([^/]+)(?:\/(.+))?$/.exec(k)!
      return host ? (await world.strMapGet(key!))[host] : world.strGet(key!)
    },
    write: (k, v) => world.strSet(k.slice('strings/'.length), v),
  }
})

let etcd: TestEtcd
const worlds: World[] = []
before(async () => {
  etcd = await startEtcd()
})
after(async () => {
  for (const w of worlds) await w.close()
  await etcd?.cleanup()
})

kvTimelines('etcd', () => ({
  // Each test's host has its own name: a name stays registered while its world is open.
  world: h => {
    const w = new EtcdWorld({
      hostname: `${h}-${worlds.length}`,
      endpoints: [etcd.clientUrl],
      log: silentLogger,
    })
    worlds.push(w)
    return w
  },
  read: k => etcd.get(`/_mgmt/${k}`),
  write: async (k, v) => {
    await etcd.ctl('put', `/_mgmt/${k}`, v)
  },
}))

describe("the original's kv examples", () => {
  const registry = builtinRegistry()
  const example = (f: string) => loadYamlFile(join(originals, f), registry)

  test('on the local world, persisted under the prefix', async () => {
    const prefix = await mkdtemp(join(tmpdir(), 'mgmt-9-kv-'))
    try {
      const saved = async () =>
        JSON.parse(await readFile(join(prefix, 'world', 'world.json'), 'utf8')).strings
      const go = async (f: string) =>
        assert.deepEqual(
          (await run(await example(f), { prefix, convergedTimeout: 0, log: 'silent' })).failed,
          [],
        )
      await go('kv1.yaml')
      assert.equal((await saved()).hello, 'world')
      await go('kv4.yaml')
      assert.equal((await saved()).stage, '3')
      // kv3 sets 3 with skiplessthan: a greater stage stays.
      const w = new LocalWorld('x', join(prefix, 'world'))
      await w.strSet('stage', '7')
      await w.strSet('iamdeleted', 'soon')
      await w.close()
      await go('kv3.yaml')
      assert.equal((await saved()).stage, '7')
      await go('kv2.yaml')
      assert.equal((await saved()).iamdeleted, undefined)
      assert.equal((await saved()).hello, 'world', 'kv values survive a restart')
    } finally {
      await rm(prefix, { recursive: true, force: true })
    }
  })

  test('on etcd, read back by etcdctl', async () => {
    // A converged exit waits for every live host: the hosts of the tests above leave first.
    for (const w of worlds.splice(0)) await w.close()
    const go = async (f: string) => {
      const world = new EtcdWorld({ hostname: 'kvx', endpoints: [etcd.clientUrl], log: silentLogger })
      try {
        assert.deepEqual(
          (await run(await example(f), { prefix: tempPrefix(), world, convergedTimeout: 0, log: 'silent' }))
            .failed,
          [],
        )
      } finally {
        await world.close()
      }
    }
    await etcd.ctl('del', '--prefix', '/_mgmt/strings/')
    await go('kv1.yaml')
    assert.equal(await etcd.get('/_mgmt/strings/hello'), 'world')
    await go('kv4.yaml')
    assert.equal(await etcd.get('/_mgmt/strings/stage'), '3')
    await etcd.ctl('put', '/_mgmt/strings/stage', '7')
    await go('kv3.yaml')
    assert.equal(await etcd.get('/_mgmt/strings/stage'), '7')
    await etcd.ctl('put', '/_mgmt/strings/iamdeleted', 'soon')
    await go('kv2.yaml')
    assert.equal(await etcd.get('/_mgmt/strings/iamdeleted'), undefined)
  })
})
