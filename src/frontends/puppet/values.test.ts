/**
 * Values of odd shapes in a catalog (Puppet checks most param values only when it applies them):
 * each is translated faithfully, sent to Puppet, or rejected with the manifest's file and line,
 * never turned into another value.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { GraphInvalid } from '../../engine/compile.js'
import { builtinRegistry } from '../../resources/index.js'
import { compileTranslation } from './compiler.js'
import { builtinKindParams, translateResources } from './testdata.js'
import { translate } from './translate.js'

const registry = builtinRegistry()

/** The located messages of the graph's errors, one a line. */
function problems(t: ReturnType<typeof translateResources>): string[] {
  try {
    compileTranslation(t, registry)
  } catch (e) {
    if (e instanceof GraphInvalid)
      return e.message
        .split('\n')
        .slice(1)
        .map(l => l.trim())
    throw e
  }
  return []
}

test('an id that is not a number is an error, never root`s 0; an empty home is not `/`', () => {
  const t = translateResources([
    { type: 'User', title: 'a', parameters: { uid: '' } },
    { type: 'User', title: 'b', parameters: { uid: true, gid: '' } },
    { type: 'Group', title: 'c', parameters: { gid: '' } },
    { type: 'User', title: 'd', parameters: { home: '' } },
    { type: 'User', title: 'e', parameters: { uid: '1001', gid: 'staff', home: '/' } },
  ])
  assert.deepEqual(problems(t), [
    '/etc/puppet/site.pp:1: User[a].uid: expected a number, got ""',
    '/etc/puppet/site.pp:2: User[b].uid: expected a number, got true',
    '/etc/puppet/site.pp:2: User[b].gid: expected a number, got ""',
    '/etc/puppet/site.pp:3: Group[c].gid: expected a number, got ""',
    '/etc/puppet/site.pp:4: User[d].homedir: must be an absolute path',
  ])
  const e = t.spec.resources.find(r => r.name === 'e')
  assert.deepEqual(e?.params, { state: 'exists', uid: 1001, group: 'staff', homedir: '/' })
})

test('several onlyif or unless commands keep their own &&, ||, `;` and comments, as Puppet runs each alone', () => {
  const exec = (title: string, parameters: Record<string, unknown>) => ({
    type: 'Exec',
    title,
    parameters: { command: '/bin/true', ...parameters },
  })
  const t = translateResources([
    exec('onlyif', { onlyif: ['false && true', 'true || true'] }),
    exec('commented', { onlyif: ['true # the first', 'false'] }),
    exec('unless', { unless: ['true', 'false && true'] }),
    exec('exits', { unless: ['exit 1', 'true'] }),
  ])
  // What /bin/sh says of each joined command: 0 when it succeeds.
  const status = (name: string, key: string): number | null => {
    const params = t.spec.resources.find(r => r.name === name)?.params ?? {}
    return spawnSync('/bin/sh', ['-c', String(params[key])]).status
  }
  assert.equal(status('onlyif', 'ifcmd'), 1, 'the first onlyif command fails: the exec does not run')
  assert.equal(status('commented', 'ifcmd'), 1, 'the second one fails, whatever the first one comments')
  assert.equal(status('unless', 'nifcmd'), 0, 'the first unless command succeeds: the exec does not run')
  assert.equal(status('exits', 'nifcmd'), 0, 'one command exiting does not end the others')
})

test('a boolean that is not one is an error, never dropped; `yes` and `no` where Puppet takes them', () => {
  const t = translateResources([
    { type: 'Exec', title: 'e', parameters: { command: '/bin/true', refreshonly: 'yes' } },
    { type: 'Notify', title: 'n', parameters: { noop: 'yes' } },
    { type: 'File', title: '/tmp/f', parameters: { ensure: 'directory', force: 'sure' } },
    { type: 'File', title: '/tmp/g', parameters: { ensure: 'directory', force: 'yes', purge: 'no' } },
    { type: 'File', title: '/tmp/h', parameters: { content: 'x', replace: 'no' } },
  ])
  assert.deepEqual(problems(t), [
    '/etc/puppet/site.pp:1: Exec[e].refreshonly: expected true or false, got "yes"',
    '/etc/puppet/site.pp:2: Notify[n].meta.noop: expected true or false, got "yes"',
    '/etc/puppet/site.pp:3: File[/tmp/f].force: expected true or false, got "sure"',
  ])
  assert.deepEqual(t.spec.resources.find(r => r.name === '/tmp/g')?.params, {
    path: '/tmp/g/',
    state: 'exists',
    force: true,
  })
  assert.equal(t.spec.resources.find(r => r.name === 'File[/tmp/h]')?.kind, 'pippet')
})

test('a mode given as a number is an error, as in Puppet: `644` is not 0644, and an unquoted 0644 is 420', () => {
  const t = translateResources([
    { type: 'File', title: '/tmp/a', parameters: { content: 'a', mode: 644 } },
    { type: 'File', title: '/tmp/b', parameters: { content: 'b', mode: 420 } },
    { type: 'File', title: '/tmp/d', parameters: { content: 'd', owner: '' } },
    { type: 'File', title: '/tmp/c', parameters: { content: 'c', mode: '0644' } },
  ])
  assert.deepEqual(problems(t), [
    "/etc/puppet/site.pp:1: File[/tmp/a].mode: Puppet takes a mode as a string, not the number 644: quote it ('0644')",
    "/etc/puppet/site.pp:2: File[/tmp/b].mode: Puppet takes a mode as a string, not the number 420: quote it ('0644')",
    '/etc/puppet/site.pp:3: File[/tmp/d].owner: expected a non-empty string',
  ])
})

test('a list where one value goes, a hash, or binary data is for Puppet to read, never made into text', () => {
  const t = translateResources([
    { type: 'File', title: '/tmp/a', parameters: { content: ['x', 'y'] } },
    { type: 'File', title: '/tmp/b', parameters: { content: { a: 1 } } },
    { type: 'File', title: '/tmp/c', parameters: { ensure: 'link', target: ['/a', '/b'] } },
    { type: 'File', title: '/tmp/d', parameters: { content: { __binary: '/w==' } } },
    { type: 'User', title: 'e', parameters: { uid: [] } },
    { type: 'Exec', title: 'f', parameters: { command: '/bin/true', onlyif: ['true', ['false']] } },
    { type: 'Notify', title: 'g', parameters: { message: { a: [1] } } },
    { type: 'Exec', title: 'h', parameters: { command: '/bin/true', path: ['/bin', '/usr/bin'] } },
  ])
  const kinds = t.spec.resources.map(r => `${r.kind} ${r.name}`)
  assert.deepEqual(kinds, [
    'pippet File[/tmp/a]',
    'pippet File[/tmp/b]',
    'pippet File[/tmp/c]',
    'pippet File[/tmp/d]',
    'pippet User[e]',
    'pippet Exec[f]',
    'msg g',
    'exec h',
  ])
  assert.deepEqual(t.warnings.slice(0, 2), [
    'File: `content` as a list; applied by Puppet through `pippet` (checked at start only): File[/tmp/a]',
    'File: `content` as a hash; applied by Puppet through `pippet` (checked at start only): File[/tmp/b]',
  ])
  assert.match(t.warnings.join('\n'), /File: binary `content`; applied by Puppet/)
})

test('a symbolic mode with Puppet`s X or a copy (g=u) is for Puppet to apply; plain assignments are mgmt`s', () => {
  const t = translateResources([
    { type: 'File', title: '/tmp/a', parameters: { ensure: 'directory', mode: 'a=rX' } },
    { type: 'File', title: '/tmp/b', parameters: { ensure: 'file', mode: 'u=rw,g=u,o=' } },
    { type: 'File', title: '/tmp/c', parameters: { ensure: 'file', mode: 'u=rw,go=r' } },
    { type: 'File', title: '/tmp/d', parameters: { ensure: 'file', mode: 'banana' } },
  ])
  assert.deepEqual(
    t.spec.resources.map(r => `${r.kind} ${r.name}`),
    ['pippet File[/tmp/a]', 'pippet File[/tmp/b]', 'file /tmp/c', 'file /tmp/d'],
  )
  assert.deepEqual(problems(t), [
    "/etc/puppet/site.pp:4: File[/tmp/d].mode: expected an octal mode ('0644') or symbolic assignments (u=rw,g=r,o=), got `banana`",
  ])
})

test('an exec Puppet would refuse (empty command, relative cwd, tries or try_sleep not numbers) is an error', () => {
  const exec = (title: string, parameters: Record<string, unknown>) => ({ type: 'Exec', title, parameters })
  const t = translateResources([
    exec('a', { command: ' ' }),
    exec('b', { command: '/bin/true', cwd: 'build' }),
    exec('c', { command: '/bin/true', tries: 'many' }),
    exec('d', { command: '/bin/true', try_sleep: '' }),
    exec('e', { command: '/bin/true', tries: '3', try_sleep: '0.5', cwd: '/tmp' }),
  ])
  assert.deepEqual(problems(t), [
    '/etc/puppet/site.pp:1: Exec[a].command: an empty command',
    '/etc/puppet/site.pp:2: Exec[b].cwd: must be an absolute path, got `build`',
    '/etc/puppet/site.pp:3: Exec[c].tries: expected a whole number, at least 1, got "many"',
    '/etc/puppet/site.pp:4: Exec[d].try_sleep: expected a number of seconds, at least 0, got ""',
  ])
  assert.deepEqual(t.spec.resources.at(-1)?.meta, { retry: 2, delay: 500 })
})

test('a target without ensure => link is Puppet`s to apply (it makes a link), never dropped', () => {
  const t = translateResources([
    { type: 'File', title: '/tmp/a', parameters: { ensure: 'present', target: '/etc/hostname' } },
    { type: 'File', title: '/tmp/b', parameters: { target: '/etc/hostname' } },
    { type: 'File', title: '/tmp/c', parameters: { ensure: 'link', target: '/etc/hostname' } },
  ])
  assert.deepEqual(
    t.spec.resources.map(r => `${r.kind} ${r.name}`),
    ['pippet File[/tmp/a]', 'pippet File[/tmp/b]', 'file /tmp/c'],
  )
})

test('an exec`s path never puts the working directory on PATH (an empty entry), where Puppet would not look', () => {
  const exec = (title: string, path: unknown) => ({
    type: 'Exec',
    title,
    parameters: { command: 'ls', cwd: '/tmp', path },
  })
  const t = translateResources([
    exec('none', []),
    exec('empty', ''),
    exec('gaps', ['/usr/bin:', '', '/bin::/sbin']),
  ])
  const envs = t.spec.resources.map(r => r.params.env)
  assert.deepEqual(envs, [undefined, undefined, { PATH: '/usr/bin:/bin:/sbin' }])
})

test('a class`s noop that is not a boolean is an error at the class: what it holds never runs as if unset', () => {
  const t = translate(
    {
      catalog: {
        name: 'n',
        edges: [{ source: 'Class[C]', target: 'Notify[in]' }],
        resources: [
          { type: 'Class', title: 'C', file: '/etc/puppet/site.pp', line: 1, parameters: { noop: 'yes' } },
          { type: 'Notify', title: 'in', file: '/etc/puppet/site.pp', line: 2 },
        ],
      },
      collections: [],
      realized: [],
      collected: {},
      modules: {},
      modulepath: [],
    },
    { kindParams: builtinKindParams, pollInterval: 0 },
  )
  assert.deepEqual(problems(t), ['/etc/puppet/site.pp:1: Class[C].noop: expected true or false, got "yes"'])
})
