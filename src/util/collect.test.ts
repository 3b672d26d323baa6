import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { COLLECT_GROWN, exposedGc } from './collect.js'

/** Runs `body` in a Node.js of its own, and gives what it printed as JSON. */
function inNode(body: string): unknown {
  const script = `
    import { exposedGc, SettledCollector } from ${JSON.stringify(new URL('./collect.js', import.meta.url).href)}
    const print = v => process.stdout.write(JSON.stringify(v))
    ${body}`
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  })
  return JSON.parse(out)
}

test('once the heap has grown, a settled collector collects, and then not again until it grows again', () => {
  // A Node.js started without --expose-gc, as the command's is.
  const r = inNode(
    `const c = new SettledCollector(exposedGc())
    // Garbage: ${COLLECT_GROWN * 3} bytes of strings, dropped before the collector looks.
    let junk = Array.from({ length: ${(COLLECT_GROWN * 3) / 1024} }, (_, i) => String(i).padStart(1024, 'x'))
    junk = undefined
    const a = c.settled()
    const b = c.settled()
    junk = Array.from({ length: ${(COLLECT_GROWN * 3) / 1024} }, (_, i) => String(i).padStart(1024, 'y'))
    junk = undefined
    const again = c.settled()
    print({ a, b, again, global: typeof globalThis.gc })`,
  ) as Record<string, { beforeBytes: number; afterBytes: number } | undefined> & { global: string }
  assert.ok(r.a, 'the first time: collected')
  assert.ok(r.a.beforeBytes - r.a.afterBytes >= COLLECT_GROWN, `${r.a.beforeBytes} -> ${r.a.afterBytes}`)
  assert.equal(r.b, undefined, 'nothing grew since: not collected')
  assert.ok(r.again, 'grown again: collected again')
  assert.equal(r.global, 'undefined', 'no gc is defined in the process')
})

test("the build's warm-up, which writes the code cache, gets no collector and keeps V8's flags", () => {
  assert.equal(exposedGc({ MGMT_CODE_CACHE_OUT: '/x/mgmt.mjs.cache' }), undefined)
})
