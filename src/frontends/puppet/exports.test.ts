/**
 * Exported and collected resources in the translation, from real compiles (no Ruby needed): the
 * exporting host's catalog (`fixtures/exported.json`) and a collecting host's, compiled with what
 * other hosts exported (`fixtures/collected.json`, its `exported` list); and the reading of the
 * world's exports into what the Puppet child collects from.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileGraph } from '../../engine/compile.js'
import { builtinRegistry } from '../../resources/index.js'
import type { CollectedResource } from '../../world/world.js'
import { puppetExports } from './exports.js'
import { translated } from './testdata.js'

const registry = builtinRegistry()

test('@@ resources are translated and exported with their Puppet resource; a defined one is a noop; one the manifest collects itself is applied too', () => {
  const t = translated('exported')
  const motd = t.res('file', '/etc/motd.d/web1')
  assert.equal(motd.exported, true)
  assert.deepEqual(motd.params, { path: '/etc/motd.d/web1', state: 'exists', content: 'web1 is up\n' })
  assert.deepEqual(motd.annotations, {
    puppet: {
      type: 'File',
      title: '/etc/motd.d/web1',
      tags: ['motd', 'file', 'class', 'web'],
      parameters: { content: 'web1 is up\n', tag: 'motd' },
      file: '/etc/puppet/code/exported.pp',
      line: 4,
    },
  })
  const vhost = t.res('noop', 'Site::Vhost[web1]')
  assert.equal(vhost.exported, true)
  assert.deepEqual(vhost.annotations, {
    puppet: {
      type: 'Site::Vhost',
      title: 'web1',
      tags: ['site::vhost', 'site', 'vhost', 'web1', 'class', 'web'],
      parameters: { port: 8080 },
      file: '/etc/puppet/code/exported.pp',
      line: 5,
    },
  })
  // Its `require` travels with it (in the annotation), to be realized where it is collected.
  assert.equal(t.res('exec', 'register-web1').exported, true)
  assert.deepEqual(t.edgeLines, [])
  // `Notify <<| |>>` collects the host's own export: Puppet applies it here, and it is exported.
  const hello = t.res('msg', 'hello from web1')
  assert.equal(hello.exported, undefined)
  assert.deepEqual(hello.meta, { export: ['*'] })
  assert.deepEqual(t.warnings, [])
  assert.deepEqual(t.collected, ['`Notify <<| |>>` collected nothing'])

  const c = compileGraph(t.spec, registry)
  assert.deepEqual([...c.graph.ids()].sort(), ['file[/etc/local]', 'msg[hello from web1]'])
  assert.deepEqual(c.exports.map(e => `${e.kind}[${e.name}] to ${e.to.join()}`).sort(), [
    'exec[register-web1] to *',
    'file[/etc/motd.d/web1] to *',
    'msg[hello from web1] to *',
    'noop[Site::Vhost[web1]] to *',
  ])
  assert.equal(c.exports.find(e => e.kind === 'file')?.annotations, motd.annotations)
})

test("collected resources are the catalog's: the query, the overrides, a defined type and the collection's relationships are Puppet's own", () => {
  const t = translated('collected')
  // `File <<| tag == 'motd' |>> { mode => '0640' }`: both hosts' motd files, with the override.
  const web1 = t.res('file', '/etc/motd.d/web1')
  assert.equal(web1.params.mode, '0640')
  assert.equal(t.res('file', '/etc/motd.d/web2').params.content, 'web2 is up\n')
  assert.deepEqual(web1.origin, ['exported by web1: /etc/puppet/code/exported.pp:4: File[/etc/motd.d/web1]'])
  // `Site::Vhost <<| port == 8080 or title == 'web9' |>> ~> Exec['reload-proxy']`: web1's vhost,
  // evaluated here, its file refreshing the exec; web2's (port 9090) is not collected.
  assert.equal(t.res('file', '/etc/vhosts/web1.conf').params.content, 'port 8080\n')
  assert.equal(t.has('file', '/etc/vhosts/web2.conf'), false)
  assert.deepEqual(t.edgeLines, ['file[/etc/vhosts/web1.conf] -> exec[reload-proxy] (notify)'])
  // `Exec <<| title == 'register-web1' and tag != 'web' |>>`: tagged web, so not collected.
  assert.equal(t.has('exec', 'register-web1'), false)
  assert.deepEqual(t.collected, [
    "`File <<| tag == 'motd' |>>` collected File[/etc/motd.d/web1] from web1, File[/etc/motd.d/web2] from web2",
    "`Site::Vhost <<| port == 8080 or title == 'web9' |>>` collected Site::Vhost[web1] from web1",
    "`Exec <<| title == 'register-web1' and tag != 'web' |>>` collected nothing",
    '`Notify <<| |>>` collected nothing',
  ])
  assert.ok(t.spec.resources.every(r => !r.exported))
  compileGraph(t.spec, registry)
})

const exported = (host: string, name: string, annotations?: Record<string, unknown>): CollectedResource => ({
  kind: 'file',
  name,
  params: { path: name, content: 'x' },
  to: ['*'],
  host,
  ...(annotations ? { annotations } : {}),
})

test("the world's exports as the child collects from: other hosts' Puppet resources, sorted; bad annotations said", () => {
  const annotation = (title: string) => ({
    puppet: { type: 'File', title, tags: ['web'], parameters: { content: 'x' } },
  })
  const bad: string[] = []
  const got = puppetExports(
    [
      exported('h2', '/b', annotation('/b')),
      exported('h1', '/a', annotation('/a')), // this host's own: in its catalog already
      exported('h3', '/yaml'), // a YAML graph's export: no Puppet form
      exported('h0', '/a', annotation('/a')),
      exported('h2', '/bad', { puppet: { type: 'File', tags: 'web' } }),
    ],
    'h1',
    m => bad.push(m),
  )
  assert.deepEqual(
    got.map(p => `${p.host} ${p.type}[${p.title}]`),
    ['h0 File[/a]', 'h2 File[/b]'],
  )
  assert.deepEqual(got[0], {
    host: 'h0',
    type: 'File',
    title: '/a',
    tags: ['web'],
    parameters: { content: 'x' },
  })
  assert.deepEqual(bad, [
    'file[/bad] exported by h2 cannot be collected by a manifest: its annotation has no Puppet type and title',
  ])
})
