/**
 * Hostile YAML at load time: an alias bomb is refused at once, a file with a million problems lists
 * the first ones and counts the rest, and an invalid 50 MB file is reported within a 1 GiB heap.
 * A graph file is read up to 64 MiB: `/dev/zero`, or a file of gigabytes, is refused before it
 * fills the memory.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { builtinRegistry } from '../../resources/index.js'
import { mainJs } from '../../testing/cli.js'
import { isMgmtError } from '../../util/errors.js'
import { mayAlias, measure } from './limits.js'
import { loadYaml, MAX_GRAPH_BYTES, readGraphFile } from './parse.js'

const registry = builtinRegistry()
let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-7-yaml-limits-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The problems of an invalid graph, or the message of another refusal. */
function failure(text: string): { code: string; problems: string[] } {
  try {
    loadYaml(text, 'g.yaml', registry)
  } catch (e) {
    if (isMgmtError(e, 'ERR_YAML_INVALID')) return { code: e.code, problems: [...e.details.problems] }
    if (isMgmtError(e)) return { code: e.code, problems: [e.message] }
    throw e
  }
  assert.fail('expected the graph to be refused')
}

test('a billion laughs is refused at once; a graph that shares its anchors loads', () => {
  const lines = ['graph: lol', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 10; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    )
  lines.push('resources:', '  print:', '  - name: p', '    msg: *a9')
  const r = failure(`${lines.join('\n')}\n`)
  assert.equal(r.code, 'ERR_YAML_TOO_LARGE')
  assert.match(r.problems[0]!, /^g\.yaml: refused: its aliases expand it to about 8\.3e\+9 values/)

  // Anchors as people use them: one meta shared by 2,000 resources.
  const shared = ['graph: shared', 'resources:', '  noop:']
  for (let i = 0; i < 2000; i++)
    shared.push(
      i === 0
        ? '  - {name: n0, meta: &m {retry: 3, delay: 10, sema: [a, b, c]}}'
        : `  - {name: n${i}, meta: *m}`,
    )
  assert.equal(loadYaml(`${shared.join('\n')}\n`, 'g.yaml', registry, { noAutoGroup: true }).graph.size, 2000)
})

test('a text that cannot share nodes is measured without a record of them, to the same cost', () => {
  assert.equal(mayAlias('a: &x [1]\nb: *x\n'), true)
  assert.equal(mayAlias('cmd: ls *.txt\n'), false, 'a `*` without an anchor shares nothing')
  assert.equal(mayAlias('cmd: make && make install\n'), false)
  const tree = { a: [1, { b: 'c', d: [[], {}] }], e: Array.from({ length: 100 }, (_, i) => ({ i })) }
  assert.deepEqual(measure(tree, false), measure(tree, true))
  assert.deepEqual(measure(tree, false), { total: 209, distinct: 107, deepest: 4 })
  // Nesting past the limit is refused the same way.
  let deep: unknown = 1
  for (let i = 0; i < 2000; i++) deep = [deep]
  assert.equal(measure(deep, false).deepest, 1001)
})

test('a graph with a million problems lists the first 100 and counts the others', () => {
  const lines = ['graph: many', 'resources:', '  print:']
  for (let i = 0; i < 5000; i++) lines.push(`  - {name: p${i}, msg: [not, a, string]}`)
  const r = failure(`${lines.join('\n')}\n`)
  assert.equal(r.problems.length, 101)
  assert.match(r.problems[0]!, /^g\.yaml:4:\d+: resources\.print\[0\]\.msg: /)
  assert.match(r.problems[100]!, /^\.\.\. and \d+ more problems$/)
})

test('an invalid 50 MB graph file is reported within a 1 GiB heap', async () => {
  const file = join(dir, 'big.yaml')
  const out = createWriteStream(file)
  out.write('graph: big\nresources:\n  print:\n')
  let size = 0
  for (let i = 0; size < 50 << 20; i++) {
    const entry = `  - name: p${i}\n    msg: [not, a, string, ${i}]\n`
    size += entry.length
    if (!out.write(entry)) await new Promise<void>(r => out.once('drain', () => r()))
  }
  await new Promise<void>(r => out.end(() => r()))
  const r = spawnSync(
    process.execPath,
    ['--max-old-space-size=1024', mainJs, 'run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', file],
    { encoding: 'utf8', timeout: 120_000 },
  )
  const output = `${r.stdout}${r.stderr}`
  assert.equal(r.status, 2, output.slice(0, 2000))
  assert.match(output, /big\.yaml: resources\.print\[0\]\.msg: /)
  assert.match(output, /\.\.\. and \d+ more problems/)
  assert.doesNotMatch(output, /heap out of memory|internal error/)
})

test('a graph file larger than 64 MiB, or /dev/zero, is refused before it fills the memory', async () => {
  const big = join(dir, 'big.yaml')
  await writeFile(big, 'graph: g\n')
  await truncate(big, MAX_GRAPH_BYTES + 1)
  const refused = (e: unknown): boolean =>
    isMgmtError(e, 'ERR_FILE_READ') && /larger than 64 MiB/.test(e.message)
  for (const f of [big, '/dev/zero']) {
    const heap = process.memoryUsage().rss
    await assert.rejects(readGraphFile(f), refused, f)
    // Read no further than the bound (the sparse file: not at all).
    assert.ok(process.memoryUsage().rss - heap < 3 * MAX_GRAPH_BYTES, f)
  }
  await assert.rejects(
    readGraphFile(dir),
    (e: unknown) => isMgmtError(e, 'ERR_FILE_READ') && /a directory/.test(e.message),
  )
  // At the bound, it is read.
  await truncate(big, 1000)
  assert.equal((await readGraphFile(big)).length, 1000)
})
