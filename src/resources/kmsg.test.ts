/**
 * kmsg against the real kernel log: the test writes lines to /dev/kmsg (as root) with a marker of
 * its own, so that other writers cannot confuse it, and sees them matched and a notified print log
 * them. Without root (or a readable and writable /dev/kmsg) the tests that need it are skipped.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { accessSync, constants, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseParams } from '../engine/params.js'
import type { GraphSpec } from '../engine/spec.js'
import { start } from '../lib/run.js'
import { waitingLogger } from '../testing/logwait.js'
import { tempPrefix } from '../testing/prefix.js'
import { startResource } from '../testing/timeline.js'
import { KMSG, kmsg, parseRecord, unescapeMessage } from './kmsg.js'

function kmsgUsable(): string | false {
  try {
    accessSync(KMSG, constants.R_OK | constants.W_OK)
    return false
  } catch (e) {
    return `${KMSG} is not readable and writable here: ${(e as Error).message}`
  }
}
const skip = kmsgUsable()

/** One line in the kernel log (a write to /dev/kmsg is one record, of facility user). */
const printk = (line: string): void => writeFileSync(KMSG, `${line}\n`)

test('a matching line reaches a notified print within milliseconds; others and older ones do not', {
  skip,
}, async t => {
  const marker = `mgmt-14-kmsg-${randomUUID()}`
  printk(`${marker} before the start`)
  const graph: GraphSpec = {
    name: 'kmsg',
    resources: [
      { kind: 'kmsg', name: 'watch', params: { match: `^${marker} (hello|world)` } },
      { kind: 'print', name: 'show', params: { refresh_only: true } },
    ],
    edges: [
      {
        name: 'e',
        from: { kind: 'kmsg', name: 'watch' },
        to: { kind: 'print', name: 'show' },
        notify: true,
        send: 'message',
        recv: 'msg',
      },
    ],
  }
  const log = waitingLogger('debug')
  const h = start(graph, { prefix: tempPrefix(), log })
  try {
    await log.waitFor(/^kmsg\[watch\]: debug: checkApply\(apply=true\) = true \(cause: startup\)$/)
    printk(`${marker} ignored`)
    const t0 = performance.now()
    printk(`${marker} hello`)
    await log.waitFor(new RegExp(`^kmsg\\[watch\\]: matched: ${marker} hello$`))
    const matched = performance.now() - t0
    await log.waitFor(new RegExp(`^print\\[show\\]: ${marker} hello$`))
    t.diagnostic(
      `from the write: matched in ${matched.toFixed(1)} ms, printed in ${(performance.now() - t0).toFixed(1)} ms`,
    )
    assert.ok(log.lines.includes(`kmsg[watch]: matched: ${marker} hello`))
    assert.ok(log.lines.includes('print[show]: received a notification'))
    printk(`${marker} world\twith a tab`)
    await log.waitFor(new RegExp(`^print\\[show\\]: ${marker} world\twith a tab$`))
    assert.ok(!log.lines.some(l => l.includes(`${marker} before the start`)), 'from now on only')
    assert.ok(!log.lines.some(l => l.includes(`${marker} ignored`)), 'only matching lines')
  } finally {
    h.shutdown()
    const result = await h.done
    assert.deepEqual(result.failed, [], log.lines.join('\n'))
  }
})

test('since: boot also matches what the kernel buffer holds already', { skip }, async () => {
  const marker = `mgmt-14-kmsg-${randomUUID()}`
  printk(`${marker} from before`)
  const h = await startResource(kmsg, 'boot', { match: marker, since: 'boot' })
  try {
    await h.startup()
    while (!(h.sent as { message?: string } | undefined)?.message) {
      if (await h.checkApply()) await h.nextEvent()
    }
    assert.deepEqual(h.sent, { message: `${marker} from before` })
    assert.equal(await h.checkApply(), true, 'nothing new since')
  } finally {
    await h.stop()
  }
})

test('records are parsed and their escapes undone', () => {
  assert.deepEqual(parseRecord('6,1234,5678901,-;usb 1-1: new device\\x09found'), {
    priority: 6,
    seq: 1234,
    usec: 5678901,
    message: 'usb 1-1: new device\tfound',
  })
  assert.equal(parseRecord(' SUBSYSTEM=usb'), undefined, 'a continuation line')
  assert.equal(unescapeMessage('caf\\xc3\\xa9 \\x5c ok'), 'café \\ ok')
  assert.equal(unescapeMessage('no \\xzz escape'), 'no \\xzz escape')
})

test('a bad regular expression is reported with its key', () => {
  const issues = parseParams(kmsg, 'k', { match: '(' }).issues
  assert.equal(issues[0]?.path.join('.'), 'match')
  assert.match(issues[0]!.message, /^not a regular expression/)
})
