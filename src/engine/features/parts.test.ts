/**
 * Parts (a kind's `partOf`): grouped into their parent whatever the autogroup settings, reachable
 * from the parent through `ctx.group()`, and receiving values of their own. Small test kinds stand
 * for `http:server` and `http:server:file`, which are tested against real sockets beside them.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { z } from 'zod'
import { isMgmtError } from '../../util/errors.js'
import { memoryLogger } from '../../util/logger.js'
import { LocalWorld } from '../../world/local.js'
import { compileGraph } from '../compile.js'
import { Engine } from '../engine.js'
import { Registry } from '../registry.js'
import { defineResource, type Instance, untilAborted } from '../resource.js'
import type { EdgeSpec, ResourceSpec } from '../spec.js'

/** What a box saw of its items at its last checkApply. */
let seen: string[] = []

const box = defineResource({
  kind: 'test:box',
  params: z.object({ size: z.number().default(1) }).strict(),
  init(_p, ctx) {
    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply() {
        seen = ctx.group().map(m => `${m.kind}[${m.name}]=${(m.instance as Item).text()}`)
        return true
      },
    }
  },
})

interface Item extends Instance {
  text(): string
}

const item = defineResource({
  kind: 'test:box:item',
  params: z.object({ box: z.string().default(''), text: z.string().default('') }).strict(),
  partOf: p => ({ kind: 'test:box', name: p.box || undefined }),
  init(p, ctx): Item {
    return {
      text: () => p.text,
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply() {
        return !ctx.recv().text?.changed
      },
    }
  },
})

const source = defineResource({
  kind: 'test:source',
  params: z.object({ value: z.string().default('') }).strict(),
  sends: { value: z.string() },
  init(p, ctx) {
    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply() {
        ctx.send({ value: p.value })
        return true
      },
    }
  },
})

/** A part that sends: it cannot be one. */
const emitter = defineResource({
  kind: 'test:box:emitter',
  params: z.object({}).strict(),
  sends: { value: z.string() },
  partOf: () => ({ kind: 'test:box' }),
  init: (_p, ctx) => ({
    async watch(signal) {
      ctx.event()
      await untilAborted(signal)
    },
    checkApply: async () => true,
  }),
})

const registry = new Registry([box, item, source, emitter] as never[])
const r = (kind: string, name: string, params: Record<string, unknown> = {}): ResourceSpec => ({
  kind,
  name,
  params,
})
const e = (from: [string, string], to: [string, string], extra: Partial<EdgeSpec> = {}): EdgeSpec => ({
  name: `${from[1]}-${to[1]}`,
  from: { kind: from[0], name: from[1] },
  to: { kind: to[0], name: to[1] },
  ...extra,
})
const compile = (resources: ResourceSpec[], edges: EdgeSpec[] = [], noAutoGroup = false) =>
  compileGraph({ name: 'g', resources, edges }, registry, { noAutoGroup }).graph

/** The problems of an invalid graph. */
function problems(resources: ResourceSpec[], edges: EdgeSpec[] = []): string {
  try {
    compile(resources, edges)
  } catch (err) {
    assert.ok(isMgmtError(err, 'ERR_GRAPH_INVALID'), String(err))
    return err.message
  }
  assert.fail('the graph compiled')
}

test('a part joins its named parent, also with autogrouping off, and keeps the values it receives', () => {
  const g = compile(
    [
      r('test:box', 'a'),
      r('test:box', 'b'),
      r('test:box:item', 'i1', { box: 'b' }),
      r('test:box:item', 'i2', { box: 'b' }),
      r('test:source', 's'),
    ],
    [e(['test:source', 's'], ['test:box:item', 'i2'], { send: 'value', recv: 'text' })],
    true,
  )
  assert.deepEqual([...g.ids()].sort(), ['test:box[a]', 'test:box[b]', 'test:source[s]'])
  assert.deepEqual(
    g.vertex('test:box[b]')!.group!.map(m => m.id),
    ['test:box:item[i1]', 'test:box:item[i2]'],
  )
  assert.deepEqual(g.outgoing('test:source[s]').get('test:box[b]')!.sendRecv, [
    { send: 'value', recv: 'text', to: 'test:box:item[i2]' },
  ])
})

test('a part with no parent named joins the only one of its kind', () => {
  const g = compile([r('test:box', 'only'), r('test:box:item', 'i')])
  assert.deepEqual([...g.ids()], ['test:box[only]'])
})

test('a part that cannot join its parent makes the graph invalid, saying why', () => {
  assert.match(
    problems([r('test:box:item', 'i', { box: 'x' })]),
    /test:box:item\[i\]: .*test:box\[x\], which/,
  )
  assert.match(problems([r('test:box:item', 'i')]), /part of a test:box, which the graph does not have/)
  assert.match(
    problems([r('test:box', 'a'), r('test:box', 'b'), r('test:box:item', 'i')]),
    /2 test:box resources \(test:box\[a\], test:box\[b\]\): name the one/,
  )
  assert.match(
    problems([r('test:box', 'a'), r('test:box:item', 'i')], [e(['test:box', 'a'], ['test:box:item', 'i'])]),
    /no path of edges may join the two/,
  )
  assert.match(
    problems(
      [r('test:box', 'a'), r('test:box:emitter', 'x'), r('test:box:item', 'i')],
      [e(['test:box:emitter', 'x'], ['test:box:item', 'i'], { send: 'value', recv: 'text' })],
    ),
    /test:box:emitter\[x\]: it is part of test:box\[a\] and cannot send values/,
  )
})

let dir: string
let engine: Engine | undefined
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-parts-'))
  seen = []
})
afterEach(async () => {
  await engine?.close()
  engine = undefined
  await rm(dir, { recursive: true, force: true })
})

async function converge(resources: ResourceSpec[], edges: EdgeSpec[]): Promise<void> {
  engine ??= new Engine({
    registry,
    hostname: 'h',
    prefix: dir,
    world: new LocalWorld('h'),
    log: memoryLogger('info'),
    convergedTimeout: 0,
  })
  const e = engine
  const converged = new Promise<void>(resolve => {
    const off = e.converger.onChange(c => {
      if (c) {
        off()
        resolve()
      }
    })
  })
  await e.commit(compile(resources, edges))
  await converged
}

test('the parent reaches its parts; a part receives its own values, live', async () => {
  const edges = [e(['test:source', 's'], ['test:box:item', 'i2'], { send: 'value', recv: 'text' })]
  const items = [r('test:box:item', 'i1', { text: 'fixed' }), r('test:box:item', 'i2')]
  await converge([r('test:box', 'b'), ...items, r('test:source', 's', { value: 'one' })], edges)
  assert.deepEqual(seen, ['test:box:item[i1]=fixed', 'test:box:item[i2]=one'])
  const w = engine!.worker('test:box[b]')!
  assert.deepEqual(w.members.get('test:box:item[i2]')!.recvState.text, {
    from: 'test:source[s]',
    key: 'value',
    changed: false,
  })
  assert.deepEqual(w.recvState, {}, 'the parent received nothing itself')

  // A new value reaches the part without restarting its parent.
  await converge([r('test:box', 'b'), ...items, r('test:source', 's', { value: 'two' })], edges)
  assert.equal(engine!.worker('test:box[b]'), w)
  assert.deepEqual(seen, ['test:box:item[i1]=fixed', 'test:box:item[i2]=two'])

  // A part added live restarts its parent with it.
  const more = [...items, r('test:box:item', 'i3', { text: 'new' })]
  await converge([r('test:box', 'b'), ...more, r('test:source', 's', { value: 'two' })], edges)
  assert.notEqual(engine!.worker('test:box[b]'), w)
  assert.deepEqual(seen, ['test:box:item[i1]=fixed', 'test:box:item[i2]=two', 'test:box:item[i3]=new'])
})
