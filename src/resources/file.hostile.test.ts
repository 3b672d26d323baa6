/**
 * The `file` kind against a hostile but unprivileged user: symbolic links planted at managed paths
 * by `nobody` in a directory it owns, temporary files watched while they are written, a full disk.
 * Every target of a planted link is a file of the test's own; nothing outside its directory is
 * touched.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { lstatSync, watch } from 'node:fs'
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
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
import { compileGraph } from '../engine/compile.js'
import type { ResourceSpec } from '../engine/spec.js'
import { run } from '../lib/run.js'
import { whenContent } from '../testing/fswait.js'
import { waitingLogger } from '../testing/logwait.js'
import { tempPrefix } from '../testing/prefix.js'
import { type HarnessOptions, type ResourceHarness, startResource } from '../testing/timeline.js'
import { isMgmtError } from '../util/errors.js'
import { memoryLogger } from '../util/logger.js'
import { isTempName } from './file/atomic.js'
import { file } from './file.js'
import { builtinRegistry } from './index.js'

const NOBODY = 65534
let dir: string
/** A directory owned by `nobody`, who plants links in it. */
let share: string
/** The attacker's targets: files of the test's own, with content and modes the test checks. */
let victim: string
let victimDir: string
const harnesses: ResourceHarness[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-7-hostile-'))
  await chmod(dir, 0o755)
  share = join(dir, 'share')
  await mkdir(share)
  await chown(share, NOBODY, NOBODY)
  victim = join(dir, 'victim')
  await writeFile(victim, 'victim secret\n', { mode: 0o600 })
  victimDir = join(dir, 'victim-dir')
  await mkdir(victimDir, { mode: 0o700 })
  await writeFile(join(victimDir, 'keep'), 'kept\n', { mode: 0o600 })
})

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop()
  await rm(dir, { recursive: true, force: true })
})

/** Runs `args` as the unprivileged user `nobody`. */
const asNobody = (...args: string[]): void => {
  execFileSync('runuser', ['-u', 'nobody', '--', ...args], { stdio: 'pipe' })
}

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

/** The victims are exactly as the test made them. */
async function victimsUntouched(): Promise<void> {
  const st = await lstat(victim)
  assert.ok(st.isFile())
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o600], 'the victim file kept owner and mode')
  assert.equal(await readFile(victim, 'utf8'), 'victim secret\n')
  const ds = await lstat(victimDir)
  assert.deepEqual([ds.uid, ds.mode & 0o7777], [0, 0o700], 'the victim directory kept owner and mode')
  assert.deepEqual((await readdir(victimDir)).sort(), ['keep'])
  assert.equal(await readFile(join(victimDir, 'keep'), 'utf8'), 'kept\n')
}

test('a link planted at a managed file is replaced: never written through, chmod-ed or chown-ed', async () => {
  const f = join(share, 'f')
  asNobody('ln', '-s', victim, f)
  const h = await start(f, { state: 'exists', content: 'managed\n', mode: '0644', owner: 'nobody' })
  assert.equal(await h.converge(), 1)
  await victimsUntouched()
  const st = await lstat(f)
  assert.ok(st.isFile(), 'the link itself was replaced by a file')
  assert.deepEqual([st.uid, st.mode & 0o7777], [NOBODY, 0o644])
  assert.equal(await readFile(f, 'utf8'), 'managed\n')
  assert.ok(
    h.logs.some(l => l.includes('symlink')),
    h.logs.join('\n'),
  )

  // Planted again while the resource runs: the event repairs it the same way.
  const ev = h.nextEvent()
  await rm(f)
  asNobody('ln', '-s', victim, f)
  await ev
  assert.equal(await h.converge(), 1)
  await victimsUntouched()
  assert.ok((await lstat(f)).isFile())
})

test('noop never reads nor shows what a planted link points at', async () => {
  const f = join(share, 'f')
  asNobody('ln', '-s', victim, f)
  const h = await start(f, { state: 'exists', content: 'managed\n', mode: '0644' })
  assert.equal(await h.checkApply(false), false)
  const logs = h.logs.join('\n')
  assert.doesNotMatch(logs, /victim secret/)
  assert.match(logs, /would replace the symlink/)
  assert.equal(await readlink(f), victim)
  await victimsUntouched()
})

test('mode, owner or source alone never act through a planted link', async () => {
  const f = join(share, 'f')
  asNobody('ln', '-s', victim, f)
  for (const params of [{ mode: '0666' }, { owner: 'nobody' }, { group: 'nogroup' }]) {
    const h = await start(f, params)
    await assert.rejects(h.checkApply(), /symlink/)
    await victimsUntouched()
  }
  const src = join(dir, 'src')
  await writeFile(src, 'copied\n')
  const h = await start(f, { source: src })
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(f, 'utf8'), 'copied\n')
  assert.ok((await lstat(f)).isFile())
  await victimsUntouched()
})

test('a link where a directory goes needs force; with force it is replaced, its target untouched', async () => {
  const d = join(share, 'd')
  asNobody('ln', '-s', victimDir, d)
  const h = await start(`${d}/`, { state: 'exists', mode: '0755' })
  await assert.rejects(h.checkApply(), (e: unknown) => isMgmtError(e, 'ERR_FILE_NEEDS_FORCE'))
  await victimsUntouched()
  const h2 = await start(`${d}/`, { state: 'exists', mode: '0755', force: true })
  assert.equal(await h2.converge(), 1)
  const st = await lstat(d)
  assert.ok(st.isDirectory())
  assert.equal(st.mode & 0o7777, 0o755)
  await victimsUntouched()
})

test('purge never goes through a link: neither the purged directory nor an entry in it', async () => {
  const d = join(share, 'd')
  asNobody('ln', '-s', victimDir, d)
  const h = await start(`${d}/`, { state: 'exists', recurse: true, purge: true })
  await assert.rejects(h.checkApply(), (e: unknown) => isMgmtError(e, 'ERR_FILE_NEEDS_FORCE'))
  await victimsUntouched()
  await h.stop()
  harnesses.splice(harnesses.indexOf(h), 1)

  // A real directory, owned by nobody, with links inside to a directory and to a file.
  await rm(d)
  asNobody('mkdir', d)
  asNobody('ln', '-s', victimDir, join(d, 'sub'))
  asNobody('ln', '-s', victim, join(d, 'file'))
  asNobody('mkdir', join(d, 'real'))
  asNobody('ln', '-s', victimDir, join(d, 'real', 'deeper'))
  const h2 = await start(`${d}/`, { state: 'exists', recurse: true, purge: true })
  assert.equal(await h2.converge(), 1)
  assert.deepEqual(await readdir(d), [])
  await victimsUntouched()
})

test('a source tree copied over planted links replaces the links, never their targets', async () => {
  const src = join(dir, 'src')
  await mkdir(join(src, 'sub'), { recursive: true })
  await writeFile(join(src, 'file'), 'from source\n', { mode: 0o644 })
  await writeFile(join(src, 'sub', 'keep'), 'from source\n', { mode: 0o644 })
  const d = join(share, 'd')
  asNobody('mkdir', d)
  asNobody('ln', '-s', victim, join(d, 'file'))
  asNobody('ln', '-s', victimDir, join(d, 'sub'))
  const h = await start(`${d}/`, { state: 'exists', recurse: true, source: `${src}/` })
  await assert.rejects(h.checkApply(), (e: unknown) => isMgmtError(e, 'ERR_FILE_NEEDS_FORCE'))
  await victimsUntouched()
  const h2 = await start(`${d}/`, { state: 'exists', recurse: true, source: `${src}/`, force: true })
  assert.equal(await h2.converge(), 1)
  assert.equal(await readFile(join(d, 'file'), 'utf8'), 'from source\n')
  assert.ok((await lstat(join(d, 'sub'))).isDirectory())
  await victimsUntouched()
})

test('a managed directory swapped for a link while running: its children wait, nothing lands in the target', async () => {
  const d = join(share, 'd')
  const log = waitingLogger('info')
  const spec = (name: string, params: Record<string, unknown>): ResourceSpec => ({
    kind: 'file',
    name,
    params,
  })
  const graph = {
    name: 'g',
    resources: [
      spec('d', { path: `${d}/`, state: 'exists', mode: '0755' }),
      spec('f', { path: join(d, 'f'), state: 'exists', content: 'child\n', mode: '0600' }),
    ],
    edges: [],
  }
  await mkdir(d)
  const ac = new AbortController()
  const done = run(graph, { prefix: tempPrefix(), log, signal: ac.signal })
  try {
    await whenContent(join(d, 'f'), 'child\n')
    await chown(d, NOBODY, NOBODY)
    // nobody owns share/ and d/: moves d away and plants a link to the victim directory.
    asNobody('mv', d, join(share, 'moved'))
    asNobody('ln', '-s', victimDir, d)
    await log.waitFor(/file\[d\]: error: .*is a symlink; set `force: true`/)
    await victimsUntouched()
  } finally {
    ac.abort()
  }
  const r = await done
  await victimsUntouched()
  assert.deepEqual(r.failed, ['file[d]'], log.lines.join('\n'))
})

test('unmanaged parents may be links: a file below one is written where the link points', async () => {
  const real = join(dir, 'real')
  await mkdir(real)
  await symlink(real, join(dir, 'alias'))
  const f = join(dir, 'alias', 'f')
  const h = await start(f, { state: 'exists', content: 'through an unmanaged link\n', mode: '0640' })
  assert.equal(await h.converge(), 1)
  assert.equal(await readFile(join(real, 'f'), 'utf8'), 'through an unmanaged link\n')
  assert.equal((await stat(join(real, 'f'))).mode & 0o7777, 0o640)
})

test('a temporary file has the final mode, or a stricter one, from its first byte', async () => {
  const src = join(dir, 'big')
  // World-readable source, private destination: the copy must never be readable by others.
  await writeFile(src, Buffer.alloc(48 << 20, 7))
  await chmod(src, 0o644)
  const out = join(share, 'out')
  const seen: number[] = []
  const w = watch(share, (_ev, name) => {
    if (!name || !isTempName(name)) return
    try {
      seen.push(lstatSync(join(share, name)).mode & 0o777)
    } catch {}
  })
  try {
    for (const content of [{ source: src }, { content: 'x'.repeat(4 << 20) }]) {
      const h = await start(out, { state: 'exists', mode: '0640', ...content })
      assert.equal(await h.converge(), 1)
      assert.equal((await stat(out)).mode & 0o777, 0o640)
      await rm(out)
    }
  } finally {
    w.close()
  }
  assert.ok(seen.length > 0, 'the temporary file was seen while it was written')
  for (const m of seen) assert.equal(m & ~0o640, 0, `temporary file mode ${m.toString(8)}: more than 0640`)
})

test('a full disk: the error names the managed file, never a temporary one, and nothing is left', async t => {
  const mnt = join(dir, 'small')
  await mkdir(mnt)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' })
  } catch (e) {
    t.skip(`cannot mount a tmpfs here: ${(e as Error).message}`)
    return
  }
  try {
    const f = join(mnt, 'big')
    const h = await start(f, { state: 'exists', content: 'x'.repeat(2 << 20) })
    const err = await h.checkApply().then(
      () => assert.fail('a 2 MiB write fit in 1 MiB'),
      (e: unknown) => e as Error,
    )
    assert.match(err.message, new RegExp(`${f}.*(ENOSPC|no space left)`))
    assert.doesNotMatch(err.message, /\.mgmt-tmp|\/proc\//, 'no temporary name in the error')
    assert.deepEqual(await readdir(mnt), [])
    await h.stop()
    harnesses.splice(harnesses.indexOf(h), 1)
  } finally {
    execFileSync('umount', [mnt])
  }
})

test('purge never removes a managed child while it is being written (cold starts)', async () => {
  const d = join(dir, 'purged')
  const names = Array.from({ length: 6 }, (_, i) => `f${i}`)
  const resources: ResourceSpec[] = [
    { kind: 'file', name: 'd', params: { path: `${d}/`, state: 'exists', recurse: true, purge: true } },
    ...names.map(n => ({
      kind: 'file',
      name: n,
      params: { path: join(d, n), state: 'exists', content: `${n}\n`.repeat(350_000) },
    })),
  ]
  compileGraph({ name: 'g', resources, edges: [] }, builtinRegistry())
  // Large children: a write lasts long enough for the directory's purge to run meanwhile.
  for (let i = 0; i < 3; i++) {
    await rm(d, { recursive: true, force: true })
    const log = memoryLogger('info')
    const r = await run(
      { name: 'g', resources, edges: [] },
      { prefix: tempPrefix(), convergedTimeout: 0, log },
    )
    assert.deepEqual(r.failed, [], log.lines.filter(l => /error|fail/.test(l)).join('\n'))
    assert.deepEqual((await readdir(d)).sort(), [...names].sort())
  }
})

test('a managed tree removed or moved away while running is repaired; its children wait, never fail', async t => {
  const tree = join(dir, 'tree')
  const files = ['a', 'b', 'sub/c', 'sub/d', 'sub/deeper/e']
  const dirs = ['', 'sub', 'sub/deeper']
  const resources: ResourceSpec[] = [
    ...dirs.map(d => ({
      kind: 'file',
      name: `dir:${d}`,
      params: { path: `${join(tree, d)}/`, state: 'exists', mode: '0750' },
    })),
    ...files.map(f => ({
      kind: 'file',
      name: f,
      params: { path: join(tree, f), state: 'exists', content: `${f}\n`, mode: '0640' },
    })),
  ]
  const whole = async (): Promise<boolean> => {
    for (const f of files)
      if ((await readFile(join(tree, f), 'utf8').catch(() => '')) !== `${f}\n`) return false
    for (const d of dirs)
      if (((await stat(join(tree, d)).catch(() => undefined))?.mode ?? 0) % 0o1000 !== 0o750) return false
    return true
  }
  const { whenInDir } = await import('../testing/fswait.js')
  const repaired = (what: string) =>
    whenInDir(dir, whole, `the tree repaired after ${what}`, 15_000, { recursive: true })
  // `rm -rf` races with the repair (a file made again in a directory being removed): it retries.
  // `rm -rf` races with the repair (a file made again in a directory being removed): whatever it
  // leaves is part of the attack.
  const rmrf = async (p: string): Promise<void> => {
    try {
      execFileSync('rm', ['-rf', p], { stdio: 'pipe' })
    } catch {}
  }
  const log = waitingLogger('info')
  const ac = new AbortController()
  const done = run({ name: 'g', resources, edges: [] }, { prefix: tempPrefix(), log, signal: ac.signal })
  try {
    await repaired('the start')
    const attacks: [string, () => Promise<void>][] = [
      ['rm -rf', () => rmrf(tree)],
      ['mv away', async () => execFileSync('mv', [tree, join(dir, 'away')]) && undefined],
      [
        'mv away and back',
        async () => {
          execFileSync('mv', [tree, join(dir, 'tree.x')])
          execFileSync('mv', [join(dir, 'tree.x'), tree])
        },
      ],
      ['rm -rf of a subtree', () => rmrf(join(tree, 'sub'))],
      [
        'another tree moved in its place',
        async () => {
          await mkdir(join(dir, 'other', 'sub'), { recursive: true })
          execFileSync('mv', [tree, join(dir, 'gone')])
          execFileSync('mv', [join(dir, 'other'), tree])
        },
      ],
    ]
    for (const [what, attack] of attacks) {
      const started = performance.now()
      await attack()
      await repaired(what).catch(e => {
        throw new Error(`${(e as Error).message}\n${log.lines.join('\n')}`)
      })
      t.diagnostic(`${what}: repaired in ${(performance.now() - started).toFixed(0)} ms`)
    }
  } finally {
    ac.abort()
  }
  const r = await done
  assert.deepEqual(r.failed, [], log.lines.filter(l => l.includes('error')).join('\n'))
})

test('paths have one spelling; a basename cannot leave dirname; one file, one resource', () => {
  const registry = builtinRegistry()
  const load = (resources: ResourceSpec[]) => compileGraph({ name: 'g', resources, edges: [] }, registry)
  const f = (name: string, params: Record<string, unknown>): ResourceSpec => ({ kind: 'file', name, params })
  const problems = (resources: ResourceSpec[]): string[] => {
    try {
      load(resources)
    } catch (e) {
      if (isMgmtError(e, 'ERR_GRAPH_INVALID')) return [...e.details.issues]
      throw e
    }
    return []
  }
  const path = (params: Record<string, unknown>, name = 'x'): unknown =>
    load([f(name, params)]).graph.vertex(`file[${name}]`)?.params.path
  assert.equal(path({ path: '/srv/a/../b' }), '/srv/b')
  assert.equal(path({ path: '/srv/./c' }), '/srv/c')
  assert.equal(path({ path: '//srv//d/' }), '/srv/d/')
  assert.equal(path({ path: '/srv/e/..' }), '/srv/')
  assert.equal(path({}, '/srv/x/../name'), '/srv/name')
  assert.equal(path({ dirname: '/srv/sub/../', basename: 'f' }), '/srv/f')

  for (const basename of ['../../etc/passwd', 'a/b', '..', '.', '/abs'])
    assert.match(
      problems([f('x', { path: '/srv/x', dirname: '/srv/dir/', basename, state: 'exists' })]).join('\n'),
      /basename: must be one name/,
      basename,
    )
  assert.deepEqual(
    problems([f('x', { path: '/srv/x', dirname: '/srv/', basename: 'sub/', state: 'exists' })]),
    [],
  )

  const clash = problems([
    f('a', { path: '/srv/conf', content: 'one\n' }),
    f('b', { path: '/srv/x/../conf', content: 'two\n' }),
    f('c', { path: '/srv/dir/', state: 'exists' }),
    f('d', { path: '/srv/dir', state: 'absent' }),
  ])
  assert.equal(clash.length, 2, clash.join('\n'))
  assert.match(clash[0]!, /file\[b\] and file\[a\] both manage file:\/srv\/conf/)
  assert.match(clash[1]!, /file\[d\] and file\[c\] both manage file:\/srv\/dir/)
})
