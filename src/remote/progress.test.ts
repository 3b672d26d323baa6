import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { terminalProgress } from './progress.js'

test('copy progress: one line redrawn on a terminal, cleared when every copy is done; nothing elsewhere', t => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  assert.equal(terminalProgress(Object.assign(new PassThrough(), { isTTY: false }) as never), undefined)
  const out = Object.assign(new PassThrough(), { isTTY: true, columns: 80 })
  const chunks: string[] = []
  out.on('data', d => chunks.push(d.toString()))
  const shown = (): string => chunks.join('')
  const p = terminalProgress(out as never)!
  p.update('h1', 'node', 50 * 1024 * 1024, 100 * 1024 * 1024)
  p.update('h2', 'mgmt.mjs', 1, 4)
  assert.equal(shown(), '', 'drawn at most ten times a second')
  t.mock.timers.tick(100)
  assert.equal(shown(), '\r\x1b[Kcopying: h1 node 50% of 100.0 MiB · h2 mgmt.mjs 25% of 0.0 MiB')
  p.finish('h1')
  p.finish('h2')
  assert.ok(shown().endsWith('\r\x1b[K'), JSON.stringify(shown()))
})
