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
