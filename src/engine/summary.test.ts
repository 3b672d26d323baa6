import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Change, GRAPH_CHANGE, type IdleEvent, STARTUP, WATCH_EVENT } from './events.js'
import { ConvergeSummary, summaryLine } from './summary.js'

const change = (id: string, cause = WATCH_EVENT, noop = false): Change => ({ id, cause, noop })

test('the summary line: counts, each change with its cause, failures', () => {
  assert.equal(summaryLine({ resources: 1, changes: [], failed: [] }), 'converged: 1 resource, 0 changed')
  assert.equal(
    summaryLine({
      resources: 1000,
      changes: [change('file[f1]'), change('noop[n1]', { type: 'refresh', from: ['file[f1]'] })],
      failed: [],
    }),
    'converged: 1000 resources, 2 changed (file[f1]: watch event; noop[n1]: refresh from file[f1])',
  )
  assert.equal(
    summaryLine({
      resources: 3,
      changes: [
        change('print[p]', { type: 'received', values: [{ from: 'exec[e]', key: 'stdout', param: 'msg' }] }),
        change('file[g]', GRAPH_CHANGE, true),
      ],
      failed: ['exec[x]'],
    }),
    'converged: 3 resources, 1 changed, 1 would change (print[p]: value received from exec[e].stdout; ' +
      'file[g]: graph change), 1 failed (exec[x])',
  )
})

test('the summary line of a big graph stays short', () => {
  const changes = Array.from({ length: 10_000 }, (_, i) => change(`file[f${i}]`, STARTUP))
  const failed = Array.from({ length: 20 }, (_, i) => `exec[e${i}]`)
  const line = summaryLine({ resources: 10_050, changes, failed })
  assert.ok(line.length < 400, `${line.length} characters`)
  assert.match(
    line,
    /^converged: 10050 resources, 10000 changed \(file\[f0\]: startup; file\[f1\]: startup; /,
  )
  assert.match(line, /; and 99\d\d more\), 20 failed \(exec\[e0\], .*exec\[e4\], \.\.\.\)$/)
})

const idle = (changes: Change[], over: Partial<IdleEvent> = {}): IdleEvent => ({
  type: 'idle',
  time: 0,
  resources: 2,
  checks: changes.length,
  changes,
  failed: [],
  skipped: [],
  afterCommit: false,
  ...over,
})

test('without a converged timeout, a line after each graph and each change; quiet otherwise', () => {
  const lines: string[] = []
  const s = new ConvergeSummary(false, l => lines.push(l))
  s.idle(idle([change('file[a]', STARTUP)], { afterCommit: true }))
  s.idle(idle([]))
  s.idle(idle([change('file[a]')]))
  s.idle(idle([], { failed: ['exec[x]'] }))
  s.idle(idle([], { failed: ['exec[x]'] }))
  assert.deepEqual(lines, [
    'converged: 2 resources, 1 changed (file[a]: startup)',
    'converged: 2 resources, 1 changed (file[a]: watch event)',
    'converged: 2 resources, 0 changed, 1 failed (exec[x])',
  ])
})

test('with a converged timeout, one line at each convergence, with every change since the last', () => {
  const lines: string[] = []
  const s = new ConvergeSummary(true, l => lines.push(l))
  s.idle(idle([change('file[a]', STARTUP)], { afterCommit: true }))
  s.idle(idle([change('file[b]')]))
  assert.deepEqual(lines, [])
  s.converged()
  s.converged()
  assert.deepEqual(lines, [
    'converged: 2 resources, 2 changed (file[a]: startup; file[b]: watch event)',
    'converged: 2 resources, 0 changed',
  ])
})
