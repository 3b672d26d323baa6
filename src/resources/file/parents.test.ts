import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Res, ResGraph } from '../../engine/compiled.js'
import { Dag } from '../../engine/dag.js'
import { GraphViews, viewChanges } from '../../engine/graphview.js'
import { managedAncestors } from './parents.js'

/** A vertex as the graph view reads it: kind, name, params. */
const file = (name: string, path: string): Res => ({ kind: 'file', name, params: { path } }) as unknown as Res

function graph(...rs: Res[]): ResGraph {
  const g: ResGraph = new Dag()
  for (const r of rs) g.addVertex(`file[${r.name}]`, r)
  return g
}

test('the managed directories above a file follow a derived view: kept through a content edit, read again when a directory moves', () => {
  const views = new GraphViews()
  const g0 = graph(file('top', '/m/'), file('d', '/m/d/'), file('f', '/m/d/f'))
  const v0 = views.view(g0)
  const above = managedAncestors('/m/d/f', v0)
  assert.deepEqual(above, [
    { path: '/m', name: 'top' },
    { path: '/m/d', name: 'd' },
  ])
  // A file's own edit: the very same list, worked out for the view before.
  const edited = { ...file('f', '/m/d/f'), params: { path: '/m/d/f', content: 'x' } } as unknown as Res
  const g1 = Dag.withValues(g0, new Map([['file[f]', edited]]))
  views.swapped(g0, g1, ['file[f]'])
  const v1 = views.view(g1)
  assert.deepEqual(viewChanges(v1)?.changed, [2])
  assert.equal(managedAncestors('/m/d/f', v1), above)
  // A managed directory moved: read again.
  const g2 = Dag.withValues(g1, new Map([['file[d]', file('d', '/m/e/')]]))
  views.swapped(g1, g2, ['file[d]'])
  const v2 = views.view(g2)
  assert.deepEqual(viewChanges(v2)?.changed, [1])
  assert.deepEqual(managedAncestors('/m/d/f', v2), [{ path: '/m', name: 'top' }])
  assert.deepEqual(managedAncestors('/m/e/f', v2), [
    { path: '/m', name: 'top' },
    { path: '/m/e', name: 'd' },
  ])
  // Renamed: the name a waiting file reports is the new one.
  const g3 = Dag.withValues(g2, new Map([['file[d]', file('d2', '/m/e/')]]))
  views.swapped(g2, g3, ['file[d]'])
  assert.deepEqual(managedAncestors('/m/e/f', views.view(g3)), [
    { path: '/m', name: 'top' },
    { path: '/m/e', name: 'd2' },
  ])
})
