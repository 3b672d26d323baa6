/**
 * The watched graph file, against the real command: a Kubernetes ConfigMap's symlink swap, a
 * replaced parent directory, a file that goes or cannot be read, and hostile live edits. The
 * running graph stays through everything that is not a valid new graph.
 */
import assert from 'node:assert/strict'
import { renameSync } from 'node:fs'
import { mkdir, mkdtemp, open, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { builtinRegistry } from '../../resources/index.js'
import { type Running, startMgmt } from '../../testing/cli.js'
import { waitingLogger } from '../../testing/logwait.js'
import { silentLogger } from '../../util/logger.js'
import { loadYaml, MAX_GRAPH_BYTES, type YamlGraph } from './parse.js'
import { followYamlFile } from './watch.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-7-watch-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const graph = (msg: string): string => `graph: g\nresources:\n  print:\n  - {name: p, msg: "${msg}"}\n`

/** Counts the lines matching `re` printed so far. */
const count = (m: Running, re: RegExp): number =>
  m
    .output()
    .split('\n')
    .filter(l => re.test(l)).length

async function running(file: string, body: (m: Running) => Promise<void>): Promise<void> {
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file])
  try {
    await body(m)
    assert.equal(m.child.exitCode, null, `the engine is still running:\n${m.output()}`)
  } finally {
    m.child.kill('SIGINT')
    await m.exited
    await m.kill()
  }
}

test('a ConfigMap-style symlink swap (..data replaced atomically) is seen and applied', async () => {
  const cfg = await mkdtemp(join(dir, 'configmap-'))
  await mkdir(join(cfg, '..2024_01'))
  await writeFile(join(cfg, '..2024_01', 'g.yaml'), graph('from the first version'))
  await symlink('..2024_01', join(cfg, '..data'))
  await symlink('..data/g.yaml', join(cfg, 'g.yaml'))
  await running(join(cfg, 'g.yaml'), async m => {
    await m.waitFor(/print\[p\]: from the first version/)
    // What the kubelet does: a new directory, a new link to it, renamed over ..data, the old one removed.
    await mkdir(join(cfg, '..2024_02'))
    await writeFile(join(cfg, '..2024_02', 'g.yaml'), graph('from the second version'))
    await symlink('..2024_02', join(cfg, '..data_tmp'))
    await rename(join(cfg, '..data_tmp'), join(cfg, '..data'))
    await rm(join(cfg, '..2024_01'), { recursive: true })
    await m.waitFor(/print\[p\]: from the second version/)
  })
})

test('a replaced parent directory is seen, and so are edits in the new one', async () => {
  const top = await mkdtemp(join(dir, 'parent-'))
  const conf = join(top, 'conf')
  await mkdir(conf)
  await writeFile(join(conf, 'g.yaml'), graph('one'))
  await running(join(conf, 'g.yaml'), async m => {
    await m.waitFor(/print\[p\]: one/)
    await mkdir(join(top, 'conf.new'))
    await writeFile(join(top, 'conf.new', 'g.yaml'), graph('two'))
    await rename(conf, join(top, 'conf.old'))
    await rename(join(top, 'conf.new'), conf)
    await m.waitFor(/print\[p\]: two/)
    await writeFile(join(conf, 'g.yaml'), graph('three'))
    await m.waitFor(/print\[p\]: three/)
  })
})

test('a graph file that goes or cannot be read is logged, and the running graph stays', async () => {
  const d = await mkdtemp(join(dir, 'gone-'))
  const file = join(d, 'g.yaml')
  await writeFile(file, graph('before'))
  await running(file, async m => {
    await m.waitFor(/print\[p\]: before/)
    await rm(file)
    await m.waitFor(/g\.yaml: gone \(.*ENOENT.*\); keeping the running graph/)
    await mkdir(file)
    await m.waitFor(
      /g\.yaml: cannot be read \(it is a directory, not a graph file\); keeping the running graph/,
    )
    await rm(file, { recursive: true })
    // Larger than a graph file may be: refused from its size, before a byte is read (a sparse file).
    const huge = join(d, 'huge.yaml')
    await writeFile(huge, graph('huge'))
    await truncate(huge, MAX_GRAPH_BYTES + 1)
    await rename(huge, file)
    await m.waitFor(
      /g\.yaml: cannot be read \(it is larger than 64 MiB, the most a graph file may hold\); keeping/,
    )
    await writeFile(file, graph('after'))
    await m.waitFor(/print\[p\]: after/)
  })
})

test('hostile live edits (an alias bomb, absurd nesting) are refused; the running graph stays', async () => {
  const d = await mkdtemp(join(dir, 'hostile-'))
  const file = join(d, 'g.yaml')
  await writeFile(file, graph('safe'))
  const laughs = ['graph: lol', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 10; i++)
    laughs.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    )
  laughs.push('resources:', '  print:', '  - name: p', '    msg: *a9')
  await running(file, async m => {
    await m.waitFor(/print\[p\]: safe/)
    await writeFile(file, `${laughs.join('\n')}\n`)
    await m.waitFor(/refused: its aliases expand it to about 8\.3e\+9 values[\s\S]*keeping the running graph/)
    await writeFile(file, `graph: deep\nresources: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)
    await m.waitFor(/g\.yaml(:\d+:\d+: nesting exceeded|: refused: it nests)[\s\S]*keeping the running graph/)
    await writeFile(file, graph('still alive'))
    await m.waitFor(/print\[p\]: still alive/)
    assert.equal(count(m, /print\[p\]: safe/), 1, 'the running graph was never restarted')
  })
})

test('any failure while loading a new graph, not only an invalid one, keeps the running graph', async () => {
  const d = await mkdtemp(join(dir, 'bug-'))
  const file = join(d, 'g.yaml')
  await writeFile(file, 'first')
  const log = waitingLogger('info')
  const ac = new AbortController()
  let reload = (): void => {}
  const following = await followYamlFile(file, log, ac.signal, {
    watch: false,
    onReload: fn => {
      reload = fn
      return () => {}
    },
  })
  const load = (text: string) => {
    if (text === 'boom') throw new TypeError('a bug in a kind')
    return { name: text, messages: [] } as unknown as YamlGraph
  }
  const it = following.graphs('first', load)
  const next = it.next()
  await writeFile(file, 'boom')
  reload()
  await log.waitFor(/a bug in a kind\n {2}\(keeping the running graph\)/)
  await writeFile(file, 'good')
  reload()
  assert.equal(((await next).value as YamlGraph).name, 'good')
  ac.abort()
  await it.return(undefined)
})

/**
 * A graph file `graph: first` in a fresh directory, followed with `opts`; stopped and removed after
 * the test.
 */
async function followed(t: TestContext, opts?: Parameters<typeof followYamlFile>[3]) {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-watch-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'g.yaml')
  const first = 'graph: first\n'
  await writeFile(file, first)
  const stop = new AbortController()
  t.after(() => stop.abort())
  const w = await followYamlFile(file, silentLogger, stop.signal, opts)
  return { dir, file, first, stop, w }
}

/** An hour's wait for writes to end: only a rename's own path can read the file within a test. */
const RENAMES_ONLY = { watch: true, debounceMs: 3_600_000 }

test('a save made before the later graphs are first read is not missed', async t => {
  const { file, first, stop, w } = await followed(t)
  // Saved (as editors do, by a rename) while the first graph would still be applied.
  await writeFile(join(dir, 'g.yaml.new'), 'graph: second\n')
  await rename(join(dir, 'g.yaml.new'), file)
  const graphs = w.graphs(first, text => loadYaml(text, file, builtinRegistry()))
  const next = await graphs.next()
  assert.equal(next.done, false)
  assert.equal(next.value?.name, 'second')
  stop.abort()
  assert.equal((await graphs.next()).done, true)
})

test('a file replaced whole (renamed over it, as editors save) is read without the wait for writes to end', {
  timeout: 30_000,
}, async t => {
  const { dir, file, first, stop, w } = await followed(t, RENAMES_ONLY)
  const graphs = w.graphs(first, text => loadYaml(text, file, builtinRegistry()))
  const next = graphs.next()
  await writeFile(join(dir, 'g.yaml.new'), 'graph: second\n')
  await rename(join(dir, 'g.yaml.new'), file)
  assert.equal((await next).value?.name, 'second')
  stop.abort()
  assert.equal((await graphs.next()).done, true)
})

test('a burst of saves (two renames over the file at once) is read once, in its last state', {
  timeout: 30_000,
}, async t => {
  const { dir, file, first, stop, w } = await followed(t, RENAMES_ONLY)
  const loaded: string[] = []
  const graphs = w.graphs(first, text => {
    loaded.push(text)
    return loadYaml(text, file, builtinRegistry())
  })
  const next = graphs.next()
  await writeFile(join(dir, 'a.new'), 'graph: second\n')
  await writeFile(join(dir, 'b.new'), 'graph: third\n')
  // Both in one turn of the event loop, as one save's renames come: their events arrive together.
  renameSync(join(dir, 'a.new'), file)
  renameSync(join(dir, 'b.new'), file)
  assert.equal((await next).value?.name, 'third')
  assert.deepEqual(loaded, ['graph: third\n'], 'the intermediate state was never read')
  stop.abort()
  assert.equal((await graphs.next()).done, true)
})

test('a graph file written in two halves 0.5 s apart is applied once, complete', async () => {
  const file = join(dir, 'halves.yaml')
  await writeFile(file, graph('before'))
  await running(file, async m => {
    await m.waitFor(/print\[p\]: before/)
    // An editor that writes in place, in two steps: the first half alone is a valid, smaller graph.
    const fh = await open(file, 'w')
    await fh.write('graph: g\nresources:\n  print:\n  - {name: p, msg: "half"}\n')
    await sleep(500)
    await fh.write('  - {name: q, msg: "full"}\n')
    await fh.close()
    await m.waitFor(/print\[q\]: full/)
    // One more complete save: once it is applied, every earlier application has been logged. Had
    // the first half been applied alone, there would be three.
    await writeFile(file, graph('after'))
    await m.waitFor(/print\[p\]: after/)
    assert.equal(count(m, /graph file changed: applying/), 2, m.output())
    assert.doesNotMatch(m.output(), /error/)
  })
})
