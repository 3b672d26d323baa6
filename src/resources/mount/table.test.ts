/**
 * The mount table's watch, in a mount namespace of the test's own: a file system mounted the
 * instant the watch says it is ready is reported, over many trials (findmnt, which gives no sign
 * of readiness, misses some of them), and mounts elsewhere are not.
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { Namespace } from '../../testing/namespace.js'
import { cleanups } from '../../testing/proc.js'

/**
 * Run inside the namespace: each trial starts a watch and, at the moment it is ready, mounts a
 * tmpfs at the mount point (synchronously, before anything else can run), then unmounts it once
 * that is reported. Prints how many mounts and unmounts were reported, and how many mounts made
 * elsewhere were.
 */
const TRIALS = `
import { spawnSync } from 'node:child_process'
import { watchTable } from ${JSON.stringify(new URL('./table.js', import.meta.url).href)}
const [mp, other, trials] = [process.argv[1], process.argv[2], Number(process.argv[3])]
const sh = (...args) => {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(args.join(' ') + ': ' + r.stderr)
}
const result = { mounted: 0, unmounted: 0, elsewhere: 0 }
for (let i = 0; i < trials; i++) {
  const stop = new AbortController()
  let changes = 0
  let wake = () => {}
  const changed = () => new Promise(resolve => {
    const deadline = setTimeout(() => resolve(false), 5000)
    wake = () => { clearTimeout(deadline); resolve(true) }
  })
  const w = await watchTable(mp, stop.signal, () => { changes++; wake() })
  try {
    let next = changed()
    sh('mount', '-t', 'tmpfs', 'none', mp)
    if (!(await next)) break
    result.mounted++
    const before = changes
    sh('mount', '-t', 'tmpfs', 'none', other)
    sh('umount', other)
    next = changed()
    sh('umount', mp)
    if (!(await next)) break
    result.unmounted++
    result.elsewhere += changes - before - 1
  } finally {
    stop.abort()
    await w.done
  }
}
console.log(JSON.stringify(result))
`

test('the mount table watch reports a mount made the instant it is ready, and only at its mount point', async t => {
  const defer = cleanups(t)
  const ns = await Namespace.start()
  defer(() => ns.stop())
  const mp = join(ns.dir, 'a b')
  const other = join(ns.dir, 'other')
  await mkdir(mp)
  await mkdir(other)
  const trials = 40
  const out = await ns.run(process.execPath, ['--input-type=module', '-e', TRIALS, mp, other, String(trials)])
  assert.deepEqual(JSON.parse(out), { mounted: trials, unmounted: trials, elsewhere: 0 })
})

/**
 * Run inside the namespace: findmnt's watch, where Perl is absent. It has no sign of readiness, so
 * a mount is made, and made again, until one is reported (each waits up to 2 s for it).
 */
const FINDMNT = `
import { spawnSync } from 'node:child_process'
import { watchTable } from ${JSON.stringify(new URL('./table.js', import.meta.url).href)}
const mp = process.argv[1]
const stop = new AbortController()
let wake = () => {}
const w = await watchTable(mp, stop.signal, () => wake(), { perl: false })
let tries = 0
let seen = false
while (!seen && tries++ < 5) {
  const changed = new Promise(resolve => {
    const deadline = setTimeout(() => resolve(false), 2000)
    wake = () => { clearTimeout(deadline); resolve(true) }
  })
  spawnSync('mount', ['-t', 'tmpfs', 'none', mp])
  seen = await changed
  spawnSync('umount', [mp])
}
stop.abort()
const r = await w.done
console.log(JSON.stringify({ seen, display: w.display, aborted: r.aborted }))
`

test('without Perl, findmnt --poll watches the mount point', async t => {
  const defer = cleanups(t)
  const ns = await Namespace.start()
  defer(() => ns.stop())
  const mp = join(ns.dir, 'mnt')
  await mkdir(mp)
  const out = await ns.run(process.execPath, ['--input-type=module', '-e', FINDMNT, mp])
  assert.deepEqual(JSON.parse(out), {
    seen: true,
    display: `findmnt --poll --mountpoint ${mp}`,
    aborted: true,
  })
})
