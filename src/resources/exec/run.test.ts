import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_COLLECTED, MAX_LINE, runCommand } from './run.js'

const sh = (script: string) => ({
  display: script,
  file: '/bin/sh',
  args: ['-c', script],
  env: { PATH: '/usr/bin:/bin' },
})

test('a command that prints more than is kept: the end of its output, and how much came before', async () => {
  const total = MAX_COLLECTED + 3_000_000
  const r = await runCommand(sh(`head -c ${total - 4} /dev/zero | tr '\\0' x; echo END`))
  assert.equal(r.exitCode, 0)
  const first = `[${total - MAX_COLLECTED} bytes before this were not kept]\n`
  assert.ok(r.stdout.startsWith(first), r.stdout.slice(0, 80))
  assert.equal(r.stdout.length, first.length + MAX_COLLECTED)
  assert.ok(r.stdout.endsWith('xxxEND\n'))
  assert.equal(r.output, r.stdout, 'stderr was empty: the interleaved output is stdout')
  assert.equal(r.stderr, '')
})

test('a line that never ends is passed on in pieces of the longest line', async () => {
  const lengths: number[] = []
  const r = await runCommand(sh(`head -c ${2 * MAX_LINE + 5} /dev/zero | tr '\\0' y`), {
    collect: false,
    onLine: line => lengths.push(line.length),
  })
  assert.equal(r.exitCode, 0)
  assert.deepEqual(lengths, [MAX_LINE, MAX_LINE, 5])
  assert.equal(r.stdout, '', 'nothing collected')
})
