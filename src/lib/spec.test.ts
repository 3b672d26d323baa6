import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inspect } from 'node:util'
import { tempPrefix } from '../testing/prefix.js'
import { isMgmtError } from '../util/errors.js'
import { run } from './run.js'
import { checkSpec } from './spec.js'

/** The problems checkSpec finds, one line each (`path: message`). */
function problems(spec: unknown): string[] {
  try {
    checkSpec(spec)
  } catch (e) {
    assert.ok(isMgmtError(e, 'ERR_GRAPH_INVALID'), String(e))
    return [...e.details.issues]
  }
  return []
}

test('a spec built at run time has its shape checked: each problem with its path', () => {
  const cyclic: Record<string, unknown> = { msg: 'x' }
  cyclic.self = { back: cyclic }
  const cases: [unknown, string[]][] = [
    [null, ['expected a graph with `name`, `resources` and `edges` (an object), got null']],
    [
      { name: 'g' },
      [
        'resources: expected the resources (a list), got nothing',
        'edges: expected the edges (a list), got nothing',
      ],
    ],
    [{ name: 'g', resources: {}, edges: [] }, ['resources: expected the resources (a list), got an object']],
    [
      { name: 1, resources: [null, { kind: 5, name: 'n', params: [] }], edges: [] },
      [
        'name: expected the graph’s name (a string), got a number',
        'resources[0]: expected a resource (an object), got null',
        'resources[1].kind: expected a kind (a string), got a number',
        'resources[1].params: expected the params by name (an object), got a list',
      ],
    ],
    [
      { name: 'g', resources: [{ kind: 'print', name: 'p', params: cyclic }], edges: [] },
      ['resources[0].params.self.back: holds itself (a cycle): params must be plain data'],
    ],
    [
      { name: 'g', resources: [{ kind: 'print', name: 'p', params: { msg: () => 1 } }], edges: [] },
      ['resources[0].params.msg: expected plain data, got a function'],
    ],
    [
      { name: 'g', resources: [], edges: [{ name: 'e', from: null, to: { kind: 'noop' }, notify: 'yes' }] },
      [
        'edges[0].from: expected a resource by `kind` and `name` (an object), got null',
        'edges[0].to.name: expected a name (a string), got nothing',
        'edges[0].notify: expected true or false, got a string',
      ],
    ],
  ]
  for (const [spec, want] of cases) assert.deepEqual(problems(spec), want, inspect(spec))
  // The same params object twice is no cycle.
  const shared = { msg: 'x' }
  assert.deepEqual(
    problems({
      name: 'g',
      resources: [{ kind: 'print', name: 'p', params: { a: shared, b: shared } }],
      edges: [],
    }),
    [],
  )
})

test('run() refuses a spec of the wrong shape instead of running a part of it', async () => {
  // Resources given as an object used to run as an empty graph.
  const spec = { name: 'g', resources: { noop: [{ name: 'n' }] }, edges: [] } as unknown as Parameters<
    typeof run
  >[0]
  await assert.rejects(run(spec, { prefix: tempPrefix() }), (e: unknown) =>
    isMgmtError(e, 'ERR_GRAPH_INVALID'),
  )
})

test('run() refuses a duration no timer takes, before it starts anything', async () => {
  const spec = { name: 'g', resources: [{ kind: 'noop', name: 'n', params: {} }], edges: [] }
  // Node.js runs a timer of more than 2^31 - 1 ms after 1 ms: the run would end at once.
  for (const [opts, says] of [
    [
      { maxRuntime: 3_000_000 },
      'maxRuntime expects a whole number of seconds from 0 to 2147483, not 3000000',
    ],
    [
      { convergedTimeout: -2 },
      'convergedTimeout expects a whole number of seconds from -1 to 2147483, not -2',
    ],
    [
      { convergedTimeout: 0.5 },
      'convergedTimeout expects a whole number of seconds from -1 to 2147483, not 0.5',
    ],
  ] as const)
    await assert.rejects(run(spec, { ...opts, prefix: '/nonexistent/never-made' }), (e: unknown) => {
      assert.ok(isMgmtError(e, 'ERR_USAGE'), String(e))
      assert.equal(e.message, says)
      return true
    })
})
