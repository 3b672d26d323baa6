import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { COLLECT_GROWN, SettledCollector } from './collect.js'

/** Runs `body` in a Node.js of its own, with `flags`, and gives what it printed as JSON. */
function inNode(flags: readonly string[], body: string): unknown {
  const script = `
    import { SettledCollector } from ${JSON.stringify(new URL('./collect.js', import.meta.url).href)}
    const print = v => process.stdout.write(JSON.stringify(v))
    ${body}`
  const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
    encoding: 'utf8',
  })
  return JSON.parse(out)
}

test('once the heap has grown, a settled collector collects, and then not again until it grows again', () => {
  const r = inNode(
    ['--expose-gc'],
    `const c = new SettledCollector()
    // Garbage: ${COLLECT_GROWN * 3} bytes of strings, dropped before the collector looks.
    let junk = Array.from({ length: ${(COLLECT_GROWN * 3) / 1024} }, (_, i) => String(i).padStart(1024, 'x'))
    junk = undefined
    const a = c.settled()
    const b = c.settled()
    junk = Array.from({ length: ${(COLLECT_GROWN * 3) / 1024} }, (_, i) => String(i).padStart(1024, 'y'))
    junk = undefined
    const again = c.settled()
    print({ a, b, again })`,
  ) as Record<string, { beforeBytes: number; afterBytes: number } | undefined>
  assert.ok(r.a, 'the first time: collected')
  assert.ok(r.a.beforeBytes - r.a.afterBytes >= COLLECT_GROWN, `${r.a.beforeBytes} -> ${r.a.afterBytes}`)
  assert.equal(r.b, undefined, 'nothing grew since: not collected')
  assert.ok(r.again, 'grown again: collected again')
})

test('without --expose-gc (a program that uses the library), it never collects', () => {
  assert.equal(new SettledCollector(undefined).settled(), undefined)
  assert.deepEqual(
    inNode([], 'const c = new SettledCollector(); print({ gc: c.gc === undefined, r: c.settled() ?? null })'),
    {
      gc: true,
      r: null,
    },
  )
})
