/**
 * The original's example programs (../shared/mcl/examples/): every one outside `modules/`
 * type-checks (what `mgmt check lang` does), and the static ones of the spec's stage-1 list run
 * with `mgmt run lang` and converge. Each runs in a temporary directory: its `/tmp/` paths are
 * rewritten into it, long sleeps shortened, `/usr/bin/python` (absent on Debian) replaced by
 * `/usr/bin/python3`, and a file that exec0 watches exists from the start; nothing else of the host
 * is touched.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { builtinRegistry } from '../../resources/index.js'
import { type Running, runMgmt, startMgmt } from '../../testing/cli.js'
import { whenContent } from '../../testing/fswait.js'
import { checkLang, runLang } from './compile.js'

const examples = fileURLToPath(new URL('../../../../../shared/mcl/examples/', import.meta.url))

/** Every program outside modules/: the `.mcl` files, and the module directories. */
function programs(): string[] {
  return readdirSync(examples)
    .filter(f => f !== 'modules')
    .filter(
      f =>
        f.endsWith('.mcl') ||
        existsSync(join(examples, f, 'main.mcl')) ||
        existsSync(join(examples, f, 'metadata.yaml')),
    )
    .sort()
}

test('every example outside modules/ type-checks', t => {
  if (!existsSync(examples)) {
    t.skip(`${examples} is not here`)
    return
  }
  const registry = builtinRegistry()
  const all = programs()
  assert.ok(all.length >= 200, `only ${all.length} programs`)
  const failed: string[] = []
  for (const p of all)
    try {
      checkLang(join(examples, p), { registry })
    } catch (err) {
      failed.push(`${p}: ${(err as Error).message}`)
    }
  assert.deepEqual(failed, [])
})

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-17-examples-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Copies an example into its own directory, its host paths rewritten into `out/` there. */
async function stage(name: string): Promise<{ file: string; out: string }> {
  const root = join(dir, name)
  const out = join(root, 'out')
  await mkdir(out, { recursive: true })
  const text = (await readFile(join(examples, `${name}.mcl`), 'utf8'))
    .replaceAll('/tmp/', `${out}/`)
    .replace(/sleep 10s/g, 'sleep 0.1')
    .replaceAll('/usr/bin/python"', '/usr/bin/python3"')
  for (const m of text.matchAll(new RegExp(`${out}/[^"\\s]*`, 'g')))
    await mkdir(dirname(m[0]), { recursive: true })
  const file = join(root, `${name}.mcl`)
  await writeFile(file, text)
  if (name === 'panic0') await cp(join(examples, 'panic'), join(root, 'panic'), { recursive: true })
  // Its watchcmd (inotifywait on this file) may start before the file resource made the file.
  if (name === 'exec0') await writeFile(join(out, 'whatever'), '')
  return { file, out }
}

/** The stage-1 examples that converge, and what to verify afterwards. */
const converge: Record<string, (out: string, log: string) => Promise<void> | void> = {
  hello0: async out =>
    assert.equal(await readFile(join(out, 'mgmt-hello-world'), 'utf8'), 'hello world from @purpleidea\n'),
  file0: async out => assert.ok(statSync(join(out, 'dir1')).isDirectory()),
  elvis0: async out => assert.equal(await readFile(join(out, 'mgmt-elvis'), 'utf8'), 'hello world\n'),
  interpolate1: async out => assert.equal(await readFile(join(out, 'mgmt/hello'), 'utf8'), 'hello WORLD!!\n'),
  unicode: () => {},
  escaping1: () => {},
  print0: (_o, log) => assert.match(log, /print\[msg0\]: lonely/),
  math1: () => {},
  math2: () => {},
  printf0: () => {},
  printf1: () => {},
  len0: () => {},
  lookup: () => {},
  lookup_except: () => {},
  maplookup1: () => {},
  structlookup1: () => {},
  'map-kv': () => {},
  concat: () => {},
  substr: () => {},
  regexp0: () => {},
  json0: () => {},
  json1: () => {},
  json2: () => {},
  contains0: async out =>
    assert.equal(await readFile(join(out, 'mgmt/contains'), 'utf8'), '1: true, 2: true, 3: false, 4: true\n'),
  'class-include': () => {},
  'class-include-as0': () => {},
  'class-include-as1': () => {},
  'class-include-nested0': () => {},
  'class-include-nested1': () => {},
  import0: (_o, log) => assert.match(log, /AnotherStr: "the answer is: 42"/),
  shadowing1: () => {},
  'polymorphic-lambda': () => {},
  iteration1: (_o, log) => assert.match(log, /running graph `iteration1` \(8 resources\)/),
  range: () => {},
  edges0: () => {},
  edges1: () => {},
  exec0: async out => assert.equal(await readFile(join(out, 'whatever'), 'utf8'), 'hello world\n'),
  exec1: async out => assert.equal(await readFile(join(out, 'whatever'), 'utf8'), 'hello world\n'),
  'exec-if': (_o, log) => assert.doesNotMatch(log, /i will NOT run\n/),
  'exec-creates': async out => assert.equal(await readFile(join(out, 'whatever'), 'utf8'), 'hello world\n'),
  sendrecv0: async out => {
    assert.equal(await readFile(join(out, 'command-stdout'), 'utf8'), 'this is stdout\n')
    assert.equal(await readFile(join(out, 'command-stderr'), 'utf8'), 'this is stderr\n')
  },
  'sendrecv-creates': async out => assert.equal(await readFile(join(out, 'hello'), 'utf8'), 'hello\n'),
  'value-resource': (_o, log) => assert.match(log, /test\[test\]: AnotherStr: "wow"/),
}

/** Stage-1 examples that must fail, with where and why. */
const failing: Record<string, RegExp> = {
  panic0: /panic0\.mcl:\d+:1: run error: bool panic occurred/,
  div0: /div0\.mcl:3:11: run error: can't divide by zero/,
}

/**
 * Stage-1 examples that are not run here: their kinds (pkg, svc) are not in this engine, and
 * running them would install packages on the host. They type-check, evaluate and interpret.
 */
const checkOnly = ['duplicate', 'duplicate-error', 'autoedges1', 'pkg1', 'pkg2']

/** Runs `f` over `items`, `n` at a time. */
async function pool<X>(items: X[], n: number, f: (x: X) => Promise<void>): Promise<void> {
  const queue = [...items]
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await f(x)
    }),
  )
}

test('the stage-1 examples run with `mgmt run lang` and converge, or fail where they should', async t => {
  if (!existsSync(examples)) {
    t.skip(`${examples} is not here`)
    return
  }
  const problems: string[] = []
  await pool([...Object.keys(converge), ...Object.keys(failing)], 3, async name => {
    const { file, out } = await stage(name)
    const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'lang', file], { ms: 60_000 })
    const want = failing[name]
    if (want) {
      if (r.code !== 2 || !want.test(r.output)) problems.push(`${name}: exit ${r.code}, output:\n${r.output}`)
      return
    }
    if (r.code !== 0) {
      problems.push(`${name}: exit ${r.code}, output:\n${r.output}`)
      return
    }
    try {
      await converge[name]!(out, r.output)
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}\n${r.output}`)
    }
  })
  assert.deepEqual(problems, [])
  // Without running them: they evaluate, and duplicates of a kind that merges (pkg) merge or not.
  const registry = builtinRegistry()
  const host = { hostname: 'h1', args: [], env: {} }
  for (const name of checkOnly.filter(n => n !== 'duplicate-error'))
    runLang(checkLang(join(examples, `${name}.mcl`), { registry }), host)
  const merged = runLang(checkLang(join(examples, 'duplicate.mcl'), { registry }), host)
  assert.deepEqual(
    merged.resources.map(r => [r.kind, r.name, r.fields.get('state')?.value]),
    [['pkg', 'cowsay', 'newest']],
  )
  assert.throws(
    () => runLang(checkLang(join(examples, 'duplicate-error.mcl'), { registry }), host),
    /incompatible duplicate resource `pkg\[cowsay\]` found: state differs in an incompatible way: uninstalled vs installed/,
  )
})

test('`mgmt check lang`: exit 0 for a valid program, 2 with the located error for an invalid one', async () => {
  const ok = await runMgmt(['check', 'lang', join(examples, 'class-include.mcl')])
  assert.equal(ok.code, 0, ok.output)
  assert.match(ok.output, /class-include\.mcl: ok/)
  const bad = join(dir, 'bad.mcl')
  await writeFile(bad, 'test "t1" {\n\tstringptr => 42,\n}\n')
  const r = await runMgmt(['check', 'lang', bad])
  assert.equal(r.code, 2)
  assert.equal(
    r.output,
    `${bad}:2:2: type error: str != int (field \`stringptr\` of test is str)\n    \tstringptr => 42,\n    \t^^^^^^^^^^^^^^^^\n`,
  )
  const missing = await runMgmt(['check', 'lang', join(dir, 'nope.mcl')])
  assert.equal(missing.code, 2)
  assert.match(missing.output, /cannot read .*nope\.mcl/)
})

/**
 * The cluster examples of one host, on its local world, and the value examples: each ends in a
 * state reached only after the program was evaluated again for what the world came to hold (its
 * own exports, a `kv` value) or what its `value` resources came to keep.
 */
const live: Record<string, (out: string, m: Running) => Promise<void>> = {
  // A hidden export, collected back under the same name and shown.
  export0: async out => {
    await whenContent(join(out, 'hello'), 'hello world from @purpleidea\n')
  },
  // Two exports listed by collect.res, filtered by a lambda, collected hidden (so still one file each).
  collect0: async (out, m) => {
    const all = `[struct{name: "${out}/fah"; host: "h1"}, struct{name: "${out}/foo"; host: "h1"}]`
    await m.waitFor(new RegExp(`print\\[all\\]: ${reEscape(all)}`))
    await m.waitFor(
      new RegExp(`print\\[filtered\\]: ${reEscape(`[struct{name: "${out}/foo"; host: "h1"}]`)}`),
    )
    await whenContent(join(out, 'foo'), 'i am foo\n')
  },
  // world.getval sees the value that the program's own kv resource stores.
  getval0: async out => {
    await whenContent(join(out, 'val'), 'val: three\n')
  },
  // value.get_str sees what the program's own value resources keep (hello2 receives hello1's).
  'value-resource-simple': async (_o, m) => {
    await m.waitFor(/test\[get\]: AnotherStr: "whatever"/)
  },
  'value-resource-get': async (_o, m) => {
    await m.waitFor(/test\[get1\]: AnotherStr: "wow"/)
    await m.waitFor(/test\[get2\]: AnotherStr: "wow"/)
  },
}

const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('the examples that read what they change follow it: export0, collect0, getval0, value-resource-*', async t => {
  if (!existsSync(examples)) {
    t.skip(`${examples} is not here`)
    return
  }
  await pool(Object.keys(live), 3, async name => {
    const { file, out } = await stage(name)
    const m = startMgmt(['run', '--tmp-prefix', '--hostname', 'h1', 'lang', file])
    try {
      await live[name]!(out, m)
      m.child.kill('SIGINT')
      assert.equal(await m.exited, 0, m.output())
    } catch (err) {
      await m.kill(2000)
      throw new Error(`${name}: ${(err as Error).message}\n${m.output()}`)
    }
  })
})
