import assert from 'node:assert/strict'
import { renameSync, statSync, symlinkSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { FsWatcher } from './fswatch.js'

/** A subscription that counts its events and lets a test wait for the next ones. */
interface Probe {
  readonly count: number
  /** Resolves on the next event after the call (rejects after a generous guard). */
  next(): Promise<void>
  /** Resolves once `cond()` holds, checking after each event. */
  until(cond: () => boolean): Promise<void>
  readonly ac: AbortController
}

let dir: string
let w: FsWatcher

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-fswatch-'))
  w = new FsWatcher()
})

afterEach(async () => {
  w.close()
  await rm(dir, { recursive: true, force: true })
})

async function probe(path: string, recursive = false): Promise<Probe> {
  let count = 0
  let waiters: (() => void)[] = []
  const ac = new AbortController()
  await w.watch(
    path,
    ac.signal,
    () => {
      count++
      const ws = waiters
      waiters = []
      for (const fn of ws) fn()
    },
    { recursive },
  )
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event for ${path}`)), 5000)
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer)
          resolve()
        } else waiters.push(check)
      }
      check()
    })
  return {
    get count() {
      return count
    },
    next() {
      const target = count + 1
      return until(() => count >= target)
    },
    until,
    ac,
  }
}

function ancestors(p: string): string[] {
  const out: string[] = []
  for (let d = p; d !== '/'; ) {
    d = dirname(d)
    out.push(d)
  }
  return out
}

/**
 * The ancestors of `p` that a watch of a path below it watches: all but a sticky one (a shared
 * temporary directory such as `/tmp`) below a watched one, whose followed entry reports itself.
 */
function watchedAncestors(p: string): string[] {
  const out: string[] = []
  let parentWatched = true
  for (const d of ancestors(p).reverse()) {
    const bypassed: boolean = d !== '/' && parentWatched && (statSync(d).mode & 0o1000) !== 0
    if (!bypassed) out.push(d)
    parentWatched = !bypassed
  }
  return out
}

/** Events arrive in order: once the fence sees its own change, earlier events were delivered. */
async function fence(): Promise<void> {
  const f = await probe(join(dir, 'fence'))
  const seen = f.next()
  await writeFile(join(dir, 'fence'), String(Math.random()))
  await seen
  f.ac.abort()
}

test('a file: create, write, chmod, chown, rename and delete each wake its subscriber', async () => {
  const f = join(dir, 'f')
  const p = await probe(f)
  const step = async (change: () => Promise<unknown>): Promise<void> => {
    const ev = p.next()
    await change()
    await ev
  }
  await step(() => writeFile(f, 'one'))
  await step(() => writeFile(f, 'two'))
  await step(() => chmod(f, 0o600))
  await step(() => chown(f, 1, 1))
  await step(() => rename(f, join(dir, 'g')))
  await step(() => rename(join(dir, 'g'), f))
  await step(() => rm(f))
})

test('only the subscriber of the changed entry is woken', async () => {
  const a = await probe(join(dir, 'a'))
  const b = await probe(join(dir, 'b'))
  const ev = a.next()
  await writeFile(join(dir, 'a'), 'x')
  await ev
  await fence()
  assert.equal(b.count, 0)
})

test('many subscriptions in one directory share one fs.watch, closed when the last one ends', async () => {
  const probes = [await probe(join(dir, 'f0'))]
  // One watch for the directory and one for each ancestor ('/', ...; not a sticky '/tmp').
  const expected = [dir, ...watchedAncestors(dir)].sort()
  assert.deepEqual(w.dirs(), expected)
  for (let i = 1; i < 1000; i++) probes.push(await probe(join(dir, `f${i}`)))
  assert.equal(w.watchedDirs, expected.length)
  const ev = probes[150]!.next()
  await writeFile(join(dir, 'f150'), 'x')
  await ev
  await fence()
  assert.deepEqual(
    probes.map((p, i) => (p.count > 0 ? i : -1)).filter(i => i >= 0),
    [150],
  )
  for (const p of probes) p.ac.abort()
  assert.equal(w.watchedDirs, 0)
})

/** Waits until every event so far was delivered and every re-plan it caused is done. */
async function quiet(): Promise<void> {
  await fence()
  await w.idle()
}

test('a path under missing directories: the watch moves down as they appear, and back up', async () => {
  const deep = join(dir, 'x', 'y', 'z')
  const f = join(deep, 'f')
  const p = await probe(f)
  assert.ok(!w.dirs().includes(deep))
  await mkdir(deep, { recursive: true })
  await quiet()
  assert.ok(w.dirs().includes(deep))
  let ev = p.next()
  await writeFile(f, 'hello')
  await ev
  await rm(join(dir, 'x'), { recursive: true })
  await quiet()
  assert.deepEqual(w.dirs(), [dir, ...watchedAncestors(dir)].sort())
  await mkdir(deep, { recursive: true })
  await quiet()
  ev = p.next()
  await writeFile(f, 'again')
  await ev
})

test('a replaced parent directory is watched again', async () => {
  const sub = join(dir, 'p')
  await mkdir(sub)
  const f = join(sub, 'f')
  const p = await probe(f)
  await rename(sub, join(dir, 'old'))
  await mkdir(sub)
  await quiet()
  const ev = p.next()
  await writeFile(f, 'x')
  await ev
})

test('a parent directory replaced behind an ancestor rename is watched again', async () => {
  const f = join(dir, 'a', 'b', 'f')
  await mkdir(join(dir, 'a', 'b'), { recursive: true })
  const p = await probe(f)
  await rename(join(dir, 'a'), join(dir, 'gone'))
  await mkdir(join(dir, 'a', 'b'), { recursive: true })
  await quiet()
  const ev = p.next()
  await writeFile(f, 'x')
  await ev
})

test('a directory path reports its own mode, owner and removal', async () => {
  const d = join(dir, 'd')
  await mkdir(d)
  const p = await probe(`${d}/`)
  for (const change of [() => chmod(d, 0o700), () => chown(d, 1, 1), () => rm(d, { recursive: true })]) {
    const ev = p.next()
    await change()
    await ev
  }
})

test('recursive: a change deep below the path wakes it, also in directories made later', async () => {
  const t = join(dir, 't')
  await mkdir(t)
  const p = await probe(t, true)
  const sub = join(t, 'a', 'b')
  await mkdir(sub, { recursive: true })
  await quiet()
  assert.ok(w.dirs().includes(sub))
  const ev = p.next()
  await writeFile(join(sub, 'f'), 'x')
  await ev
  const ev2 = p.next()
  await chmod(join(sub, 'f'), 0o640)
  await ev2
})

test('an aborted subscription gets no more events', async () => {
  const f = join(dir, 'f')
  const p = await probe(f)
  p.ac.abort()
  await writeFile(f, 'x')
  await fence()
  assert.equal(p.count, 0)
})

test('close() ends every watch', async () => {
  await probe(join(dir, 'a'))
  await probe(join(dir, 'sub', 'b'))
  assert.ok(w.watchedDirs > 0)
  w.close()
  assert.equal(w.watchedDirs, 0)
})

test('recursive, on a directory made later: its tree is watched once it appears', async () => {
  const t = join(dir, 't')
  const p = await probe(t, true)
  let ev = p.next()
  await mkdir(t)
  await ev
  await quiet()
  ev = p.next()
  await writeFile(join(t, 'deep'), 'x')
  await ev
})

test('a thousand paths in one directory: one watch there, none per path, and one look when it appears', async () => {
  const sub = join(dir, 'later')
  const probes = []
  for (let i = 0; i < 1000; i++) probes.push(await probe(join(sub, `f${i}`)))
  assert.deepEqual(w.dirs(), [dir, ...watchedAncestors(dir)].sort())
  await mkdir(sub)
  await quiet()
  assert.ok(w.dirs().includes(sub))
  // Nothing was in it: no path below changed, nobody is woken by the watch moving down.
  assert.equal(
    probes.reduce((n, p) => n + p.count, 0),
    0,
  )
  const ev = probes[7]!.next()
  await writeFile(join(sub, 'f7'), 'x')
  await ev
})

/** Does `change`, and waits for the event it gives `p`. */
async function wakes(p: Probe, change: () => unknown): Promise<void> {
  const ev = p.next()
  await change()
  await ev
}

/** A shared temporary directory of the test's own (sticky, as `/tmp` is), with `x/` in it. */
async function sharedDir(): Promise<{ shared: string; x: string }> {
  const shared = join(dir, 'shared')
  await mkdir(join(shared, 'x'), { recursive: true })
  await chmod(shared, 0o1777)
  return { shared, x: join(shared, 'x') }
}

test('a sticky directory on the way is not watched while its followed entries are directories', async () => {
  const { shared, x } = await sharedDir()
  await probe(join(x, 'f'))
  assert.ok(w.dirs().includes(x))
  assert.ok(!w.dirs().includes(shared))
  // A path of its own in it: its entries must be seen there.
  const own = await probe(join(shared, 'own'))
  assert.ok(w.dirs().includes(shared))
  own.ac.abort()
})

test('a sticky directory not watched: its entry moved away, then made again, is seen', async () => {
  const { shared, x } = await sharedDir()
  const f = join(x, 'f')
  const p = await probe(f)
  await wakes(p, () => rename(x, join(shared, 'moved')))
  await quiet()
  assert.ok(w.dirs().includes(shared), 'watched again, to see x come back')
  await mkdir(x)
  await quiet()
  assert.ok(w.dirs().includes(x))
  await wakes(p, () => writeFile(f, 'back'))
  // The old directory, still watched, would not say this.
  await wakes(p, () => writeFile(f, 'again'))
})

test('a sticky directory not watched: its entry removed and made again is seen', async () => {
  const { x } = await sharedDir()
  const f = join(x, 'f')
  await writeFile(f, 'one')
  const p = await probe(f)
  await wakes(p, () => rm(x, { recursive: true }))
  await mkdir(x)
  await quiet()
  await wakes(p, () => writeFile(f, 'two'))
})

test('a sticky directory not watched: a directory renamed over its empty entry is seen', async () => {
  const { shared, x } = await sharedDir()
  const f = join(x, 'f')
  const p = await probe(f)
  const other = join(shared, 'other')
  await mkdir(other)
  await writeFile(join(other, 'f'), 'planted')
  // rename(2) replaces an empty directory: the old one's watch hears that it went.
  await wakes(p, () => rename(other, x))
  await quiet()
  await wakes(p, () => writeFile(f, 'seen'))
})

test('a sticky directory whose followed entry is a link is watched: a swap of the link is seen', async () => {
  const { shared } = await sharedDir()
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  await mkdir(a)
  await mkdir(b)
  const link = join(shared, 'link')
  await symlink(a, link)
  const p = await probe(join(link, 'f'))
  assert.ok(w.dirs().includes(shared), 'a link swapped by a rename reaches only its parent')
  // The swap as `ln -sfn` does it: a new link renamed over the old one.
  await wakes(p, async () => {
    await symlink(b, `${link}.new`)
    await rename(`${link}.new`, link)
  })
  await quiet()
  await wakes(p, () => writeFile(join(b, 'f'), 'through the new link'))
})

test('a sticky directory not watched: its entry replaced by a link is watched there after', async () => {
  const { shared, x } = await sharedDir()
  const f = join(x, 'f')
  const p = await probe(f)
  const elsewhere = join(dir, 'elsewhere')
  await mkdir(elsewhere)
  await wakes(p, async () => {
    // Both before the watcher hears of the first: it finds a link there, not a missing entry.
    renameSync(x, join(shared, 'old'))
    symlinkSync(elsewhere, x)
  })
  await quiet()
  assert.ok(w.dirs().includes(shared))
  await wakes(p, () => writeFile(join(elsewhere, 'f'), 'via the link'))
  // And the link's own swap.
  const again = join(dir, 'again')
  await mkdir(again)
  await wakes(p, async () => {
    await symlink(again, `${x}.new`)
    await rename(`${x}.new`, x)
  })
})
