/**
 * Engine semantics, with a fake resource kind that records what the engine asks of it. (Real
 * resources are tested against the real system beside their own modules.)
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { z } from 'zod'
import { memoryLogger } from '../util/logger.js'
import { LocalWorld } from '../world/local.js'
import { compileGraph } from './compile.js'
import type { ResGraph } from './compiled.js'
import { Dag } from './dag.js'
import { Engine } from './engine.js'
import { GraphViews, viewChanges } from './graphview.js'
import { Registry } from './registry.js'
import { defineResource, untilAborted } from './resource.js'
import type { EdgeSpec, ResourceSpec } from './spec.js'

interface Recorder {
  calls: string[]
  /** Names of the resources whose watch started. */
  watches: string[]
  inflight: number
  maxInflight: number
  inits: Map<string, number>
  /** Per name: how many more checkApply calls fail. */
  failures: Map<string, number>
  /** Per name: the system's state is right (checkApply returns true). */
  ok: Map<string, boolean>
  /** Per name: trigger a watch event. */
  poke: Map<string, () => void>
  /** Per name: release the startup event of a resource declared with `holdStartup`. */
  release: Map<string, () => void>
  /** Called as each checkApply starts, with its entry in `calls`. */
  onCall?: (call: string) => void
  /** Awaited by each checkApply once it is in flight. */
  wait?: () => Promise<void>
}

function fakeKind(rec: Recorder) {
  return defineResource({
    kind: 'fake',
    params: z
      .object({
        ms: z.number().default(0),
        holdStartup: z.boolean().default(false),
        tag: z.string().default(''),
      })
      .strict(),
    init(p, ctx) {
      rec.inits.set(ctx.name, (rec.inits.get(ctx.name) ?? 0) + 1)
      return {
        async watch(signal) {
          rec.watches.push(ctx.name)
          if (p.holdStartup)
            await Promise.race([new Promise<void>(r => rec.release.set(ctx.name, r)), untilAborted(signal)])
          rec.poke.set(ctx.name, () => ctx.event())
          ctx.event()
          await untilAborted(signal)
        },
        async checkApply(apply, signal) {
          const call = `${ctx.name}:${apply ? 'apply' : 'noop'}${ctx.refresh() ? ':refresh' : ''}`
          rec.calls.push(call)
          rec.onCall?.(call)
          rec.inflight++
          rec.maxInflight = Math.max(rec.maxInflight, rec.inflight)
          try {
            await rec.wait?.()
            if (p.ms) await new Promise(r => setTimeout(r, p.ms))
            if (signal.aborted) throw signal.reason
            const left = rec.failures.get(ctx.name) ?? 0
            if (left > 0) {
              rec.failures.set(ctx.name, left - 1)
              throw new Error('boom')
            }
            const ok = rec.ok.get(ctx.name) ?? false
            if (apply) rec.ok.set(ctx.name, true)
            return ok
          } finally {
            rec.inflight--
          }
        },
      }
    },
  })
}

let dir: string
let rec: Recorder
let engine: Engine | undefined
const log = memoryLogger('debug')

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-engine-'))
  rec = {
    calls: [],
    watches: [],
    inflight: 0,
    maxInflight: 0,
    inits: new Map(),
    failures: new Map(),
    ok: new Map(),
    poke: new Map(),
    release: new Map(),
  }
})
afterEach(async () => {
  await engine?.close()
  engine = undefined
  await rm(dir, { recursive: true, force: true })
})

const res = (
  name: string,
  params: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): ResourceSpec => ({
  kind: 'fake',
  name,
  params,
  meta,
})
const edge = (from: string, to: string, notify = false): EdgeSpec => ({
  name: `${from}->${to}`,
  from: { kind: 'fake', name: from },
  to: { kind: 'fake', name: to },
  notify,
})

function compile(resources: ResourceSpec[], edges: EdgeSpec[] = [], opts: { sema?: number } = {}) {
  return compileGraph({ name: 'g', resources, edges }, new Registry([fakeKind(rec) as never]), opts).graph
}

async function start(
  resources: ResourceSpec[],
  edges: EdgeSpec[] = [],
  opts: { noop?: boolean } = {},
): Promise<Engine> {
  engine = newEngine(opts)
  const converged = untilConverged(engine)
  await engine.commit(compile(resources, edges))
  await converged
  return engine
}

function newEngine(opts: { noop?: boolean } = {}): Engine {
  return new Engine({
    registry: new Registry([fakeKind(rec) as never]),
    hostname: 'h',
    prefix: dir,
    world: new LocalWorld('h'),
    log,
    convergedTimeout: 0,
    ...opts,
  })
}

function untilConverged(e: Engine): Promise<void> {
  return new Promise(resolve => {
    const off = e.converger.onChange(c => {
      if (c) {
        off()
        resolve()
      }
    })
  })
}

test('startup runs dependencies first and independent resources in parallel', async () => {
  await start(
    [res('a', { ms: 30 }), res('b', { ms: 30 }), res('c', { ms: 30 }), res('d')],
    [edge('a', 'b'), edge('a', 'c'), edge('b', 'd'), edge('c', 'd')],
  )
  const pos = (n: string) => rec.calls.indexOf(`${n}:apply`)
  assert.ok(
    pos('a') < pos('b') && pos('a') < pos('c') && pos('b') < pos('d') && pos('c') < pos('d'),
    rec.calls.join(),
  )
  assert.equal(rec.maxInflight, 2, 'b and c ran at the same time')
  assert.equal(rec.calls.length, 4, 'each resource ran once')
})

test('no checkApply before the first watch event', async () => {
  engine = newEngine()
  const converged = untilConverged(engine)
  await engine.commit(compile([res('a'), res('b', { holdStartup: true })], [edge('a', 'b')]))
  await new Promise<void>(r => {
    const wait = () => (rec.calls.includes('a:apply') && rec.release.has('b') ? r() : setImmediate(wait))
    wait()
  })
  assert.deepEqual(rec.calls, ['a:apply'])
  rec.release.get('b')!()
  await converged
  assert.deepEqual(rec.calls, ['a:apply', 'b:apply'])
})

test('a watch event re-runs the resource; a poke does not re-run its clean dependents', async () => {
  const e = await start([res('a'), res('b')], [edge('a', 'b')])
  rec.calls.length = 0
  const again = untilConverged(e)
  rec.ok.set('a', false)
  rec.poke.get('a')!()
  await again
  assert.deepEqual(rec.calls, ['a:apply'])
})

test('a watch event downstream re-runs only that resource, not its clean upstreams', async () => {
  const e = await start([res('a'), res('b')], [edge('a', 'b')])
  rec.calls.length = 0
  const again = untilConverged(e)
  rec.poke.get('b')!()
  await again
  assert.deepEqual(rec.calls, ['b:apply'])
})

test('retry with delay recovers from failures', async () => {
  rec.failures.set('a', 2)
  const e = await start([res('a', {}, { retry: 2, delay: 10 }), res('b')], [edge('a', 'b')])
  assert.deepEqual(rec.calls, ['a:apply', 'a:apply', 'a:apply', 'b:apply'])
  assert.deepEqual(e.failures, [])
})

test('a resource out of retries fails permanently and blocks its dependents', async () => {
  rec.failures.set('a', 5)
  const e = await start([res('a', {}, { retry: 1 }), res('b'), res('c')], [edge('a', 'b')])
  assert.deepEqual(rec.calls.sort(), ['a:apply', 'a:apply', 'c:apply'])
  assert.deepEqual(
    e.failures.map(f => f.id),
    ['fake[a]'],
  )
  assert.match(log.lines.join('\n'), /fake\[a\]: error: failed permanently after 2 attempts/)
})

test('meta timeout aborts a slow checkApply', async () => {
  const e = await start([res('a', { ms: 2000 }, { timeout: 20 })])
  assert.equal(e.failures.length, 1)
  assert.match(String((e.failures[0]!.error as Error).cause), /timed out after 20 ms/)
})

test('noop runs checkApply with apply=false and changes nothing', async () => {
  await start([res('a'), res('b')], [edge('a', 'b')], { noop: true })
  assert.deepEqual(rec.calls, ['a:noop', 'b:noop'])
  assert.equal(rec.ok.get('a'), undefined)
})

test('a graph swap keeps unchanged resources running and restarts changed ones', async () => {
  const e = await start([res('a'), res('b'), res('c')], [edge('a', 'b')])
  rec.calls.length = 0
  const again = untilConverged(e)
  await e.commit(compile([res('a'), res('b', { tag: 'new' }), res('d')], [edge('a', 'b')]))
  await again
  assert.deepEqual(Object.fromEntries(rec.inits), { a: 1, b: 2, c: 1, d: 1 })
  assert.deepEqual(rec.calls.sort(), ['b:apply', 'd:apply'])
  assert.equal(e.worker('fake[c]'), undefined)
})

/** `g` with the vertices of `from` named by `ids` in place of its own (as a patched compile makes it). */
const replace = (g: ResGraph, from: ResGraph, ...ids: string[]): ResGraph =>
  Dag.withValues(g, new Map(ids.map(id => [id, from.vertex(id)!])))

test('a swap that only replaces the values of one vertex compares that one alone, restarts it alone, and derives the view', async () => {
  const specs = [res('a'), res('b'), res('c'), res('d')]
  const e = await start(specs, [edge('a', 'b'), edge('b', 'c')])
  const view = e.resources()
  rec.calls.length = 0
  const again = untilConverged(e)
  const edited = compile(
    [res('a'), res('b', { tag: 'new' }), res('c'), res('d')],
    [edge('a', 'b'), edge('b', 'c')],
  )
  await e.commit(replace(e.graph, edited, 'fake[b]'))
  await again
  assert.equal(e.stats.compared, 1)
  assert.deepEqual(Object.fromEntries(rec.inits), { a: 1, b: 2, c: 1, d: 1 })
  assert.deepEqual(rec.calls, ['b:apply'])
  // The view is the last one with b's entry replaced, as a view built whole has it.
  const next = e.resources()
  assert.deepEqual(next, new GraphViews().view(e.graph))
  assert.deepEqual(viewChanges(next), { from: view, changed: [1] })
  for (const i of [0, 2, 3]) assert.equal(next[i], view[i])
  assert.equal(e.resourceCount, 4)
  // The view built once, then derived; the count came with the view, then was carried over.
  assert.deepEqual(e.views.stats, { built: 1, derived: 1, counted: 0 })
  // A graph compiled whole is compared resource by resource.
  const whole = untilConverged(e)
  await e.commit(compile([res('a'), res('b', { tag: 'new' }), res('c'), res('d', { tag: 'x' })], []))
  await whole
  assert.equal(e.stats.compared, 4)
  assert.deepEqual(Object.fromEntries(rec.inits), { a: 1, b: 2, c: 1, d: 2 })
  assert.equal(viewChanges(e.resources()), undefined)
})

test('a swap that only replaces values restarts what a full diff restarts: failed resources with rewatch too', async () => {
  rec.failures.set('a', 1)
  rec.failures.set('b', 1)
  const e = await start([res('a', {}, { rewatch: true }), res('b'), res('c')])
  const converged = untilConverged(e)
  const edited = compile([res('a', {}, { rewatch: true }), res('b'), res('c', { tag: 'new' })])
  await e.commit(replace(e.graph, edited, 'fake[c]'))
  await converged
  assert.equal(e.stats.compared, 3, 'c, and the two failed ones')
  assert.deepEqual(Object.fromEntries(rec.inits), { a: 2, b: 1, c: 2 })
  assert.deepEqual(
    e.failures.map(f => f.id),
    ['fake[b]'],
  )
})

test('random swaps, patched or compiled whole, restart what a full diff restarts and show the graph as built whole', async () => {
  let seed = 7
  const rnd = (n: number): number => {
    seed = (seed * 48271) % 2147483647
    return seed % n
  }
  const names = Array.from({ length: 12 }, (_, i) => `r${i}`)
  const tags = new Map(names.map(n => [n, '']))
  const specs = () => names.map(n => res(n, { tag: tags.get(n) }))
  const edges = names.slice(1).map((n, i) => edge(names[i]!, n))
  const e = await start(specs(), edges)
  e.resources()
  const inits = new Map(names.map(n => [n, 1]))
  let patched = 0
  for (let step = 0; step < 40; step++) {
    // One to three resources get a new tag, or keep theirs (a value replaced by an equal one).
    const picked = Array.from({ length: 1 + rnd(3) }, () => names[rnd(names.length)]!)
    for (const n of new Set(picked)) {
      const tag = rnd(4) === 0 ? tags.get(n)! : `t${step}`
      if (tag !== tags.get(n)) inits.set(n, inits.get(n)! + 1)
      tags.set(n, tag)
    }
    const compiled = compile(specs(), edges)
    const whole = rnd(4) === 0
    const next = whole ? compiled : replace(e.graph, compiled, ...[...new Set(picked)].map(n => `fake[${n}]`))
    const converged = untilConverged(e)
    await e.commit(next)
    await converged
    if (!whole) patched++
    assert.equal(e.stats.compared, whole ? names.length : new Set(picked).size, `step ${step}`)
    assert.deepEqual(Object.fromEntries(rec.inits), Object.fromEntries(inits), `step ${step}`)
    assert.deepEqual(e.resources(), new GraphViews().view(e.graph), `step ${step}`)
    assert.equal(e.resourceCount, names.length)
  }
  assert.ok(patched > 20, `${patched} patched swaps`)
})

test('compile rejects cycles, naming the resources', () => {
  assert.throws(
    () => compile([res('a'), res('b'), res('c')], [edge('a', 'b'), edge('b', 'c'), edge('c', 'a')]),
    {
      code: 'ERR_GRAPH_INVALID',
      message: /the graph has a cycle: fake\[a\] -> fake\[b\] -> fake\[c\] -> fake\[a\]/,
    },
  )
})

test('a change notifies along notify edges, once, through a chain', async () => {
  await start(
    [res('a'), res('b'), res('c'), res('d')],
    [edge('a', 'b', true), edge('b', 'c', true), edge('c', 'd')],
  )
  assert.deepEqual(rec.calls, ['a:apply', 'b:apply:refresh', 'c:apply:refresh', 'd:apply'])
  assert.deepEqual(await readdir(join(dir, 'engine', 'refresh')), [])
})

test('a resource that changed nothing does not notify; a later change does', async () => {
  rec.ok.set('a', true)
  const e = await start([res('a'), res('b')], [edge('a', 'b', true)])
  assert.deepEqual(rec.calls, ['a:apply', 'b:apply'])
  rec.calls.length = 0
  const again = untilConverged(e)
  rec.ok.set('a', false)
  rec.poke.get('a')!()
  await again
  assert.deepEqual(rec.calls, ['a:apply', 'b:apply:refresh'])
})

test('a notification sent while the receiver is delivering an earlier one is delivered too', async () => {
  const e = await start([res('a'), res('b', { ms: 300 })], [edge('a', 'b', true)])
  rec.calls.length = 0
  const again = untilConverged(e)
  // The second change of a comes while b is still acting on the first one.
  rec.onCall = call => {
    if (call !== 'b:apply:refresh' || rec.calls.length > 2) return
    rec.ok.set('a', false)
    rec.poke.get('a')!()
  }
  rec.ok.set('a', false)
  rec.poke.get('a')!()
  await again
  assert.deepEqual(rec.calls, ['a:apply', 'b:apply:refresh', 'a:apply', 'b:apply:refresh'])
  assert.deepEqual(await readdir(join(dir, 'engine', 'refresh')), [])
})

test('a change of one of two upstreams reaches their dependent at once (the other one is settled)', async () => {
  const e = await start([res('a'), res('b'), res('c')], [edge('a', 'c', true), edge('b', 'c')])
  rec.calls.length = 0
  const again = untilConverged(e)
  rec.ok.set('a', false)
  rec.poke.get('a')!()
  await again
  assert.deepEqual(rec.calls, ['a:apply', 'c:apply:refresh'])
})

test('a pending notification survives a crash and is delivered once on the next start', async () => {
  // First run: a changes and notifies; b is stuck in its checkApply when the process "dies".
  const first = newEngine()
  await first.commit(compile([res('a'), res('b', { holdStartup: true })], [edge('a', 'b', true)]))
  // a is done once its timestamp is set, which happens only after its notification is on disk.
  await new Promise<void>(r => {
    const wait = () => ((first.worker('fake[a]')?.ts ?? 0) > 0 ? r() : setImmediate(wait))
    wait()
  })
  assert.equal((await readdir(join(dir, 'engine', 'refresh'))).length, 1)
  // The second run finds a already right: only the flag on disk can tell b to refresh.
  rec.calls.length = 0
  engine = await start([res('a'), res('b')], [edge('a', 'b', true)])
  assert.deepEqual(rec.calls, ['a:apply', 'b:apply:refresh'])
  assert.deepEqual(await readdir(join(dir, 'engine', 'refresh')), [])
  rec.release.get('b')?.()
  await first.close()
})

test('a pending notification of an edge that is gone is dropped with a log line', async () => {
  const store = join(dir, 'engine', 'refresh')
  const first = await start([res('a'), res('b', {}, { noop: true })], [edge('a', 'b', true)])
  assert.equal((await readdir(store)).length, 1, 'noop keeps the notification pending')
  await first.close()
  engine = undefined
  log.lines.length = 0
  await start([res('a'), res('b')])
  assert.deepEqual(await readdir(store), [])
  assert.ok(log.lines.some(l => /dropping a pending notification from fake\[a\] to fake\[b\]/.test(l)))
})

test('send/recv copies a changed value into the receiver, marks it changed once, and re-runs it only on change', async () => {
  const values = new Map<string, string>([['s', 'one']])
  const seen: string[] = []
  const pokeSource: { fn?: () => void } = {}
  const source = defineResource({
    kind: 'source',
    params: z.object({}).strict(),
    sends: { out: z.string() },
    init: (_p, ctx) => ({
      async watch(signal) {
        pokeSource.fn = () => ctx.event()
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply() {
        ctx.send({ out: values.get('s') ?? '' })
        return true
      },
    }),
  })
  const sink = defineResource({
    kind: 'sink',
    params: z.object({ v: z.string().default('') }).strict(),
    init: (p, ctx) => ({
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply() {
        seen.push(`${p.v}:${ctx.recv().v?.changed}`)
        return true
      },
    }),
  })
  const registry = new Registry([source as never, sink as never])
  const { graph } = compileGraph(
    {
      name: 'g',
      resources: [
        { kind: 'source', name: 'a', params: {} },
        { kind: 'sink', name: 'b', params: {} },
      ],
      edges: [
        {
          name: 'e',
          from: { kind: 'source', name: 'a' },
          to: { kind: 'sink', name: 'b' },
          send: 'out',
          recv: 'v',
        },
      ],
    },
    registry,
  )
  const e = newEngine()
  engine = e
  let converged = untilConverged(e)
  await e.commit(graph)
  await converged
  assert.deepEqual(seen, ['one:true'])
  assert.ok(log.lines.includes('sink[b]: SendRecv: source[a].out -> sink[b].v'))
  // The same value again: the receiver stays clean.
  converged = untilConverged(e)
  pokeSource.fn!()
  await converged
  assert.deepEqual(seen, ['one:true'])
  // A new value: the receiver runs with it, once.
  values.set('s', 'two')
  converged = untilConverged(e)
  pokeSource.fn!()
  await converged
  assert.deepEqual(seen, ['one:true', 'two:true'])
})

test('semaphores bound how many resources check at once', async () => {
  const four = ['a', 'b', 'c', 'd']
  await start(four.map(n => res(n, { ms: 30 }, { sema: ['lock:2'] })))
  assert.equal(rec.maxInflight, 2)
  await engine!.close()
  rec.maxInflight = 0
  rec.ok.clear()
  engine = newEngine()
  const converged = untilConverged(engine)
  await engine.commit(
    compile(
      four.map(n => res(`${n}2`, { ms: 30 })),
      [],
      { sema: 1 },
    ),
  )
  await converged
  assert.equal(rec.maxInflight, 1, '--sema 1 makes the whole graph serial')
})

test('realize: a resource removed before it was ever applied is applied once', async () => {
  const e = newEngine()
  engine = e
  await e.commit(compile([res('a'), res('late', { holdStartup: true }, { realize: true })]))
  await new Promise<void>(r => {
    const wait = () => (rec.calls.includes('a:apply') ? r() : setImmediate(wait))
    wait()
  })
  assert.ok(!rec.calls.includes('late:apply'))
  const converged = untilConverged(e)
  await e.commit(compile([res('a')]))
  await converged
  assert.equal(rec.calls.filter(c => c === 'late:apply').length, 1)
})

test('a retry budget is kept when a resource is replaced, and reset with meta reset', async () => {
  rec.failures.set('a', 100)
  const e = await start([res('a', { tag: '1' }, { retry: 1 })])
  assert.equal(rec.calls.length, 2)
  // Replaced (changed params), with its budget spent: one attempt, then it fails for good.
  let converged = untilConverged(e)
  await e.commit(compile([res('a', { tag: '2' }, { retry: 1 })]))
  await converged
  assert.equal(rec.calls.length, 3)
  converged = untilConverged(e)
  await e.commit(compile([res('a', { tag: '3' }, { retry: 1, reset: true })]))
  await converged
  assert.equal(rec.calls.length, 5)
})

test('an event on one of many dependents wakes only it and what it waits for', async () => {
  const kids = Array.from({ length: 50 }, (_, i) => `k${i}`)
  const e = await start(
    [res('dir'), ...kids.map(k => res(k))],
    kids.map(k => edge('dir', k)),
  )
  rec.calls.length = 0
  const before = e.tick()
  const again = untilConverged(e)
  rec.ok.set('k7', false)
  rec.poke.get('k7')!()
  await again
  assert.deepEqual(rec.calls, ['k7:apply'])
  // The directory is settled, so k7 does not wait for it: one pass, k7's, not one of each dependent.
  assert.equal(e.tick() - before, 2)
})

test('meta poll replaces watch: a check every interval', async () => {
  engine = newEngine()
  const e = engine
  await e.commit(compile([res('p', {}, { poll: 1 })]))
  await new Promise<void>(r => {
    const wait = () => (rec.calls.length >= 2 ? r() : setTimeout(wait, 20))
    wait()
  })
  assert.deepEqual(rec.calls.slice(0, 2), ['p:apply', 'p:apply'])
  assert.deepEqual(rec.watches, [], 'watch never ran')
})

test('meta hidden: in the graph and in its order, never watched nor checked', async () => {
  await start([res('h', {}, { hidden: true }), res('after')], [edge('h', 'after')])
  assert.deepEqual(rec.calls, ['after:apply'])
  assert.deepEqual(rec.watches, ['after'])
})

test('meta rewatch: a graph change restarts a resource that had failed, only with rewatch', async () => {
  rec.failures.set('a', 1)
  rec.failures.set('b', 1)
  const e = await start([res('a', {}, { rewatch: true }), res('b')])
  assert.deepEqual(e.failures.map(f => f.id).sort(), ['fake[a]', 'fake[b]'])
  const converged = untilConverged(e)
  await e.commit(compile([res('a', {}, { rewatch: true }), res('b')]))
  await converged
  assert.deepEqual(Object.fromEntries(rec.inits), { a: 2, b: 1 })
  assert.deepEqual(
    e.failures.map(f => f.id),
    ['fake[b]'],
  )
})

test('a chain of N vertices starts in about 2N passes (each waits once, then runs once)', async () => {
  const n = 300
  const names = Array.from({ length: n }, (_, i) => `c${i}`)
  const e = await start(
    names.map(c => res(c)),
    names.slice(1).map((c, i) => edge(names[i]!, c)),
  )
  assert.equal(rec.calls.length, n, 'each ran once')
  assert.deepEqual(
    rec.calls,
    names.map(c => `${c}:apply`),
    'in order',
  )
  // A vertex back-poked while it waits for its own upstream notes the dependent and passes no
  // more: no cascade of N²/3 passes.
  assert.ok(e.stats.passes <= 2 * n, `${e.stats.passes} passes for a chain of ${n}`)
})

test('checks start at most 64 a turn of the event loop, and the ones that wait on each other run side by side', async () => {
  const n = 200
  let turn = 0
  let counting = true
  const tick = (): void => {
    turn++
    if (counting) setImmediate(tick)
  }
  setImmediate(tick)
  const perTurn = new Map<number, number>()
  rec.onCall = () => perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1)
  const names = Array.from({ length: n }, (_, i) => `r${i}`)
  await start(names.map(r => res(r)))
  counting = false
  assert.equal(rec.calls.length, n)
  assert.ok(Math.max(...perTurn.values()) <= 64, `checks a turn: ${[...perTurn.values()].join(', ')}`)
  assert.ok(perTurn.size >= Math.ceil(n / 64), `${perTurn.size} turns`)
  // At most IN_FLIGHT checks are in flight at once, except those that take their time (turns.ts):
  // checks that wait until every one of them has started all get to start.
  await engine!.close()
  engine = undefined
  rec.calls.length = 0
  let started!: () => void
  const all = new Promise<void>(r => {
    started = r
  })
  rec.wait = () => {
    if (rec.inflight === n) started()
    return all
  }
  await start(names.map(r => res(`w${r}`)))
  assert.equal(rec.calls.length, n)
  assert.equal(rec.maxInflight, n, 'every check waited side by side')
})
