/**
 * The World contract, as tests: every implementation (`local.test.ts`, `etcd/world.test.ts`) runs
 * this one suite against its real backend. Watches are awaited through their events, never slept on.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Deploy, ExportedResource, World } from '../world/world.js'

export interface WorldUnderTest {
  /** A world for `hostname`, sharing its state with every other world this one opens. */
  open(hostname: string): Promise<World>
  /** Whether several hosts can share the state (etcd), or only one (local). */
  readonly multiHost: boolean
  /** Removes what `open` made (servers, directories). */
  cleanup(): Promise<void>
}

/** Counts a watch's calls, and waits for the count to reach a number. */
export class Calls {
  count = 0
  readonly #waiters: { n: number; resolve: () => void }[] = []
  readonly fn = (): void => {
    this.count++
    for (const w of [...this.#waiters])
      if (this.count >= w.n) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        w.resolve()
      }
  }
  /**
   * Resolves once `cond` holds, checked now and after each call; fails after `ms`. A check that
   * throws (the store unreachable, or just back) is made again 100 ms later: nothing else says
   * when it can answer.
   */
  async until(cond: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms
    let failure: unknown
    for (;;) {
      const seen = this.count
      const holds = await cond().then(
        ok => ok,
        (e: unknown) => {
          failure = e
          return undefined
        },
      )
      if (holds) return
      if (Date.now() > deadline)
        throw new Error(`watch: ${what} not within ${ms} ms`, failure ? { cause: failure } : undefined)
      if (holds === undefined) await new Promise(r => setTimeout(r, 100))
      else await this.reach(seen + 1, Math.max(1, deadline - Date.now())).catch(() => {})
    }
  }

  /** Resolves once the count is at least `n`; fails after `ms`. */
  reach(n: number, ms = 10_000): Promise<void> {
    if (this.count >= n) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`watch: ${this.count} calls, not ${n}, within ${ms} ms`)),
        ms,
      )
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(t)
          resolve()
        },
      })
    })
  }
}

const file = (name: string, content: string, to: string[] = ['*']): ExportedResource => ({
  kind: 'file',
  name,
  params: { path: `/tmp/x/${name}`, content, state: 'exists' },
  meta: {},
  to,
})

const deploy = (text: string): Omit<Deploy, 'id'> => ({
  frontend: 'yaml',
  main: 'graph.yaml',
  files: { 'graph.yaml': { data: Buffer.from(text).toString('base64'), mode: 0o644 } },
  time: new Date().toISOString(),
})

export function worldContract(name: string, setup: () => Promise<WorldUnderTest>): void {
  describe(`the World contract: ${name}`, () => {
    let wut: WorldUnderTest
    let h1: World
    const ac = new AbortController()
    before(async () => {
      wut = await setup()
      h1 = await wut.open('h1')
      await h1.ready()
    })
    after(async () => {
      ac.abort()
      await h1?.close()
      await wut?.cleanup()
    })

    test('strings: get, set, delete, and a watch that wakes on each change', async () => {
      assert.equal(await h1.strGet('k1'), undefined)
      const calls = new Calls()
      await h1.strWatch('k1', ac.signal, calls.fn)
      await calls.reach(1)
      await h1.strSet('k1', 'v1')
      await calls.reach(2)
      assert.equal(await h1.strGet('k1'), 'v1')
      await h1.strSet('k1', 'v2')
      await calls.reach(3)
      assert.equal(await h1.strGet('k1'), 'v2')
      await h1.strDel('k1')
      await calls.reach(4)
      assert.equal(await h1.strGet('k1'), undefined)
      // Keys with slashes are keys like any other; another key does not wake this watch.
      await h1.strSet('k1/sub', 'x')
      await h1.strSet('k1', 'v3')
      await calls.reach(5)
      assert.equal(calls.count, 5)
      assert.equal(await h1.strGet('k1/sub'), 'x')
    })

    test('string maps: one value per host', async () => {
      const calls = new Calls()
      await h1.strMapWatch('m', ac.signal, calls.fn)
      await calls.reach(1)
      await h1.strMapSet('m', 'a')
      await calls.reach(2)
      assert.deepEqual(await h1.strMapGet('m'), { h1: 'a' })
      if (wut.multiHost) {
        const h2 = await wut.open('h2')
        await h2.ready()
        await h2.strMapSet('m', 'b')
        await calls.reach(3)
        assert.deepEqual(await h1.strMapGet('m'), { h1: 'a', h2: 'b' })
        assert.deepEqual(await h2.strMapGet('m'), { h1: 'a', h2: 'b' })
        await h2.strMapDel('m')
        await calls.reach(4)
        assert.deepEqual(await h1.strMapGet('m'), { h1: 'a' })
        await h2.close()
      }
      await h1.strMapDel('m')
      assert.deepEqual(await h1.strMapGet('m'), {})
    })

    test("keys named like an object's own (__proto__, toString) are keys like any other", async () => {
      // A key comes from a graph: kept as an object's property, `__proto__` reached every object.
      assert.equal(await h1.strGet('toString'), undefined)
      assert.deepEqual(await h1.strMapGet('hasOwnProperty'), {})
      await h1.strSet('__proto__', 'v')
      await h1.strMapSet('__proto__', 'w')
      assert.equal(await h1.strGet('__proto__'), 'v')
      assert.deepEqual(Object.entries(await h1.strMapGet('__proto__')), [['h1', 'w']])
      assert.equal(({} as Record<string, unknown>).h1, undefined, 'no object gained a property')
      await h1.strDel('__proto__')
      await h1.strMapDel('__proto__')
      assert.equal(await h1.strGet('__proto__'), undefined)
    })

    test('exports: written only when changed, stale ones deleted, collected by kind and host', async () => {
      const calls = new Calls()
      await h1.resWatch(ac.signal, calls.fn)
      await calls.reach(1)
      assert.equal(await h1.resExport([file('a', '1'), file('b', '2')]), true)
      await calls.reach(2)
      // The same set in another order writes nothing; the next change wakes the watch once.
      assert.equal(await h1.resExport([file('b', '2'), file('a', '1')]), false)
      assert.equal(await h1.resExport([file('a', '1'), file('c', '3')]), true)
      await calls.reach(3)
      assert.equal(calls.count, 3)
      const got = await h1.resCollect({ kind: 'file' })
      assert.deepEqual(
        got.map(r => [r.host, r.name, r.params.content]),
        [
          ['h1', 'a', '1'],
          ['h1', 'c', '3'],
        ],
      )
      assert.deepEqual(await h1.resCollect({ kind: 'print' }), [])
      // Annotations travel with an export, and a change of them alone is a change.
      const annotated = { ...file('c', '3'), annotations: { puppet: { type: 'File', tags: ['web'] } } }
      assert.equal(await h1.resExport([file('a', '1'), annotated]), true)
      await calls.reach(4)
      assert.deepEqual((await h1.resCollect({ name: 'c' }))[0]?.annotations, annotated.annotations)
      if (wut.multiHost) {
        const h2 = await wut.open('h2')
        await h2.ready()
        await h2.resExport([file('d', '4', ['h1']), file('e', '5', ['h3'])])
        await calls.reach(5)
        // Exported to h1 or to everyone: h1 sees d; e is for h3 only.
        assert.deepEqual(
          (await h1.resCollect()).map(r => `${r.host}:${r.name}`),
          ['h1:a', 'h1:c', 'h2:d'],
        )
        assert.deepEqual(
          (await h2.resCollect({ host: 'h1' })).map(r => r.name),
          ['a', 'c'],
        )
        await h2.resExport([])
        await calls.reach(6)
        await h2.close()
      }
      assert.equal(await h1.resExport([]), true)
      assert.deepEqual(await h1.resCollect(), [])
    })

    test('convergence: each live host and its state', async () => {
      const calls = new Calls()
      await h1.convergedWatch(ac.signal, calls.fn)
      await calls.reach(1)
      await h1.setConverged(true)
      await calls.reach(2)
      assert.equal((await h1.convergedGet()).get('h1'), true)
      if (wut.multiHost) {
        const h2 = await wut.open('h2')
        await h2.ready()
        await calls.until(async () => (await h1.convergedGet()).has('h2'), 'h2 live')
        const both = await h1.convergedGet()
        assert.equal(both.get('h1'), true)
        assert.equal(both.get('h2'), false, 'a host that said nothing is not converged')
        await h2.setConverged(true)
        await calls.until(async () => (await h1.convergedGet()).get('h2') === true, 'h2 converged')
        // A host that leaves is no longer live.
        await h2.close()
        await calls.until(async () => !(await h1.convergedGet()).has('h2'), 'h2 gone')
        assert.deepEqual([...(await h1.convergedGet()).keys()], ['h1'])
      }
      await h1.setConverged(false)
      assert.equal((await h1.convergedGet()).get('h1'), false)
    })

    test('deploys: numbered in order, the newest by default', async () => {
      assert.equal(await h1.deployGet(), undefined)
      const calls = new Calls()
      await h1.deployWatch(ac.signal, calls.fn)
      await calls.reach(1)
      assert.equal(await h1.deployAdd(deploy('one')), 1)
      await calls.reach(2)
      assert.equal(await h1.deployAdd(deploy('two')), 2)
      await calls.reach(3)
      const newest = await h1.deployGet()
      assert.equal(newest?.id, 2)
      assert.equal(Buffer.from(newest!.files['graph.yaml']!.data, 'base64').toString(), 'two')
      assert.equal((await h1.deployGet(1))?.id, 1)
      assert.equal(await h1.deployGet(3), undefined)
    })

    test('what was stored is there after a restart', async () => {
      await h1.strSet('kept', 'yes')
      await h1.strMapSet('kept', 'mine')
      await h1.resExport([file('kept', 'k')])
      await h1.close()
      h1 = await wut.open('h1')
      await h1.ready()
      assert.equal(await h1.strGet('kept'), 'yes')
      assert.deepEqual(await h1.strMapGet('kept'), { h1: 'mine' })
      assert.deepEqual(
        (await h1.resCollect()).map(r => r.name),
        ['kept'],
      )
      assert.equal((await h1.deployGet())?.id, 2)
    })
  })
}
