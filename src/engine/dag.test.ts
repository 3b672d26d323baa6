import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Dag } from './dag.js'

test('topoSort orders dependencies first', () => {
  const g = new Dag<number, string>()
  for (const id of ['a', 'b', 'c', 'd']) g.addVertex(id, 0)
  g.addEdge('a', 'b', 'e1')
  g.addEdge('b', 'd', 'e2')
  g.addEdge('a', 'c', 'e3')
  g.addEdge('c', 'd', 'e4')
  const order = g.topoSort()
  const pos = (id: string) => order.indexOf(id)
  assert.ok(pos('a') < pos('b') && pos('b') < pos('d') && pos('c') < pos('d'))
})

test('a cycle is an error that names its vertices in order', () => {
  const g = new Dag<number, string>()
  for (const id of ['x', 'a', 'b', 'c']) g.addVertex(id, 0)
  g.addEdge('x', 'a', '')
  g.addEdge('a', 'b', '')
  g.addEdge('b', 'c', '')
  g.addEdge('c', 'a', '')
  assert.throws(() => g.topoSort(), {
    code: 'ERR_GRAPH_CYCLE',
    message: 'the graph has a cycle: a -> b -> c -> a',
  })
})

test('edges between the same pair merge', () => {
  const g = new Dag<number, boolean>()
  g.addVertex('a', 0)
  g.addVertex('b', 0)
  g.addEdge('a', 'b', false)
  g.addEdge('a', 'b', true, (x, y) => x || y)
  g.addEdge('a', 'b', false, (x, y) => x || y)
  assert.equal(g.outgoing('a').get('b'), true)
  assert.equal(g.incoming('b').get('a'), true)
})

/** A graph a -> b -> c, values by id. */
function abc(): Dag<string, string> {
  const g = new Dag<string, string>()
  for (const id of ['a', 'b', 'c']) g.addVertex(id, `${id}0`)
  g.addEdge('a', 'b', 'ab')
  g.addEdge('b', 'c', 'bc')
  return g
}

test('withValues replaces values and keeps the vertices, their order and the edges; each graph copies before it changes', () => {
  const g = abc()
  const h = Dag.withValues(g, new Map([['b', 'b1']]))
  assert.deepEqual(
    [...h.entries()],
    [
      ['a', 'a0'],
      ['b', 'b1'],
      ['c', 'c0'],
    ],
  )
  assert.deepEqual([...h.values()], ['a0', 'b1', 'c0'])
  assert.deepEqual([...g.values()], ['a0', 'b0', 'c0'])
  assert.equal(h.vertex('b'), 'b1')
  assert.equal(g.vertex('b'), 'b0')
  assert.deepEqual([...h.edges()], [...g.edges()])
  assert.throws(() => Dag.withValues(g, new Map([['x', 'x1']])), /unknown vertex/)
  // A change of either graph is its own.
  h.addVertex('d', 'd0')
  h.removeVertex('a')
  g.addEdge('a', 'c', 'ac')
  assert.deepEqual(
    [...g.entries()],
    [
      ['a', 'a0'],
      ['b', 'b0'],
      ['c', 'c0'],
    ],
  )
  assert.deepEqual(
    [...h.entries()],
    [
      ['b', 'b1'],
      ['c', 'c0'],
      ['d', 'd0'],
    ],
  )
  assert.deepEqual([...g.edges()].length, 3)
  assert.deepEqual([...h.edges()], [['b', 'c', 'bc']])
})

test('changedSince names the vertices whose values differ between graphs derived from one, and gives up once either changed its own', () => {
  const g = abc()
  const h1 = Dag.withValues(g, new Map([['b', 'b1']]))
  const h2 = Dag.withValues(h1, new Map([['c', 'c1']]))
  // The same value again is no change.
  const h3 = Dag.withValues(h2, new Map([['b', 'b1']]))
  assert.deepEqual(h1.changedSince(g), ['b'])
  assert.deepEqual(h2.changedSince(h1), ['c'])
  assert.deepEqual(h3.changedSince(h2), [])
  assert.deepEqual(h2.changedSince(g)?.sort(), ['b', 'c'])
  assert.deepEqual(g.changedSince(h2)?.sort(), ['b', 'c'])
  assert.deepEqual(g.changedSince(g), [])
  assert.equal(abc().changedSince(g), undefined)
  const h4 = Dag.withValues(h2, new Map([['a', 'a1']]))
  h4.addEdge('a', 'c', 'ac')
  assert.equal(h4.changedSince(h2), undefined)
  const h5 = Dag.withValues(h2, new Map([['a', 'a1']]))
  h5.addVertex('d', 'd0')
  assert.equal(h5.changedSince(h2), undefined)
})

test('a long run of withValues keeps every value, its order, and what changed from one graph to the next', () => {
  const g = new Dag<string, string>()
  const n = 1000
  for (let i = 0; i < n; i++) g.addVertex(`v${i}`, 'x0')
  g.addEdge('v1', 'v2', 'e')
  const want = new Map([...g.entries()])
  let last = g
  let derived = 0
  for (let k = 1; k <= 2000; k++) {
    const id = `v${(k * 7919) % n}`
    const next = Dag.withValues(last, new Map([[id, `x${k}`]]))
    want.set(id, `x${k}`)
    // Past the overlay's bound the vertex map is copied: the new graph still knows what it replaced.
    assert.deepEqual(next.changedSince(last), [id], `edit ${k}`)
    if (next.changedSince(g) !== undefined) derived++
    last = next
  }
  assert.deepEqual([...last.entries()], [...want])
  assert.equal(last.vertex('v0'), want.get('v0'))
  assert.deepEqual([...last.edges()], [['v1', 'v2', 'e']])
  // Against the first graph: only while the vertex map is the first one's.
  assert.equal(derived, 256)
})

test('a graph whose vertex map was copied knows what it replaced until either graph adds or removes a vertex', () => {
  const g = abc()
  const big = new Map(Array.from({ length: 300 }, (_, i) => [`x${i}`, 'x']))
  for (const id of big.keys()) g.addVertex(id, 'x')
  const h = Dag.withValues(g, new Map([...big.keys()].map(id => [id, 'y'])))
  assert.equal(h.changedSince(g)?.length, 300)
  const h2 = Dag.withValues(g, new Map([...big.keys()].map(id => [id, 'y'])))
  h2.addVertex('d', 'd0')
  assert.equal(h2.changedSince(g), undefined)
  // A vertex added to the graph it was made from (its edges untouched, still shared).
  g.addVertex('z', 'z0')
  assert.equal(h.changedSince(g), undefined)
})
