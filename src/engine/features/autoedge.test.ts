import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { compileGraph } from '../compile.js'
import { Registry } from '../registry.js'
import { defineResource } from '../resource.js'
import type { ResourceSpec } from '../spec.js'

/** A kind shaped like file: it is its path, and needs its nearest parent directory. */
const path = defineResource({
  kind: 'path',
  params: z.object({ needs: z.array(z.string()).default([]) }).strict(),
  uids: (_p, name) => [`path:${name}`],
  autoEdges(p, name) {
    const parents: string[] = []
    for (let d = name.replace(/[^/]*\/?$/, ''); d.length > 1; d = d.replace(/[^/]*\/$/, ''))
      parents.push(`path:${d}`)
    return [parents, ...p.needs.map(n => [`path:${n}`])]
  },
  init: () => ({ watch: async () => {}, checkApply: async () => true }),
})

const registry = new Registry([path as never])
const res = (
  name: string,
  params: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): ResourceSpec => ({
  kind: 'path',
  name,
  params,
  meta,
})
const compile = (resources: ResourceSpec[]) => compileGraph({ name: 'g', resources, edges: [] }, registry)

test('a resource depends on its nearest managed parent only', () => {
  const { graph } = compile([res('/a/'), res('/a/b/'), res('/a/b/c/f'), res('/a/g')])
  assert.deepEqual([...graph.incoming('path[/a/b/c/f]').keys()], ['path[/a/b/]'])
  assert.deepEqual([...graph.incoming('path[/a/b/]').keys()], ['path[/a/]'])
  assert.deepEqual([...graph.incoming('path[/a/g]').keys()], ['path[/a/]'])
  assert.equal(graph.incoming('path[/a/]').size, 0)
})

test('meta autoedge false opts a resource out', () => {
  const { graph } = compile([res('/a/'), res('/a/f', {}, { autoedge: false })])
  assert.equal(graph.incoming('path[/a/f]').size, 0)
})

test('an automatic edge that would close a cycle is dropped with a warning', () => {
  const { graph, warnings } = compile([res('/a/', { needs: ['/a/f'] }), res('/a/f')])
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]!.message, /automatic edge .* dropped: it would close the cycle/)
  assert.doesNotThrow(() => graph.topoSort())
  assert.equal(graph.incoming('path[/a/]').size + graph.incoming('path[/a/f]').size, 1)
})

test('a compile cache hands back the same compiled resource for an unchanged declaration', async () => {
  const { CompileCache } = await import('../compiled.js')
  const cache = new CompileCache()
  const a = compileGraph({ name: 'g', resources: [res('/x/'), res('/x/f')], edges: [] }, registry, {
    cache,
  }).graph
  const b = compileGraph(
    { name: 'g', resources: [res('/x/'), res('/x/f', { needs: ['/x/'] })], edges: [] },
    registry,
    { cache },
  ).graph
  assert.equal(a.vertex('path[/x/]'), b.vertex('path[/x/]'))
  assert.notEqual(a.vertex('path[/x/f]'), b.vertex('path[/x/f]'))
})

test('a need is read only until a candidate is found, and not past its first of a kind nobody has', () => {
  const read: string[] = []
  function* lazy(uids: string[]): Generator<string> {
    for (const u of uids) {
      read.push(u)
      yield u
    }
  }
  const lazyKind = defineResource({
    kind: 'lazy',
    params: z.object({}).strict(),
    autoEdges: () => [lazy(['path:/x/', 'path:/', 'path:/never']), lazy(['pkgfile:/x', 'pkgfile:/never'])],
    init: () => ({ watch: async () => {}, checkApply: async () => true }),
  })
  const { graph } = compileGraph(
    { name: 'g', resources: [res('/x/'), { kind: 'lazy', name: 'l', params: {}, meta: {} }], edges: [] },
    new Registry([path as never, lazyKind as never]),
  )
  assert.deepEqual([...graph.incoming('lazy[l]').keys()], ['path[/x/]'])
  assert.deepEqual(read, ['path:/x/', 'pkgfile:/x'])
})
