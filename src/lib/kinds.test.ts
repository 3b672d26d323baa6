/**
 * The library's own promises: a custom kind written here compiles (typed params) and runs beside the
 * built-in ones; a number `mode` is the bits; the result carries each failure with its error.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { z } from 'zod'
import { defineResource, Graph, memoryLogger, run } from '../index.js'
import { tempPrefix } from '../testing/prefix.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-t11-lib-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A custom kind: keeps a line in a file (appends it when missing). */
const line = defineResource({
  kind: 'line',
  params: z.object({ path: z.string(), line: z.string() }).strict(),
  init(p, ctx) {
    return {
      async watch(signal) {
        await ctx.watchPath(p.path, signal, () => ctx.event())
        ctx.event()
        await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
      },
      async checkApply(apply) {
        const text = await readFile(p.path, 'utf8').catch(() => '')
        if (text.split('\n').includes(p.line)) return true
        if (apply) await writeFile(p.path, `${text}${p.line}\n`)
        ctx.log.info(`${apply ? 'added' : 'would add'} ${p.line}`)
        return false
      },
    }
  },
})

test('a custom kind is typed, registered with run({ kinds }), and runs beside built-in kinds', async () => {
  const path = join(dir, 'conf')
  await writeFile(path, 'a=1\n')
  const g = new Graph('custom')
  const l = g.add(line, 'b', { path, line: 'b=2' })
  g.notify(l, g.add('noop', 'after'))
  // @ts-expect-error: `line` has no param `lnie`
  new Graph('typo').add(line, 'x', { path, lnie: 'x' })
  const log = memoryLogger('info')
  const result = await run(g, { kinds: [line], prefix: tempPrefix(), convergedTimeout: 0, log })
  assert.deepEqual(result.failed, [])
  assert.equal(await readFile(path, 'utf8'), 'a=1\nb=2\n')
  assert.ok(log.lines.includes('line[b]: added b=2'), log.lines.join('\n'))
  // Its params are checked like a built-in kind's: an unknown key is an error with a hint.
  const bad = new Graph('bad')
  bad.add(line, 'c', { path, line: 'c', lien: 'x' } as never)
  await assert.rejects(
    run(bad, { prefix: tempPrefix(), convergedTimeout: 0, log: 'silent' }),
    /line\[c\]\.lien: unknown parameter \(did you mean `line`\?\)/,
  )
})

test('a number mode is the permission bits, as in every Node API', async () => {
  const path = join(dir, 'moded')
  const g = new Graph('mode')
  g.add('file', 'm', { path, state: 'exists', content: 'x', mode: 0o640 })
  const result = await run(g, { prefix: tempPrefix(), convergedTimeout: 0, log: 'silent' })
  assert.deepEqual(result.failed, [])
  assert.equal((await stat(path)).mode & 0o777, 0o640)
})

test('the result carries each failure with its error, and what it skipped', async () => {
  const g = new Graph('fails')
  const bad = g.add('exec', 'bad', { cmd: 'false' })
  g.edge(bad, g.add('noop', 'after'))
  const result = await run(g, { prefix: tempPrefix(), convergedTimeout: 0, log: 'silent' })
  assert.deepEqual(result.failed, ['exec[bad]'])
  assert.equal(result.failures[0]?.id, 'exec[bad]')
  assert.ok(result.failures[0]?.error instanceof Error)
  assert.match(result.failures[0]!.message, /command `false` exited with code 1/)
  assert.deepEqual(result.skipped, [{ id: 'noop[after]', dependsOn: 'exec[bad]' }])
  assert.equal(result.resources, 2)
})
