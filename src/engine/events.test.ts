/**
 * The engine's event stream, through the library's `start()` with real resources: what a graph's
 * first converge publishes, the cause of each change (startup, a watch event, a refresh, a received
 * value, a graph change), failures, and the converge summary line built from them.
 */
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Graph, start } from '../index.js'
import type { RunHandle } from '../lib/run.js'
import { builtinRegistry } from '../resources/index.js'
import { tempPrefix } from '../testing/prefix.js'
import { memoryLogger } from '../util/logger.js'
import { LocalWorld } from '../world/local.js'
import { compileGraph } from './compile.js'
import { type EngineEvent, type EngineEventOf, EngineEvents, type EngineEventType } from './events.js'
import { Runner } from './runner.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-events-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Resolves with the next event of `type` for which `pred` holds (subscribed at the call). */
function next<T extends EngineEventType>(
  h: RunHandle,
  type: T,
  pred: (e: EngineEventOf<T>) => boolean = () => true,
  ms = 10_000,
): Promise<EngineEventOf<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no matching ${type} event within ${ms} ms`))
    }, ms)
    const off = h.on(type, e => {
      if (!pred(e as EngineEventOf<T>)) return
      clearTimeout(timer)
      off()
      resolve(e as EngineEventOf<T>)
    })
  })
}

test('a first converge publishes the graph, each state and check, and the idle moment; never a param value', async () => {
  const g = new Graph('stream')
  const pw = g.add('password', 'pw', { length: 24 })
  const secret = join(dir, 'secret')
  const file = g.add('file', 'secret', { path: secret, state: 'exists', mode: '0600' })
  g.sendRecv(pw, 'password', file, 'content')
  const h = start(g, { prefix: tempPrefix(), convergedTimeout: 0, log: 'silent' })
  const seen: EngineEvent[] = []
  for await (const e of h.events()) seen.push(e)
  const result = await h.done
  assert.deepEqual(result.failed, [])

  const graph = seen[0]
  assert.equal(graph?.type, 'graph')
  assert.equal(graph.name, 'stream')
  assert.deepEqual(graph.vertices.map(v => v.id).sort(), ['file[secret]', 'password[pw]'])
  assert.deepEqual([...graph.started].sort(), ['file[secret]', 'password[pw]'])
  assert.deepEqual(graph.edges, [
    {
      from: 'password[pw]',
      to: 'file[secret]',
      name: graph.edges[0]!.name,
      notify: false,
      sendRecv: [{ send: 'password', recv: 'content' }],
    },
  ])
  for (const id of ['password[pw]', 'file[secret]']) {
    // Its own write may bring one more, clean, check.
    const states = seen
      .filter(e => e.type === 'state' && e.id === id)
      .map(e => (e as { state: string }).state)
    assert.deepEqual(states.slice(0, 2), ['checking', 'changed'], id)
    assert.deepEqual(states.slice(2), states.length > 2 ? ['checking', 'clean'] : [], id)
    const checks = seen.filter(e => e.type === 'checkApply' && e.id === id)
    const c = checks[0] as EngineEventOf<'checkApply'>
    assert.deepEqual([c.apply, c.changed, c.error, c.cause], [true, true, undefined, { type: 'startup' }])
    assert.ok(c.durationMs >= 0)
  }
  const idle = seen.find(e => e.type === 'idle')
  assert.ok(idle?.type === 'idle')
  assert.equal(idle.afterCommit, true)
  assert.equal(idle.resources, 2)
  assert.deepEqual(idle.changes.map(c => c.id).sort(), ['file[secret]', 'password[pw]'])
  assert.ok(seen.some(e => e.type === 'converged' && e.converged))
  // The order: the graph first, each vertex's checkApply between its `checking` and its result.
  const at = (pred: (e: EngineEvent) => boolean) => seen.findIndex(pred)
  assert.ok(
    at(e => e.type === 'state' && e.id === 'file[secret]' && e.state === 'checking') <
      at(e => e.type === 'checkApply' && e.id === 'file[secret]'),
  )
  const password = await readFile(secret, 'utf8')
  assert.equal(password.length, 24)
  assert.ok(!JSON.stringify(seen).includes(password), 'no event holds the password')
})

test('the summary names the cause of each change: startup, a watch event, a refresh, a received value', async () => {
  const root = await mkdtemp(join(dir, 'why-'))
  const [f1, input, trigger] = ['f1', 'input', 'trigger'].map(n => join(root, n)) as [string, string, string]
  await writeFile(input, 'one\n')
  // The watch command reports every line from the second on: also one appended before it opened the file.
  await writeFile(trigger, 'start\n')
  const g = new Graph('why')
  const file = g.add('file', 'f1', { path: f1, state: 'exists', content: 'wanted\n' })
  const notified = g.add('print', 'p1', { msg: 'refreshed', refresh_only: true })
  g.notify(file, notified)
  // Each line appended to the trigger file is a watch event of the exec, which sends its output.
  const reader = g.add('exec', 'reader', {
    cmd: `cat ${input}`,
    shell: '/bin/sh',
    watchcmd: `tail -n+2 -F ${trigger}`,
    watchshell: '/bin/sh',
  })
  g.sendRecv(reader, 'stdout', g.add('print', 'p2'), 'msg')
  const log = memoryLogger('info')
  const h = start(g, { prefix: tempPrefix(), log })
  const summaries = () => log.lines.filter(l => l.startsWith('converged: '))
  try {
    await next(h, 'idle')
    // Creating f1 notified p1 already.
    assert.match(summaries()[0]!, /^converged: 4 resources, 4 changed \(/)
    for (const part of [
      'file[f1]: startup',
      'exec[reader]: startup',
      'print[p2]: startup',
      'print[p1]: refresh from file[f1]',
    ])
      assert.ok(summaries()[0]!.includes(part), summaries()[0])

    const drift = next(h, 'idle', e => e.changes.some(c => c.id === 'print[p1]'))
    await writeFile(f1, 'drift\n')
    const e = await drift
    assert.deepEqual(
      e.changes.map(c => [c.id, c.cause]),
      [
        ['file[f1]', { type: 'watch event' }],
        ['print[p1]', { type: 'refresh', from: ['file[f1]'] }],
      ],
    )
    assert.ok(
      summaries().includes(
        'converged: 4 resources, 2 changed (file[f1]: watch event; print[p1]: refresh from file[f1])',
      ),
      summaries().join('\n'),
    )

    const received = next(h, 'idle', e => e.changes.some(c => c.id === 'print[p2]'))
    await writeFile(input, 'two\n')
    await appendFile(trigger, 'go\n')
    const r = await received
    assert.deepEqual(r.changes.find(c => c.id === 'print[p2]')?.cause, {
      type: 'received',
      values: [{ from: 'exec[reader]', key: 'stdout', param: 'msg' }],
    })
    assert.match(summaries().at(-1)!, /print\[p2\]: value received from exec\[reader\]\.stdout/)
    assert.match(summaries().at(-1)!, /exec\[reader\]: watch event/)
  } finally {
    h.shutdown()
    await h.done
  }
})

test('a resource added or replaced by a graph change runs for that cause; the graph event names it', async () => {
  const gen = (names: string[], msg = 'hi') => {
    const g = new Graph('swap')
    // Not grouped, so that each print is a vertex of its own.
    for (const n of names) g.add('print', n, { msg: n === 'b' ? msg : 'hi' }, { autogroup: false })
    return g
  }
  let push: ((g: Graph) => void) | undefined
  async function* graphs(): AsyncGenerator<Graph> {
    yield gen(['a'])
    for (;;) yield await new Promise<Graph>(resolve => (push = resolve))
  }
  const h = start(graphs(), { prefix: tempPrefix(), log: 'silent' })
  try {
    await next(h, 'idle')
    const added = next(h, 'graph')
    const ran = next(h, 'checkApply', e => e.id === 'print[b]')
    push!(gen(['a', 'b']))
    assert.deepEqual((await added).started, ['print[b]'])
    assert.deepEqual((await ran).cause, { type: 'graph change' })
    await next(h, 'idle')
    const replaced = next(h, 'graph')
    const ranAgain = next(h, 'checkApply', e => e.id === 'print[b]')
    push!(gen(['b'], 'changed'))
    const r = await replaced
    assert.deepEqual([r.started, r.removed], [['print[b]'], ['print[a]']])
    assert.deepEqual((await ranAgain).cause, { type: 'graph change' })
  } finally {
    h.shutdown()
    await h.done
  }
})

test('a failing resource is retrying, then failed, with its error; the idle event lists it', async () => {
  const g = new Graph('fail')
  g.add('exec', 'bad', { cmd: 'exit 3', shell: '/bin/sh' }, { retry: 1, delay: 10 })
  const states: string[] = []
  const errors: (string | undefined)[] = []
  const h = start(g, { prefix: tempPrefix(), convergedTimeout: 0, log: 'silent' })
  h.on('state', e => {
    states.push(e.state)
    if (e.error) errors.push(e.error)
  })
  const checks: EngineEventOf<'checkApply'>[] = []
  h.on('checkApply', e => checks.push(e))
  const idle = next(h, 'idle')
  assert.deepEqual((await h.done).failed, ['exec[bad]'])
  assert.deepEqual(states, ['checking', 'retrying', 'checking', 'failed'])
  assert.equal(errors.length, 2)
  for (const e of errors) assert.match(e!, /exited with code 3/)
  assert.deepEqual(
    checks.map(c => [c.changed, c.cause.type, /exited with code 3/.test(c.error ?? '')]),
    [
      [true, 'startup', true],
      [true, 'startup', true],
    ],
  )
  assert.deepEqual((await idle).failed, ['exec[bad]'])
})

test('with nobody listening, workers publish nothing; a throwing listener breaks nothing', async () => {
  /** Refuses every event of a type nobody listens to: the engine must not even build one. */
  class Strict extends EngineEvents {
    readonly emitted: string[] = []
    override emit(e: EngineEvent): void {
      if (!this.listening(e.type)) throw new Error(`${e.type} event built with nobody listening`)
      this.emitted.push(e.type)
      super.emit(e)
    }
  }
  const errors: unknown[] = []
  const events = new Strict(err => errors.push(err))
  const log = memoryLogger('info')
  const registry = builtinRegistry()
  const g = new Graph('quiet')
  g.add('print', 'p', { msg: 'hi' })
  g.add('file', 'f', { path: join(dir, 'quiet'), state: 'exists', content: 'x' })
  const r = new Runner({
    registry,
    hostname: 'h',
    prefix: await mkdtemp(join(dir, 'prefix-')),
    world: new LocalWorld('h'),
    log,
    convergedTimeout: 0,
    events,
  })
  events.on('idle', () => {
    throw new Error('listener bug')
  })
  await r.commit(compileGraph(g.toSpec(), registry).graph)
  const result = await r.done
  assert.deepEqual(result.failed, [])
  assert.deepEqual([...new Set(events.emitted)], ['idle'], 'only the runner listens, to idle')
  assert.equal(errors.length, 1)
  assert.ok(
    log.lines.some(l => l.startsWith('converged: 2 resources, 2 changed')),
    log.lines.join('\n'),
  )
})

test('EngineEvents: listening, unsubscribing, and a stream that queues until it is read', async () => {
  const ev = new EngineEvents()
  assert.equal(ev.listening('state'), false)
  const off = ev.on('state', () => {})
  assert.deepEqual([ev.listening('state'), ev.listening('idle')], [true, false])
  off()
  assert.equal(ev.listening('state'), false)
  const ac = new AbortController()
  const it = ev.stream(ac.signal)
  assert.equal(ev.listening('idle'), true, 'the stream subscribes when made, not when first read')
  const conv = (converged: boolean): EngineEvent => ({ type: 'converged', time: 0, converged })
  ev.emit(conv(true))
  ev.emit(conv(false))
  const got: boolean[] = []
  setImmediate(() => ac.abort())
  for await (const e of it) if (e.type === 'converged') got.push(e.converged)
  assert.deepEqual(got, [true, false])
  assert.equal(ev.listening('idle'), false, 'an ended stream unsubscribes')
})
