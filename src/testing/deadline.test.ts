import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { deadline } from './deadline.js'

let trials = 0
const dir = mkdtempSync(join(tmpdir(), 'mgmt-deadline-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** Waits for `ready` on a child's output, or the deadline; the machine pauses for `pauseMs` meanwhile. */
async function race(wait: (ms: number, expire: () => void) => { cancel(): void }, pauseMs: number) {
  const written = join(dir, `written-${++trials}`)
  const child = spawn('sh', ['-c', `echo ready; : > ${written}`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const closed = new Promise(resolve => child.once('close', resolve))
  const result = new Promise<string>(resolve => {
    const d = wait(100, () => resolve('expired'))
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) {
        d.cancel()
        resolve('ready')
      }
    })
  })
  // A paused machine: this process runs nothing past the deadline, while the child writes.
  const start = Date.now()
  const cell = new Int32Array(new SharedArrayBuffer(4))
  while (Date.now() - start < pauseMs || !existsSync(written)) {
    if (Date.now() - start > 30_000) throw new Error('the child wrote nothing in 30 s')
    Atomics.wait(cell, 0, 0, 10)
  }
  const r = await result
  await closed
  return r
}

test('a deadline that passed while the machine was paused lets what arrived meanwhile in first', async () => {
  assert.equal(await race(deadline, 200), 'ready')
  // A plain timer, on the same pause, fails the wait with the answer in the pipe.
  const plain = (ms: number, expire: () => void) => {
    const t = setTimeout(expire, ms)
    return { cancel: () => clearTimeout(t) }
  }
  assert.equal(await race(plain, 200), 'expired')
  // Without a pause, the deadline still expires when nothing comes.
  assert.equal(await new Promise<string>(resolve => deadline(10, () => resolve('expired'))), 'expired')
})
