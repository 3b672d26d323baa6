import assert from 'node:assert/strict'
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { type HarnessOptions, type ResourceHarness, startResource } from '../testing/timeline.js'
import { FsWatcher } from '../util/fswatch.js'
import { isTempName, writeAtomic } from './file/atomic.js'
import { applyMode, parseMode } from './file/mode.js'
import { file } from './file.js'

let dir: string
const harnesses: ResourceHarness[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-file-'))
})

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop()
  await rm(dir, { recursive: true, force: true })
})

async function start(
  name: string,
  raw: Record<string, unknown>,
  opts?: HarnessOptions,
): Promise<ResourceHarness> {
  const h = await startResource(file, name, raw, opts)
  harnesses.push(h)
  await h.startup()
  return h
}

const modeOf = async (p: string): Promise<number> => (await stat(p)).mode & 0o7777

/**
 * Waits until every inotify event caused so far has been delivered (events come in order), so
 * that the next event a harness sees comes from what the test does next.
 */
async function drainEvents(): Promise<void> {
  const w = new FsWatcher()
  const ac = new AbortController()
  const fence = join(dir, '.fence')
  let done!: () => void
  const seen = new Promise<void>(resolve => {
    done = resolve
  })
  await w.watch(fence, ac.signal, () => done())
  await writeFile(fence, String(Math.random()))
  await seen
  ac.abort()
  w.close()
  await rm(fence, { force: true })
}

test('timeline: converge, then repair clobbered content, a deleted file and a chmod', async () => {
  const f = join(dir, 'f')
  const h = await start(f, { state: 'exists', content: 'hello\nworld\n', mode: '0640' })
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(f, 'utf8'), 'hello\nworld\n')
  assert.equal(await modeOf(f), 0o640)
  const repairs: [string, () => Promise<unknown>][] = [
    ['content updated', () => writeFile(f, 'clobbered')],
    ['created', () => rm(f)],
    ['mode 0777 -> 0640', () => chmod(f, 0o777)],
  ]
  for (const [log, change] of repairs) {
    await drainEvents()
    const ev = h.nextEvent()
    await change()
    await ev
    assert.equal(await h.converge(), 1)
    assert.equal(await readFile(f, 'utf8'), 'hello\nworld\n')
    assert.equal(await modeOf(f), 0o640)
    assert.ok(h.logs.includes(`file[${f}]: ${log}`), h.logs.join('\n'))
  }
  assert.equal(await h.converge(), 0)
})

test('content on a missing file without `state: exists` is an error', async () => {
  const f = join(dir, 'missing')
  const h = await start(f, { content: 'x' })
  await assert.rejects(h.checkApply(), /does not exist.*state: exists/)
  await assert.rejects(stat(f), { code: 'ENOENT' })
})

test('content replaces an existing file without `state`', async () => {
  const f = join(dir, 'f')
  await writeFile(f, 'old')
  await chmod(f, 0o604)
  const h = await start(f, { content: 'new' })
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(f, 'utf8'), 'new')
  assert.equal(await modeOf(f), 0o604, 'the unmanaged mode is kept')
})

test('state: absent removes a file, an empty directory, and a full one with recurse', async () => {
  const f = join(dir, 'f')
  await writeFile(f, 'x')
  const h1 = await start(f, { state: 'absent' })
  assert.equal(await h1.converge(), 1)
  await assert.rejects(lstat(f), { code: 'ENOENT' })

  const d = join(dir, 'd')
  await mkdir(join(d, 'sub'), { recursive: true })
  await writeFile(join(d, 'sub', 'x'), 'x')
  const h2 = await start(`${d}/`, { state: 'absent' })
  await assert.rejects(h2.checkApply(), /not empty.*recurse: true/)
  const h3 = await start(`${d}/`, { state: 'absent', recurse: true })
  assert.equal(await h3.converge(), 1)
  await assert.rejects(lstat(d), { code: 'ENOENT' })
  assert.ok(h3.logs.includes(`file[${d}/]: removed`))
})

test('a directory path is created with its mode, parents with recurse', async () => {
  const d = join(dir, 'a', 'b')
  const h1 = await start(`${d}/`, { state: 'exists', mode: '0750' })
  await assert.rejects(h1.checkApply(), /parent is missing/)
  const h2 = await start(`${d}/`, { state: 'exists', mode: '0750', recurse: true })
  assert.equal(await h2.converge(), 1)
  assert.ok((await stat(d)).isDirectory())
  assert.equal(await modeOf(d), 0o750)
  await drainEvents()
  const ev = h2.nextEvent()
  await chmod(d, 0o700)
  await ev
  assert.equal(await h2.converge(), 1)
  assert.equal(await modeOf(d), 0o750)
})

test('a file where a directory goes (and the other way) needs force', async () => {
  const p = join(dir, 'p')
  await writeFile(p, 'x')
  const h1 = await start(`${p}/`, { state: 'exists' })
  await assert.rejects(h1.checkApply(), /is a file; set `force: true`/)
  const h2 = await start(`${p}/`, { state: 'exists', force: true })
  assert.equal(await h2.converge(), 1)
  assert.ok((await stat(p)).isDirectory())
  const h3 = await start(p, { state: 'exists', content: 'file again' })
  await assert.rejects(h3.checkApply(), /is a directory; set `force: true`/)
  const h4 = await start(p, { state: 'exists', content: 'file again', force: true })
  assert.equal(await h4.converge(), 1)
  assert.equal(await readFile(p, 'utf8'), 'file again')
})

test('source: a directory tree is copied with its bytes, modes and links', async () => {
  const src = join(dir, 'src')
  const dst = join(dir, 'dst')
  await mkdir(join(src, 'sub', 'deeper'), { recursive: true })
  await writeFile(join(src, 'a'), 'A')
  await chmod(join(src, 'a'), 0o600)
  await writeFile(join(src, 'sub', 'b'), '#!/bin/sh\n')
  await chmod(join(src, 'sub', 'b'), 0o755)
  await chmod(join(src, 'sub'), 0o710)
  await writeFile(join(src, 'sub', 'deeper', 'c'), 'C'.repeat(100_000))
  await symlink('a', join(src, 'link'))
  const h = await start(`${dst}/`, { state: 'exists', source: `${src}/`, recurse: true })
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(join(dst, 'a'), 'utf8'), 'A')
  assert.equal(await modeOf(join(dst, 'a')), 0o600)
  assert.equal(await modeOf(join(dst, 'sub', 'b')), 0o755)
  assert.equal(await modeOf(join(dst, 'sub')), 0o710)
  assert.equal(await readFile(join(dst, 'sub', 'deeper', 'c'), 'utf8'), 'C'.repeat(100_000))
  assert.equal(await readlink(join(dst, 'link')), 'a')

  // A change in the source is an event, and is copied.
  await drainEvents()
  const ev = h.nextEvent()
  await writeFile(join(src, 'sub', 'deeper', 'c'), 'changed')
  await ev
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(join(dst, 'sub', 'deeper', 'c'), 'utf8'), 'changed')
  assert.equal(await h.converge(), 0)
})

test('purge removes what is neither in the source nor managed by another file resource', async () => {
  const src = join(dir, 'src')
  const dst = join(dir, 'dst')
  await mkdir(src)
  await writeFile(join(src, 'a'), 'A')
  await mkdir(join(dst, 'keep', 'inner'), { recursive: true })
  await writeFile(join(dst, 'extra'), 'x')
  await writeFile(join(dst, 'keep', 'inner', 'kept'), 'k')
  await writeFile(join(dst, 'keep', 'gone'), 'g')
  const raw = { state: 'exists', source: `${src}/`, recurse: true }
  const h1 = await start(`${dst}/`, raw)
  assert.equal(await h1.converge(), 1)
  assert.equal(await readFile(join(dst, 'extra'), 'utf8'), 'x', 'without purge, extras stay')
  const kept = join(dst, 'keep', 'inner', 'kept')
  const graph = [{ kind: 'file', name: kept, params: { path: kept } }]
  const h2 = await start(`${dst}/`, { ...raw, purge: true }, { graph })
  assert.equal(await h2.converge(), 1)
  assert.deepEqual((await readdir(dst)).sort(), ['a', 'keep'])
  assert.deepEqual(await readdir(join(dst, 'keep')), ['inner'])
  assert.equal(await readFile(kept, 'utf8'), 'k')
})

test('source: a single file is copied with its mode', async () => {
  const src = join(dir, 'src')
  const dst = join(dir, 'dst')
  await writeFile(src, 'payload')
  await chmod(src, 0o751)
  const h = await start(dst, { state: 'exists', source: src })
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(dst, 'utf8'), 'payload')
  assert.equal(await modeOf(dst), 0o751)
})

test('fragments: files and sorted directory entries are concatenated', async () => {
  const one = join(dir, 'one')
  const frags = join(dir, 'frags')
  await writeFile(one, '1\n')
  await mkdir(join(frags, 'subdir-ignored'), { recursive: true })
  await writeFile(join(frags, 'b'), 'b\n')
  await writeFile(join(frags, 'a'), 'a\n')
  const out = join(dir, 'out')
  const h = await start(out, { state: 'exists', fragments: [one, `${frags}/`] })
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(out, 'utf8'), '1\na\nb\n')
  await drainEvents()
  const ev = h.nextEvent()
  await writeFile(join(frags, 'c'), 'c\n')
  await ev
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(out, 'utf8'), '1\na\nb\nc\n')
})

test('symlink: made, repaired when changed, and a file in the way needs force', async () => {
  const link = join(dir, 'link')
  const h = await start(link, { state: 'exists', symlink: true, source: '/etc/hostname' })
  assert.equal(await h.converge(), 1)
  assert.equal(await readlink(link), '/etc/hostname')
  await drainEvents()
  const ev = h.nextEvent()
  await rm(link)
  await symlink('/elsewhere', link)
  await ev
  assert.equal(await h.converge(), 1)
  assert.equal(await readlink(link), '/etc/hostname')

  const other = join(dir, 'other')
  await writeFile(other, 'x')
  const h2 = await start(other, { state: 'exists', symlink: true, source: '/etc/hostname' })
  await assert.rejects(h2.checkApply(), /not a symlink; set `force: true`/)
  const h3 = await start(other, { state: 'exists', symlink: true, source: '/etc/hostname', force: true })
  assert.equal(await h3.converge(), 1)
  assert.equal(await readlink(other), '/etc/hostname')
})

test('owner and group: numeric ids and names, repaired after a chown by hand', async () => {
  const f = join(dir, 'f')
  const h = await start(f, { state: 'exists', owner: 1, group: '2' })
  assert.equal(await h.converge(), 1)
  let st = await stat(f)
  assert.deepEqual([st.uid, st.gid], [1, 2])
  await drainEvents()
  const ev = h.nextEvent()
  await chown(f, 0, 0)
  await ev
  assert.equal(await h.converge(), 1)
  // Owners and groups by name, with the id (Debian: uid 1 is daemon, gid 2 is bin).
  assert.ok(
    h.logs.includes(`file[${f}]: owner root (0) -> daemon (1), group root (0) -> bin (2)`),
    h.logs.join('\n'),
  )
  const h2 = await start(f, { owner: 'root', group: 'root' })
  assert.equal(await h2.converge(), 1)
  st = await stat(f)
  assert.deepEqual([st.uid, st.gid], [0, 0])
})

test('noop changes nothing and logs a unified diff, the mode and what it would create', async () => {
  const f = join(dir, 'f')
  await writeFile(f, 'a\nb\nc\n')
  await chmod(f, 0o644)
  const h = await start(f, { content: 'a\nB\nc\n', mode: '0600' })
  assert.equal(await h.checkApply(false), false)
  assert.equal(await readFile(f, 'utf8'), 'a\nb\nc\n')
  assert.equal(await modeOf(f), 0o644)
  const diff = h.logs.find(l => l.includes('would update content'))
  assert.ok(diff, h.logs.join('\n'))
  // Every line of it carries the resource's prefix.
  const at = `file[${f}]: `
  assert.ok(
    diff.includes(`${at}--- ${f}\n${at}+++ ${f}\n${at}@@ -1,3 +1,3 @@\n${at} a\n${at}-b\n${at}+B\n${at} c`),
    diff,
  )
  assert.ok(h.logs.includes(`file[${f}]: would set mode 0644 -> 0600`))

  const g = join(dir, 'g')
  const h2 = await start(g, { state: 'exists', content: 'new\n' })
  assert.equal(await h2.checkApply(false), false)
  await assert.rejects(stat(g), { code: 'ENOENT' })
  assert.ok(h2.logs.includes(`file[${g}]: would create`))
  assert.ok(h2.logs.some(l => l.includes('+new')))

  const h3 = await start(f, { state: 'absent' })
  assert.equal(await h3.checkApply(false), false)
  assert.ok(h3.logs.includes(`file[${f}]: would remove`))
  assert.equal(await readFile(f, 'utf8'), 'a\nb\nc\n')
})

test('a content write is atomic: a rename onto the path, no temporary file left', async () => {
  const f = join(dir, 'f')
  await writeFile(f, 'old content')
  const before = (await stat(f)).ino
  const reader = await open(f, 'r')
  try {
    const h = await start(f, { content: 'new content', mode: '0600' })
    assert.equal(await h.converge(), 1)
    const after = await stat(f)
    assert.notEqual(after.ino, before, 'a new inode was renamed over the path')
    assert.equal(after.mode & 0o7777, 0o600, 'the mode was set before the rename')
    assert.equal(await readFile(f, 'utf8'), 'new content')
    // A reader of the old file still sees the whole old file, never a mix.
    assert.equal((await reader.readFile()).toString(), 'old content')
    assert.deepEqual((await readdir(dir)).filter(isTempName), [])
  } finally {
    await reader.close()
  }
})

test('a failed atomic write leaves no temporary file behind', async () => {
  const d = join(dir, 'd')
  await mkdir(join(d, 'x'), { recursive: true })
  await assert.rejects(writeAtomic(d, { bytes: Buffer.from('x') }))
  assert.deepEqual((await readdir(dir)).filter(isTempName), [])
})

test("a crash's temporary file beside a file that is right is removed by the first check", async () => {
  // Two files in a fresh directory, each right, each with a leftover temporary file (as a kill -9
  // in the middle of a write leaves it), and a temporary file of a target no resource manages.
  const d = join(dir, 'left')
  await mkdir(d)
  for (const n of ['a', 'b']) {
    await writeFile(join(d, n), `${n}\n`)
    await writeFile(join(d, `.${n}.mgmt-tmp`), 'half')
  }
  await writeFile(join(d, '.other.mgmt-tmp'), 'half')
  for (const n of ['a', 'b']) {
    const h = await start(join(d, n), { content: `${n}\n` })
    assert.equal(await h.converge(), 0, 'the file itself was right')
  }
  assert.deepEqual((await readdir(d)).sort(), ['.other.mgmt-tmp', 'a', 'b'])
})

test('a received content change drops the cached sha256', async () => {
  const f = join(dir, 'f')
  const h = await start(f, { state: 'exists', content: 'x' })
  await h.converge()
  h.setRecv({ content: { from: 'exec[x]', key: 'output', changed: true } })
  await h.checkApply()
  assert.ok(h.logs.includes(`file[${f}]: debug: Invalidating sha256sum of content`), h.logs.join('\n'))
})

test('validation reports every problem with its key path', () => {
  const issues = (raw: Record<string, unknown>, name = '/tmp/x') =>
    parseParams(file, name, raw).issues.map(i => `${i.path.join('.')}: ${i.message}`)
  assert.match(
    issues({ content: 'a', source: '/b' }).join('\n'),
    /^source: cannot be combined with `content`/m,
  )
  assert.match(issues({ mode: 'u+x' }).join('\n'), /^mode: relative mode/m)
  assert.match(issues({}, 'relative').join('\n'), /^path: must be absolute/m)
  assert.match(
    issues({ state: 'absent', content: 'x' }).join('\n'),
    /^content: not allowed with `state: absent`/m,
  )
  assert.match(issues({ content: 'x' }, '/d/').join('\n'), /^content: a directory/m)
  assert.match(issues({ source: '/s/' }, '/d/').join('\n'), /^recurse: copying a source directory/m)
  assert.match(issues({ source: '/s/' }).join('\n'), /^source: path and source must both be/m)
  assert.match(issues({ purge: true }, '/d/').join('\n'), /^purge: needs `recurse: true`/m)
  assert.match(issues({ symlink: true }).join('\n'), /^symlink: needs `source`/m)
  assert.match(issues({ fragments: ['rel'] }).join('\n'), /^fragments\.0: must be an absolute path/m)
  assert.deepEqual(issues({ state: 'exists', content: 'x', mode: '0644', owner: 0 }), [])
})

test('path from name, dirname and basename', () => {
  const path = (raw: Record<string, unknown>, name: string) => parseParams(file, name, raw).params?.path
  assert.equal(path({}, '/a/b'), '/a/b')
  assert.equal(path({ basename: 'x' }, '/a/b'), '/a/x')
  assert.equal(path({ dirname: '/d/' }, '/a/b'), '/d/b')
  assert.equal(path({ dirname: '/d/', basename: 'e/' }, '/a/b'), '/d/e/')
  assert.equal(path({ path: '/p/q/' }, 'ignored'), '/p/q/')
  // One spelling of each path, whatever way it was written.
  for (const [raw, want] of [
    ['/a/../b', '/b'],
    ['//c', '/c'],
    ['/./c/', '/c/'],
    ['/a/b/.', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/etc/.hidden', '/etc/.hidden'],
    ['/srv//x', '/srv/x'],
    ['/plain/path', '/plain/path'],
  ])
    assert.equal(path({ path: raw }, 'n'), want, raw)
})

test('mode parsing: octal strings, YAML numbers and symbolic assignments', () => {
  const bits = (v: string | number, from = 0): number => applyMode(parseMode(v), from)
  assert.equal(bits('0644'), 0o644)
  assert.equal(bits('644'), 0o644)
  assert.equal(bits(741), 0o741)
  assert.equal(bits('4755'), 0o4755)
  assert.equal(bits('u=rwx,g=rx,o='), 0o750)
  assert.equal(bits('u=rw', 0o777), 0o677)
  assert.equal(bits('a=r'), 0o444)
  assert.throws(() => parseMode('u+x'), /relative mode/)
  assert.throws(() => parseMode('g-w'), /relative mode/)
  assert.throws(() => parseMode(800), /digits must be 0-7/)
  assert.throws(() => parseMode('0999'), /expected an octal mode/)
  assert.equal(parseParams(file, '/x', { mode: 741 }).params?.mode, '741')
})

test('a file depends on its nearest managed parent directory', async () => {
  const { parentDirs } = await import('./file.js')
  assert.deepEqual([...parentDirs('/a/b/c')], ['/a/b/', '/a/', '/'])
  assert.deepEqual([...parentDirs('/a/b/')], ['/a/', '/'])
  const { compileGraph } = await import('../engine/compile.js')
  const { builtinRegistry } = await import('./index.js')
  const spec = (name: string, path: string) => ({ kind: 'file', name, params: { path, state: 'exists' } })
  const { graph } = compileGraph(
    {
      name: 'g',
      resources: [
        spec('top', '/srv/'),
        spec('mid', '/srv/app/'),
        spec('leaf', '/srv/app/conf/x'),
        spec('other', '/srv/y'),
      ],
      edges: [],
    },
    builtinRegistry(),
  )
  assert.deepEqual([...graph.incoming('file[leaf]').keys()], ['file[mid]'])
  assert.deepEqual([...graph.incoming('file[mid]').keys()], ['file[top]'])
  assert.deepEqual([...graph.incoming('file[other]').keys()], ['file[top]'])
})
