import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { freePort } from './ports.js'

test('free ports lie below the ephemeral range, differ, and can be bound', async () => {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()))
  assert.equal(new Set(ports).size, ports.length)
  for (const p of ports) assert.ok(p >= 10_000 && p < low, `${p} is outside 10000..${low - 1}`)
  const s = createServer()
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject)
    s.listen(ports[0], '127.0.0.1', resolve)
  })
  await new Promise(resolve => s.close(resolve))
})
