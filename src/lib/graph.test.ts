import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { z } from 'zod'
import { varDirName } from '../engine/context.js'
import { defineResource, Graph, type GraphSpec, run, start } from '../index.js'
import { tempPrefix } from '../testing/prefix.js'
import { memoryLogger } from '../util/logger.js'

test('a graph built in code runs: a password is sent to a print, which is notified', async () => {
  const g = new Graph('lib')
  const pw = g.add('password', 'pw', { length: 12 })
  const p = g.add('print', 'show')
  g.sendRecv(pw, 'password', p, 'msg').notify(pw, p)
  const log = memoryLogger('info')
  const prefix = await mkdtemp(join(tmpdir(), 'mgmt-lib-'))
  try {
    const result = await run(g, { convergedTimeout: 0, log, prefix })
    assert.deepEqual(result.failed, [])
    // A password is never printed, not even by a print: it says so instead.
    assert.ok(log.lines.includes('print[show]: (sensitive content changed)'), log.lines.join('\n'))
    const token = join(prefix, 'engine', 'state', varDirName('password', 'pw'), 'password')
    const password = (await readFile(token, 'utf8')).trim()
    assert.ok(!log.lines.some(l => l.includes(password)), log.lines.join('\n'))
  } finally {
    await rm(prefix, { recursive: true, force: true })
  }
  const order = [
    'password[pw]: generated',
    'print[show]: SendRecv: password[pw].password -> print[show].msg',
    'print[show]: received a notification',
  ]
  const at = order.map(o => log.lines.findIndex(l => l.startsWith(o)))
  assert.ok(
    at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)),
    log.lines.join('\n'),
  )
})

test('the parameters, send keys and received params are typed', () => {
  const g = new Graph()
  const e = g.add('exec', 'e', { cmd: 'echo hi', timeout: 3 })
  const t = g.add('timer', 't', { interval: 5 })
  const p = g.add('print', 'p')
  g.sendRecv(e, 'stdout', p, 'msg')
  // @ts-expect-error: exec sends no `password`
  g.sendRecv(e, 'password', p, 'msg')
  // @ts-expect-error: a string cannot become timer's interval (a number)
  g.sendRecv(e, 'stdout', t, 'interval')
  // @ts-expect-error: print has no param `body`
  g.sendRecv(e, 'stdout', p, 'body')
  // @ts-expect-error: timeout is a number
  g.add('exec', 'bad', { timeout: 'soon' })
  // @ts-expect-error: no such kind
  g.add('frobnicate', 'x')
  assert.equal(g.toSpec().edges.length, 4)
})

test('a stream of graphs is applied as diffs; an invalid one keeps the running graph', async () => {
  const log = memoryLogger('info')
  async function* graphs() {
    const a = new Graph('v1')
    a.add('print', 'p', { msg: 'first' })
    yield a
    await new Promise(r => setTimeout(r, 50))
    const bad = new Graph('bad')
    bad.add('timer', 't', { interval: -1 })
    yield bad
    const b = new Graph('v2')
    b.add('print', 'p', { msg: 'second' })
    yield b
  }
  const ac = new AbortController()
  const done = run(graphs(), { prefix: tempPrefix(), log, signal: ac.signal, convergedTimeout: -1 })
  await new Promise<void>(r => {
    const check = () => (log.lines.includes('print[p]: second') ? r() : setTimeout(check, 10))
    check()
  })
  ac.abort()
  await done
  assert.ok(log.lines.includes('print[p]: first'))
  assert.ok(
    log.lines.some(l => l.includes('timer[t]') && l.includes('keeping the running graph')),
    log.lines.join('\n'),
  )
})

test('a long-running stream of graphs keeps none of the graphs it replaced', async () => {
  // A full garbage collection on demand, for the WeakRefs below.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const log = memoryLogger('info')
  const applied = (msg: string) =>
    new Promise<void>(r => {
      const check = () => (log.lines.includes(`print[p]: ${msg}`) ? r() : setTimeout(check, 5))
      check()
    })
  const given: WeakRef<GraphSpec>[] = []
  const N = 8
  let last: Promise<void> = Promise.resolve()
  async function* graphs(): AsyncGenerator<GraphSpec> {
    for (let k = 0; k < N; k++) {
      await last
      const spec: GraphSpec = {
        name: `v${k}`,
        resources: [{ kind: 'print', name: 'p', params: { msg: `graph ${k}` } }],
        edges: [],
      }
      given.push(new WeakRef(spec))
      last = applied(`graph ${k}`)
      yield spec
    }
    await new Promise(() => {}) // the source stays open, as a watched file does
  }
  const ac = new AbortController()
  const done = run(graphs(), { prefix: tempPrefix(), log, signal: ac.signal, convergedTimeout: -1 })
  try {
    await last
    await applied(`graph ${N - 1}`)
    await new Promise(r => setImmediate(r))
    gc()
    const kept = given.flatMap((w, k) => (w.deref() ? [k] : []))
    // The running graph's spec stays, and at most the one before it (the last diff's other side).
    assert.ok(kept.length <= 2 && kept.every(k => k >= N - 2), `graphs still held: ${kept.join(', ')}`)
  } finally {
    ac.abort()
    await done
  }
})

test('a file that is not checked again after an edit keeps no replaced graph alive', async () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-views-'))
  // Each graph's view (ctx.graph()), as a resource checked in that graph saw it.
  const views: WeakRef<object>[] = []
  const probe = defineResource({
    kind: 'viewprobe',
    params: z.object({}).strict(),
    init(_p, ctx) {
      return {
        async watch(signal) {
          ctx.event()
          await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
        },
        async checkApply() {
          views.push(new WeakRef(ctx.graph()))
          return true
        },
      }
    },
  })
  const N = 8
  const appliedAll = (k: number) =>
    new Promise<void>(r => {
      const check = () =>
        views.length > k && existsSync(join(dir, 'd', `f${k}`)) ? r() : setTimeout(check, 5)
      check()
    })
  let last: Promise<void> = Promise.resolve()
  // Graph k adds the file f<k> under a managed directory, and a probe of its own: each file is
  // checked once, in the graph that added it, and works out its managed parents there.
  async function* graphs(): AsyncGenerator<Graph> {
    for (let k = 0; k < N; k++) {
      await last
      const g = new Graph(`v${k}`)
      g.add('file', 'd', { path: `${join(dir, 'd')}/`, state: 'exists' })
      for (let i = 0; i <= k; i++)
        g.add('file', `f${i}`, { path: join(dir, 'd', `f${i}`), state: 'exists', content: 'x' })
      g.add(probe, `p${k}`, {})
      last = appliedAll(k)
      yield g
    }
    await new Promise(() => {})
  }
  const ac = new AbortController()
  const done = run(graphs(), {
    kinds: [probe],
    prefix: tempPrefix(),
    log: 'silent',
    signal: ac.signal,
    convergedTimeout: -1,
  })
  try {
    await last
    await appliedAll(N - 1)
    await new Promise(r => setImmediate(r))
    gc()
    const kept = views.flatMap((w, k) => (w.deref() ? [k] : []))
    assert.ok(kept.length <= 2 && kept.every(k => k >= N - 2), `graph views still held: ${kept.join(', ')}`)
  } finally {
    ac.abort()
    await done
    await rm(dir, { recursive: true, force: true })
  }
})

test('meta reverse: a file leaving the graph gets its original bytes, mode and absence back', async () => {
  const { mkdtemp, readFile, rm, stat, writeFile, chmod } = await import('node:fs/promises')
  const { existsSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-reverse-'))
  try {
    const kept = join(dir, 'kept')
    const fresh = join(dir, 'fresh')
    await writeFile(kept, 'original\n')
    await chmod(kept, 0o640)
    const log = memoryLogger('info')
    let step: () => void = () => {}
    async function* graphs() {
      const managed = new Graph('managed')
      managed.add(
        'file',
        'kept',
        { path: kept, state: 'exists', content: 'managed\n', mode: '0600' },
        { reverse: true },
      )
      managed.add('file', 'fresh', { path: fresh, state: 'exists', content: 'new\n' }, { reverse: true })
      yield managed
      await new Promise<void>(r => {
        step = r
      })
      yield new Graph('empty')
    }
    const ac = new AbortController()
    const prefix = join(dir, 'state')
    const done = run(graphs(), { prefix, log, signal: ac.signal })
    await until(
      () =>
        log.lines.some(l => l.startsWith('file[fresh]: created')) &&
        log.lines.some(l => l.startsWith('file[kept]: content')),
    )
    assert.equal(await readFile(kept, 'utf8'), 'managed\n')
    step()
    await until(() => log.lines.filter(l => l.includes('reverse: put back')).length === 2)
    ac.abort()
    await done
    assert.equal(await readFile(kept, 'utf8'), 'original\n')
    assert.equal((await stat(kept)).mode & 0o777, 0o640)
    assert.equal(existsSync(fresh), false)
    assert.deepEqual(
      await import('node:fs/promises').then(f => f.readdir(join(prefix, 'engine', 'reverse'))),
      [],
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

/** Waits for a condition on log lines (checked on every log line would be nicer; this is a test). */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(r => setTimeout(r, 5))
  }
}

test('two runs on one prefix: the second stops before it applies anything', async () => {
  const prefix = tempPrefix()
  const out = join(prefix, 'out')
  const g = new Graph('held')
  g.add('file', 'f', { path: out, state: 'exists', content: 'x' })
  const ac = new AbortController()
  const first = start(new Graph('first'), { prefix, log: 'silent', signal: ac.signal })
  try {
    // Held once the first has its graph running: its first idle moment says so.
    await new Promise<void>(resolve => first.on('idle', () => resolve()))
    await assert.rejects(run(g, { prefix, convergedTimeout: 0, log: 'silent' }), {
      code: 'ERR_PREFIX_BUSY',
    })
    assert.equal(existsSync(out), false)
  } finally {
    ac.abort()
    await first.done
  }
  // Released at the end of the first: the same graph runs now.
  const after = await run(g, { prefix, convergedTimeout: 0, log: 'silent' })
  assert.deepEqual(after.failed, [])
  assert.equal(await readFile(out, 'utf8'), 'x')
})

test('a received value with a NUL byte never reaches the system: its receiver fails, and says why', async () => {
  const g = new Graph('nul')
  // A command's output with a NUL in it (printf's \0) becomes another command.
  const out = g.add('exec', 'out', { cmd: "printf 'true\\0x'", shell: '/bin/sh' })
  const e = g.add('exec', 'e', { cmd: 'false', shell: '/bin/sh' })
  g.sendRecv(out, 'stdout', e, 'cmd')
  const log = memoryLogger('info')
  const r = await run(g, { prefix: tempPrefix(), convergedTimeout: 0, log })
  assert.deepEqual(r.failed, ['exec[e]'])
  assert.ok(
    log.lines.some(l =>
      l.includes('cmd: a NUL byte (\\0) is not allowed here: no path, command or name can hold one'),
    ),
    log.lines.join('\n'),
  )
})
