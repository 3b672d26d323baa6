import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { terminalPrompter } from './prompt.js'

test('prompts are asked one at a time; a secret answer is read in raw mode and not echoed', async () => {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    raw: [] as boolean[],
    setRawMode(m: boolean) {
      this.raw.push(m)
    },
  })
  const output = new PassThrough()
  let shown = ''
  output.on('data', d => {
    shown += d.toString()
  })
  const p = terminalPrompter(input, output)
  const a = p.ask('password for root@h1: ', true)
  const b = p.ask('password for root@h2: ', true)
  input.write('s3cx\u007fret\r')
  assert.equal(await a, 's3cret')
  input.write('\u0003')
  await assert.rejects(b, /no answer/)
  assert.deepEqual(input.raw, [true, false, true, false])
  assert.equal(shown, 'password for root@h1: \npassword for root@h2: \n')
})
