import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { COLLECT_GROWN, exposedGc, SettledCollector } from './collect.js'

test('a settled collector collects once the heap grew by COLLECT_GROWN since the last collection, and only then', () => {
  let held = 10 * COLLECT_GROWN
  let collections = 0
  const c = new SettledCollector(
    () => {
      collections++
      held -= 3 * COLLECT_GROWN
    },
    () => held,
  )
  held += COLLECT_GROWN - 1
  assert.equal(c.settled(), undefined, 'grown by less since it was made: not collected')
  assert.equal(collections, 0)
  held += 1
  const first = c.settled()
  assert.deepEqual(
    { ...first, ms: 0 },
    { beforeBytes: 11 * COLLECT_GROWN, afterBytes: 8 * COLLECT_GROWN, ms: 0 },
    'grown by COLLECT_GROWN: collected',
  )
  assert.equal(c.settled(), undefined, 'nothing grew since: not collected')
  // Growth counts from what the last collection left.
  held += COLLECT_GROWN
  assert.ok(c.settled())
  assert.equal(collections, 2)
  // collect() collects whatever the heap grew.
  assert.ok(c.collect())
  assert.equal(collections, 3)
})

test("V8's collector, exposed in a Node.js started without --expose-gc, collects and defines no gc", () => {
  // A Node.js of its own: the flag is the process's. Large strings, in the old generation, dropped.
  const script = `
    import { exposedGc, heldBytes } from ${JSON.stringify(new URL('./collect.js', import.meta.url).href)}
    const gc = exposedGc()
    // Flattened, so that each holds its 1 MB (repeat makes a tree of shared parts).
    let big = Array.from({ length: 16 }, (_, i) => {
      const s = String(i % 10).repeat(1 << 20)
      s.charCodeAt(1000)
      return s
    })
    gc()
    const kept = heldBytes()
    big = undefined
    gc()
    process.stdout.write(JSON.stringify({ freed: kept - heldBytes(), global: typeof globalThis.gc }))`
  const r = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
  ) as {
    freed: number
    global: string
  }
  assert.ok(r.freed >= 4 * COLLECT_GROWN, `freed ${r.freed} bytes of 16 MB`)
  assert.equal(r.global, 'undefined')
})

test("the build's warm-up, which writes the code cache, gets no collector and keeps V8's flags", () => {
  assert.equal(exposedGc({ MGMT_CODE_CACHE_OUT: '/x/mgmt.mjs.cache' }), undefined)
})
