/**
 * The original's language corpus (../shared/mcl/conformance/): every case passes but the listed
 * known failures, and every listed one still fails (the list only shrinks). Also checks the
 * runner itself: that it notices a wrong graph, a wrong error position and a missing error.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { builtinRegistry } from '../../../resources/index.js'
import { knownFailures } from './known-failures.js'
import { caseFiles, runConformance } from './main.js'
import { runCase } from './runner.js'
import { parseTxtar } from './txtar.js'

const corpus = fileURLToPath(new URL('../../../../../../shared/mcl/conformance/', import.meta.url))

test('the conformance corpus passes, but for the known failures', t => {
  if (!existsSync(corpus)) {
    t.skip(`${corpus} is not here`)
    return
  }
  const s = runConformance([corpus])
  assert.ok(s.results.length >= 400, `only ${s.results.length} cases`)
  assert.deepEqual(
    s.unexpected.map(r => `${r.name}: ${r.reason}`),
    [],
  )
  assert.deepEqual(
    s.fixed.map(r => r.name),
    [],
  )
  const suites = new Set(caseFiles(corpus).map(f => f.split('/').slice(-2)[0]))
  assert.deepEqual([...suites].sort(), ['TestAstFunc1', 'TestAstFunc2', 'TestAstFunc3'])
  for (const [name, reason] of Object.entries(knownFailures))
    assert.ok(reason.length > 20, `${name} needs a reason`)
})

/** Runs one case written to a temporary suite directory (the runner reads the suite from it). */
function runText(name: string, text: string): ReturnType<typeof runCase> {
  const dir = mkdtempSync(join(tmpdir(), 'mgmt-17-runner-'))
  try {
    mkdirSync(join(dir, 'TestAstFunc2'))
    const path = join(dir, 'TestAstFunc2', name)
    writeFileSync(path, text)
    return runCase(path, builtinRegistry())
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('the runner compares graphs, error stages and positions', () => {
  const ok = runText(
    'a.txtar',
    '-- main.mcl --\ntest "a" {}\nTest["a"] -> Test["b"]\ntest "b" {}\n-- OUTPUT --\nVertex: test[b]\nVertex: test[a]\nEdge: test[a] -> test[b] # test[a] -> test[b]\n',
  )
  assert.deepEqual(ok, { name: 'TestAstFunc2/a.txtar', passed: true })
  const wrongGraph = runText('b.txtar', '-- main.mcl --\ntest "a" {}\n-- OUTPUT --\nVertex: test[b]\n')
  assert.equal(wrongGraph.passed, false)
  assert.match(wrongGraph.reason!, /missing \[Vertex: test\[b\]\], unexpected \[Vertex: test\[a\]\]/)
  const rightError = runText(
    'c.txtar',
    '-- main.mcl --\ntest "t1" {\n\tstringptr => 42,\n}\n-- OUTPUT --\n# err: errUnify: type error: str != int: /main.mcl @ 2:2-2:18\n',
  )
  assert.equal(rightError.passed, true, rightError.reason)
  const wrongPosition = runText(
    'd.txtar',
    '-- main.mcl --\ntest "t1" {\n\tstringptr => 42,\n}\n-- OUTPUT --\n# err: errUnify: type error: str != int: /main.mcl @ 2:3-2:18\n',
  )
  assert.equal(wrongPosition.passed, false)
  const noError = runText('e.txtar', '-- main.mcl --\ntest "a" {}\n-- OUTPUT --\n# err: errUnify: nope\n')
  assert.equal(noError.passed, false)
  assert.match(noError.reason!, /expected an error/)
})

test('txtar: comment, files, the last newline', () => {
  const a = parseTxtar('a comment\n\n-- one --\nx\ny\n-- two --\n-- three --\nz')
  assert.equal(a.comment, 'a comment\n')
  assert.deepEqual(
    [...a.files],
    [
      ['one', 'x\ny\n'],
      ['two', ''],
      ['three', 'z\n'],
    ],
  )
})
