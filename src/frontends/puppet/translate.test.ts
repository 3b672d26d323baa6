/**
 * The translation of each Puppet type, from catalog fixtures (real compiles, no Ruby needed). Every
 * translated graph must also compile against the kinds of this build.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileGraph, GraphInvalid } from '../../engine/compile.js'
import { builtinRegistry } from '../../resources/index.js'
import { builtinKindParams, translated } from './testdata.js'
import { translate } from './translate.js'

const registry = builtinRegistry()

/** The kinds of this build: pkg, svc, user and group among them. */
const systemKinds = builtinKindParams

/** A build without the system kinds. */
const withoutSystemKinds = (kind: string): ReadonlySet<string> | undefined =>
  ['pkg', 'svc', 'user', 'group'].includes(kind) ? undefined : builtinKindParams(kind)

test('every fixture translates into a graph this build compiles', () => {
  for (const name of [
    'file',
    'exec',
    'notify',
    'chains',
    'classes',
    'defines',
    'aliases',
    'refreshonly',
    'system',
    'exported',
    'collected',
    'fallback',
  ]) {
    const t = translated(name)
    assert.ok(t.spec.resources.length > 0, name)
    compileGraph(t.spec, registry)
  }
})

test('file: content, owner, group and mode; the title is the name, `path` the path', () => {
  const t = translated('file')
  assert.deepEqual(t.res('file', '/etc/motd').params, {
    path: '/etc/motd',
    state: 'exists',
    content: 'hello\n',
    owner: 'root',
    group: '0',
    mode: '0644',
  })
  assert.deepEqual(t.res('file', 'conf').params, {
    path: '/etc/app.conf',
    state: 'exists',
    content: 'port=1\n',
  })
  assert.deepEqual(t.res('file', '/etc/old').params, { path: '/etc/old', state: 'absent' })
  // A symbolic mode passes through; a relative one (`ug+w`) is Puppet's to apply.
  assert.equal(t.res('file', '/etc/copy').params.mode, 'u=rw,go=r')
  assert.equal(t.res('pippet', 'File[/etc/relative-mode]').params.type, 'file')
})

test('file: a directory gets a trailing `/`, and x wherever its numeric mode has r (as Puppet does)', () => {
  const t = translated('file')
  assert.deepEqual(t.res('file', '/srv/www').params, { path: '/srv/www/', state: 'exists', mode: '0755' })
  assert.deepEqual(t.res('file', '/srv/data').params, {
    path: '/srv/data/',
    state: 'exists',
    source: '/opt/seed/',
    recurse: true,
    force: true,
    purge: true,
  })
})

test("file: links, local sources and a module's files", () => {
  const t = translated('file')
  const link = { state: 'exists', symlink: true }
  assert.deepEqual(t.res('file', '/usr/local/bin/app').params, {
    path: '/usr/local/bin/app',
    ...link,
    source: '/opt/app/bin/app',
  })
  assert.deepEqual(t.res('file', '/usr/local/bin/tool').params, {
    path: '/usr/local/bin/tool',
    ...link,
    source: '/opt/tool/bin/tool',
  })
  assert.equal(t.res('file', '/etc/copy').params.source, '/etc/hostname')
  assert.equal(
    t.res('file', '/srv/www/index.html').params.source,
    '/etc/puppet/code/modules/web/files/index.html',
  )
})

test('file: what mgmt cannot express goes to pippet whole, with every param, logged once per reason', () => {
  const t = translated('file')
  const keep = t.res('pippet', 'File[/etc/keep]')
  assert.deepEqual(keep.params, {
    type: 'file',
    title: '/etc/keep',
    params: { content: 'first\n', replace: false },
  })
  assert.deepEqual(keep.meta, { poll: 1800 })
  assert.ok(!t.has('file', '/etc/keep'))
  assert.deepEqual(t.warnings, [
    'File: replace => false not mapped; applied by Puppet through `pippet` (checked every 1800 s): File[/etc/keep]',
    'File: `links` not mapped; applied by Puppet through `pippet` (checked every 1800 s): File[/etc/followed]',
    'File: mode ug+w: relative symbolic modes not mapped; applied by Puppet through `pippet` (checked every 1800 s): File[/etc/relative-mode]',
    'File: Sensitive `content`; applied by Puppet through `pippet` (checked every 1800 s): File[/etc/secret]',
  ])
})

test('a resource with a Sensitive() value is applied by Puppet, which keeps the value out of logs', () => {
  const t = translated('file')
  const secret = t.res('pippet', 'File[/etc/secret]')
  assert.deepEqual(secret.params, {
    type: 'file',
    title: '/etc/secret',
    params: { content: 's3cr3t\n', mode: '0600' },
    sensitive: ['content'],
  })
  assert.deepEqual(t.secrets, ['s3cr3t\n'])
})

test('exec: command through /bin/sh; onlyif, unless, creates, environment and path, cwd, user, tries', () => {
  const t = translated('exec')
  const g = t.res('exec', 'guarded')
  assert.deepEqual(g.params, {
    cmd: 'make install',
    shell: '/bin/sh',
    timeout: 60,
    env: { PATH: '/usr/bin:/bin', LANG: 'C', MODE: 'a=b' },
    cwd: '/opt/src',
    user: 'nobody',
    group: 'nogroup',
    creates: '/usr/local/bin/app',
    ifcmd: '( test -f Makefile\n) && ( test -d /opt\n)',
    ifshell: '/bin/sh',
    ifcwd: '/opt/src',
    nifcmd: '( test -x /usr/local/bin/app\n) || ( false\n)',
    nifshell: '/bin/sh',
    nifcwd: '/opt/src',
  })
  assert.deepEqual(g.meta, { retry: 2, delay: 2000 })
  // The title is the command when there is none; Puppet's default timeout is kept.
  assert.deepEqual(t.res('exec', '/bin/true').params, { cmd: '/bin/true', shell: '/bin/sh', timeout: 300 })
  assert.equal(t.res('exec', 'refreshed').params.refreshonly, true)
  assert.equal(t.res('pippet', 'Exec[odd-returns]').params.type, 'exec')
})

test('notify: msg with the message (the title when unset) at the loglevel', () => {
  const t = translated('notify')
  assert.deepEqual(t.res('msg', 'plain').params, { body: 'plain', priority: 'Notice' })
  assert.deepEqual(t.res('msg', 'with-message').params, { body: 'the real message', priority: 'Notice' })
  assert.deepEqual(t.res('msg', 'loud').params, { body: 'careful', priority: 'Warning' })
})

test('package, service, user, group: pippet in a build without such kinds', () => {
  const t = translated('system', withoutSystemKinds)
  for (const ref of ['Package[nginx]', 'Service[nginx.service]', 'User[deploy]', 'Group[deploy]'])
    assert.ok(t.has('pippet', ref), ref)
  assert.ok(
    t.warnings.includes(
      'Package: no `pkg` kind in this build; applied by Puppet through `pippet` (checked every 1800 s): Package[nginx], Package[curl-latest], Package[telnet], Package[pinned], Package[purged-one]',
    ),
  )
  assert.ok(t.edgeLines.includes('pippet[Package[nginx]] -> pippet[Service[nginx.service]] (notify)'))
})

test('package → pkg and service → svc, by name, with the kinds registered', () => {
  const t = translated('system', systemKinds)
  assert.deepEqual(t.res('pkg', 'nginx').params, { state: 'installed' })
  assert.deepEqual(t.res('pkg', 'curl').params, { state: 'newest' })
  assert.deepEqual(t.res('pkg', 'telnet').params, { state: 'uninstalled' })
  assert.deepEqual(t.res('pkg', 'jq').params, { state: '1.6-2.1' })
  assert.equal(t.res('pippet', 'Package[purged-one]').params.type, 'package')
  // `.service` is dropped; hasrestart means nothing to systemd.
  assert.deepEqual(t.res('svc', 'nginx').params, { state: 'running', startup: 'enabled' })
  assert.deepEqual(t.res('svc', 'cron').params, { state: 'stopped', startup: 'disabled' })
  assert.ok(t.edgeLines.includes('pkg[nginx] -> svc[nginx] (notify)'))
})

test('user and group; a kind without a param the mapping needs gets pippet', () => {
  const t = translated('system', systemKinds)
  assert.deepEqual(t.res('user', 'deploy').params, {
    state: 'exists',
    uid: 2001,
    group: 'deploy',
    groups: ['adm', 'www-data'],
    homedir: '/home/deploy/',
    shell: '/bin/bash',
  })
  assert.deepEqual(t.res('user', 'old').params, { state: 'absent' })
  assert.ok(t.has('pippet', 'User[commented]'))
  assert.deepEqual(t.res('group', 'deploy').params, { state: 'exists', gid: 2001 })
  assert.ok(t.edgeLines.includes('group[deploy] -> user[deploy]'))
  const noStartup = (k: string) => (k === 'svc' ? new Set(['state']) : systemKinds(k))
  const u = translated('system', noStartup)
  assert.ok(u.has('pippet', 'Service[nginx.service]'))
  assert.ok(u.warnings.some(w => w.startsWith('Service: the `svc` kind has no `startup`; applied by Puppet')))
})

test('other types go to pippet, polled at the interval; filebuckets and schedules become noops', () => {
  const t = translated('fallback', builtinKindParams, 60)
  const tidy = t.res('pippet', 'Tidy[/var/tmp/cache]')
  assert.deepEqual(tidy.params, {
    type: 'tidy',
    title: '/var/tmp/cache',
    params: { age: '1w', recurse: true },
  })
  assert.deepEqual(tidy.meta, { poll: 60 })
  assert.ok(t.edgeLines.includes('file[/var/tmp/cache] -> pippet[Tidy[/var/tmp/cache]]'))
  assert.ok(t.has('noop', 'Filebucket[main]'))
  assert.ok(t.has('noop', 'Schedule[nightly]'))
  assert.deepEqual(t.warnings, [
    'Tidy: no native mapping; applied by Puppet through `pippet` (checked every 60 s): Tidy[/var/tmp/cache]',
    'Filebucket: not applied (mgmt keeps no file backups); kept as a noop for its relationships: Filebucket[main]',
    'Schedule: not applied (schedules are not supported); kept as a noop for its relationships: Schedule[nightly]',
    'the `schedule` metaparam is not supported; ignored: File[/etc/scheduled]',
  ])
  assert.deepEqual(
    translated('fallback', builtinKindParams, 0).res('pippet', 'Tidy[/var/tmp/cache]').meta,
    {},
  )
})

test('each resource carries the file and line of its declaration, for located errors', () => {
  const t = translated('refreshonly')
  assert.deepEqual(t.res('exec', 'reload-app').origin, [
    '/etc/puppet/code/refreshonly.pp:3: Exec[reload-app]',
  ])
  assert.deepEqual(t.spec.edges[0]?.origin, [
    '/etc/puppet/code/refreshonly.pp:3: Exec[reload-app]',
    'subscribe',
  ])
})

test('a value mgmt rejects is an error that names the manifest, the line and the Puppet resource', () => {
  const catalog = {
    name: 'n',
    edges: [],
    resources: [
      { type: 'File', title: '/tmp/x', file: '/etc/puppet/site.pp', line: 7, parameters: { mode: '0999' } },
      {
        type: 'Exec',
        title: 'e',
        file: '/etc/puppet/site.pp',
        line: 8,
        parameters: { command: ['/bin/echo', 'a b'] },
      },
    ],
  }
  const t = translate(
    { catalog, collections: [], realized: [], collected: {}, modules: {}, modulepath: [] },
    { kindParams: builtinKindParams, pollInterval: 0 },
  )
  assert.equal(t.spec.resources[1]?.kind, 'pippet', 'a command as a list goes to Puppet')
  assert.throws(
    () => compileGraph(t.spec, registry),
    (e: unknown) =>
      e instanceof GraphInvalid && /\/etc\/puppet\/site\.pp:7: File\[\/tmp\/x\]\.mode: /.test(e.message),
  )
})
