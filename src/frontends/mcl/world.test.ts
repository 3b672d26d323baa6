/**
 * What a program reads outside its files: the world's keys, per-host keys and exported resources
 * (`world.getval`, `world.kvlookup`, `collect.res`, `collect`), and the values kept by `value`
 * resources (`value.get*`), against a real local world persisted on disk (its file written with
 * other hosts' data first), and the frontend following a change of the world.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Compiled } from '../../engine/compiled.js'
import { varDirName } from '../../engine/context.js'
import { builtinRegistry } from '../../resources/index.js'
import { silentLogger } from '../../util/logger.js'
import { LocalWorld } from '../../world/local.js'
import type { ExportedResource } from '../../world/world.js'
import { langFrontend, loadLangGraph } from './index.js'
import { Outside } from './run/outside.js'

const registry = builtinRegistry()
/** The signal of a run that is never stopped. */
const never = new AbortController().signal
let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-17-world-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const file = (name: string, content: string, to: string[]): ExportedResource => ({
  kind: 'file',
  name,
  params: { content, state: 'exists' },
  meta: { noop: false },
  to,
})

/** A local world for host h1, holding what hosts h1, h2 and h3 wrote. */
async function world(name: string): Promise<LocalWorld> {
  const wdir = join(dir, name, 'world')
  await mkdir(wdir, { recursive: true })
  const saved = {
    strings: { somekey: 'three' },
    maps: { estate: { h1: 'two', h2: 'one' } },
    exports: {
      h1: [file('/srv/mine', 'h1 file\n', ['*'])],
      h2: [file('/srv/a', 'from h2\n', ['h1']), file('/srv/b', 'b from h2\n', ['*'])],
      h3: [file('/srv/a', 'from h3\n', ['h9'])],
    },
    deploys: [],
  }
  await writeFile(join(wdir, 'world.json'), JSON.stringify(saved))
  return new LocalWorld('h1', wdir)
}

async function program(name: string, text: string): Promise<string> {
  const f = join(dir, name, 'main.mcl')
  await mkdir(join(dir, name), { recursive: true })
  await writeFile(f, text)
  return f
}

const params = (c: Compiled, id: string) => c.graph.vertex(id)?.params as Record<string, unknown> | undefined

test('world.getval, world.kvlookup and collect.res read the world; collect brings an export in, under its own fields', async () => {
  const w = await world('reads')
  const main = await program(
    'reads',
    `import "fmt"
import "world"
import "world/collect"

$st = world.getval("somekey")
$none = world.getval("nokey")
print "getval" { msg => fmt.printf("%s %t %t", $st->value, $st->exists, $none->exists), }
print "kv" { msg => fmt.printf("%v", world.kvlookup("estate")), }
print "res" { msg => fmt.printf("%v", collect.res("file")), }

collect file "/srv/a" {
	mode => "0600",
	Meta:noop => true,
}
collect file [struct{name => "/srv/b", host => "h3"}] {}
`,
  )
  const c = await loadLangGraph(
    main,
    { registry, compile: { noAutoGroup: true }, log: silentLogger, world: w, signal: never },
    { hostname: 'h1', args: [], env: {}, outside: new Outside() },
    new Set(),
  )
  assert.equal(params(c, 'print[getval]')?.msg, 'three true false')
  assert.equal(params(c, 'print[kv]')?.msg, '{"h1": "two", "h2": "one"}')
  // Exported to h1 or to everyone; h3's /srv/a is for h9 only.
  assert.equal(
    params(c, 'print[res]')?.msg,
    '[struct{name: "/srv/mine"; host: "h1"}, struct{name: "/srv/a"; host: "h2"}, struct{name: "/srv/b"; host: "h2"}]',
  )
  const a = c.graph.vertex('file[/srv/a]')
  assert.equal(a?.params.content, 'from h2\n')
  assert.equal(a?.params.mode, '0600')
  assert.equal(a?.meta.noop, true)
  assert.equal(c.graph.has('file[/srv/b]'), false, '/srv/b is exported by h2, not h3')
  await w.close()
})

test('without a world, the same program sees an empty one', async () => {
  const main = await program('empty', 'import "world"\n\ntest [world.getval("somekey")->value + "!"] {}\n')
  const c = await loadLangGraph(
    main,
    { registry, compile: {}, log: silentLogger, signal: never },
    { hostname: 'h1', args: [], env: {} },
    new Set(),
  )
  assert.deepEqual([...c.graph.ids()], ['test[!]'])
})

test('value.get* read what a value resource keeps, typed by the call; not ready when absent or of another type', async () => {
  const stateDir = join(dir, 'values', 'engine', 'state')
  await mkdir(join(stateDir, varDirName('value', 'v1')), { recursive: true })
  await writeFile(join(stateDir, varDirName('value', 'v1'), 'value.json'), '{"value":"hello"}')
  const main = await program(
    'values',
    `import "fmt"
import "value"

$s = value.get_str("v1")
$i = value.get_int("v1")
$n = value.get_str("v2")
print "v" { msg => fmt.printf("%s %t %d %t %t", $s->value, $s->ready, $i->value, $i->ready, $n->ready), }
`,
  )
  const c = await loadLangGraph(
    main,
    { registry, compile: {}, log: silentLogger, signal: never },
    { hostname: 'h1', args: [], env: {}, outside: new Outside(stateDir) },
    new Set(),
  )
  assert.equal(params(c, 'print[v]')?.msg, 'hello true 0 false false')
})

test('the frontend evaluates the program again when what it read of the world changes, and only then', async () => {
  const w = await world('live')
  const main = await program(
    'live',
    `import "world"\n\n$v = world.getval("somekey")->value\nfile "/srv/val" { content => "val: \${v}\\n", }\n`,
  )
  const ac = new AbortController()
  const stream = await langFrontend(main, { hostname: 'h1' })({
    registry,
    compile: {},
    log: silentLogger,
    watch: false,
    signal: ac.signal,
    world: w,
  })
  assert.equal(params(stream.first, 'file[/srv/val]')?.content, 'val: three\n')
  assert.ok(stream.later, 'a program that reads the world follows it, even without watching files')
  const it = stream.later[Symbol.asyncIterator]()
  const next = it.next()
  await w.strSet('otherkey', 'x') // not read by the program: nothing
  await w.strSet('somekey', 'four')
  const g = await next
  assert.equal(params(g.value as Compiled, 'file[/srv/val]')?.content, 'val: four\n')
  ac.abort()
  assert.equal((await it.next()).done, true)
  await w.close()
})
