/** Relationships and containers, from catalog fixtures (real compiles, no Ruby needed). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Catalog, CatalogResource } from './catalog.js'
import { builtinKindParams, edgeLine, translated } from './testdata.js'
import { translate } from './translate.js'

test('chains and metaparams: -> and before/require order, ~> and notify/subscribe refresh', () => {
  assert.deepEqual(translated('chains').edgeLines, [
    // File['/tmp/a'] ~> Exec['after-all'] and its `require` merge: the refresh wins.
    'file[/tmp/a] -> exec[after-all] (notify)',
    'file[/tmp/a] -> file[/tmp/b]',
    'file[/tmp/b] -> exec[reload-b] (notify)',
    'file[/tmp/c] -> exec[after-all] (notify)',
    'file[/tmp/c] -> exec[reload-b]',
    'file[/tmp/c] -> file[/tmp/d]',
    'file[/tmp/d] -> exec[after-all]',
    'file[/tmp/d] -> exec[reload-d] (notify)',
  ])
})

test('exec refreshonly through subscribe: the file notifies the exec', () => {
  const t = translated('refreshonly')
  assert.deepEqual(t.edgeLines, ['file[/etc/app.conf] -> exec[reload-app] (notify)'])
  assert.equal(t.res('exec', 'reload-app').params.refreshonly, true)
  assert.equal(t.spec.edges[0]?.name, 'File[/etc/app.conf] -> Exec[reload-app]')
})

test('nested classes: Class[a] ~> Class[b] refreshes every resource of b from every resource of a', () => {
  const lines = translated('classes').edgeLines
  for (const conf of ['a.conf', 'b.conf'])
    for (const exec of ['restart-app', 'reload-proxy'])
      assert.ok(lines.includes(`file[/etc/app/${conf}] -> exec[${exec}] (notify)`), `${conf} ~> ${exec}`)
  // Class['app'] -> Class['quiet'] reaches through `contain`: app's four resources before quiet's two.
  for (const from of [
    'file[/etc/app/a.conf]',
    'file[/etc/app/b.conf]',
    'exec[restart-app]',
    'exec[reload-proxy]',
  ])
    for (const to of ['file[/etc/quiet]', 'file[/etc/loud]']) assert.ok(lines.includes(`${from} -> ${to}`))
})

test('stages: everything in Stage[pre] comes before everything in Stage[main]', () => {
  const lines = translated('classes').edgeLines
  const pre = 'file[/etc/apt/sources.list.d/app.list]'
  const after = lines.filter(l => l.startsWith(`${pre} -> `)).map(l => l.slice(pre.length + 4))
  assert.deepEqual(after.sort(), [
    'exec[reload-proxy]',
    'exec[restart-app]',
    'file[/etc/app/a.conf]',
    'file[/etc/app/b.conf]',
    'file[/etc/loud]',
    'file[/etc/quiet]',
    'msg[first]',
    'msg[last]',
  ])
})

test('an empty class in a chain becomes a noop, so that it still orders what is around it', () => {
  const t = translated('classes')
  assert.ok(t.has('noop', 'Class[Barrier]'))
  assert.ok(t.edgeLines.includes('msg[first] -> noop[Class[Barrier]]'))
  assert.ok(t.edgeLines.includes('noop[Class[Barrier]] -> msg[last]'))
  // Classes in no relationship leave no trace.
  assert.ok(!t.spec.resources.some(r => r.name.startsWith('Class[Settings')))
})

test('noop => true on a class holds for its resources, unless one says otherwise', () => {
  const t = translated('classes')
  assert.deepEqual(t.res('file', '/etc/quiet').meta, { noop: true })
  assert.deepEqual(t.res('file', '/etc/loud').meta, { noop: false })
  assert.deepEqual(t.res('file', '/etc/app/a.conf').meta, {})
})

test('defined types are flattened: relationships with a defined resource reach what it contains', () => {
  assert.deepEqual(translated('defines').edgeLines, [
    // Vhost['a'] -> Vhost['b']
    'exec[check-a] -> exec[check-b]',
    'exec[check-a] -> file[/etc/vhosts/b.conf]',
    // notify { 'vhosts-done': subscribe => Vhost['b'] }
    'exec[check-b] -> msg[vhosts-done] (notify)',
    // the ~> chain inside the define
    'file[/etc/vhosts/a.conf] -> exec[check-a] (notify)',
    'file[/etc/vhosts/a.conf] -> exec[check-b]',
    'file[/etc/vhosts/a.conf] -> file[/etc/vhosts/b.conf]',
    'file[/etc/vhosts/b.conf] -> exec[check-b] (notify)',
    'file[/etc/vhosts/b.conf] -> msg[vhosts-done] (notify)',
    // vhost { 'a': require => File['/etc/vhosts'] }
    'file[/etc/vhosts] -> exec[check-a]',
    'file[/etc/vhosts] -> file[/etc/vhosts/a.conf]',
  ])
})

test('refs by alias and by namevar (a path with or without its trailing `/`, a command) resolve', () => {
  assert.deepEqual(translated('aliases').edgeLines, [
    'exec[long-name] -> msg[by-exec-alias]',
    'file[/srv/site/] -> msg[by-slash]',
    'file[main-config] -> msg[by-alias]',
    'file[main-config] -> msg[by-path]',
  ])
})

/** A catalog of two classes of `n` files each, and a relationship between the classes. */
function twoClasses(n: number, rel: 'before' | 'notify'): Catalog {
  const resources: CatalogResource[] = [
    { type: 'Class', title: 'A', kind: 'class', parameters: { [rel]: 'Class[B]' } },
    { type: 'Class', title: 'B', kind: 'class' },
  ]
  const edges = []
  for (const c of ['A', 'B'])
    for (let i = 0; i < n; i++) {
      resources.push({ type: 'File', title: `/tmp/${c}${i}`, parameters: { content: 'x' } })
      edges.push({ source: `Class[${c}]`, target: `File[/tmp/${c}${i}]` })
    }
  return { name: 'n', resources, edges }
}

test('ordering between two big classes goes through one noop barrier; refreshes go leaf to leaf', () => {
  const opts = { kindParams: builtinKindParams, pollInterval: 0 }
  const empty = { collections: [], realized: [], collected: {}, modules: {}, modulepath: [] }
  const ordered = translate({ catalog: twoClasses(10, 'before'), ...empty }, opts).spec
  assert.equal(ordered.edges.length, 20)
  assert.ok(ordered.resources.some(r => r.kind === 'noop' && r.name === 'Class[A] -> Class[B]'))
  assert.ok(ordered.edges.map(edgeLine).includes('file[/tmp/A3] -> noop[Class[A] -> Class[B]]'))
  const refreshed = translate({ catalog: twoClasses(10, 'notify'), ...empty }, opts).spec
  assert.equal(refreshed.edges.length, 100)
  assert.ok(refreshed.edges.every(e => e.notify && e.from.kind === 'file' && e.to.kind === 'file'))
})
