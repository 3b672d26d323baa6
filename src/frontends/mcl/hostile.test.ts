/**
 * Hostile and broken programs: each gets the catalog's error, located (file, line, column), short
 * enough to read, and in bounded time and memory; never a stack trace or a crash. Each case is
 * the reduced form of a program that once broke that promise.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, test } from 'node:test'
import { builtinRegistry } from '../../resources/index.js'
import { isMgmtError, type MgmtError } from '../../util/errors.js'
import { checkLang, runLang } from './compile.js'
import { isLangError, toMgmtError } from './errors.js'

const root = mkdtempSync(join(tmpdir(), 'mgmt-mcl-hostile-'))
after(() => rmSync(root, { recursive: true, force: true }))
const registry = builtinRegistry()
let cases = 0

/** Writes `files` (main.mcl first) to a fresh directory; returns the path of main.mcl. */
function write(files: Readonly<Record<string, string>>): string {
  const dir = join(root, String(++cases))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return join(dir, 'main.mcl')
}

/** The catalog error of checking (and, with `run`, running) the program; fails if there is none. */
function failure(files: Readonly<Record<string, string>>, run = false): MgmtError {
  const main = write(files)
  try {
    const p = checkLang(main, { registry })
    if (run) runLang(p, { hostname: 'h', args: [], env: {} })
  } catch (err) {
    const e = isLangError(err) ? toMgmtError(err) : err
    assert.ok(isMgmtError(e), `a coded error, not ${String(e)}`)
    assert.doesNotMatch(e.message, /\n\s+at |internal error|TypeError|RangeError|undefined/)
    return e
  }
  assert.fail('the program was accepted')
}

/** The error's `line:col`, and its source line shown with the character under the caret. */
function where(e: MgmtError): { at: string; marked: string } {
  const d = e.details as { line: number; col: number }
  const [, source = '', carets = ''] = e.message.split('\n')
  const caret = carets.indexOf('^')
  return { at: `${d.line}:${d.col}`, marked: caret < 0 ? '' : [...source][caret]! }
}

test('an error on a megabyte-long line shows the place, not the line', () => {
  const e = failure({ 'main.mcl': `$x = "${'a'.repeat(1_000_000)}" + 1 ${'b'.repeat(1_000_000)}\n` })
  assert.equal(e.code, 'ERR_LANG_PARSE')
  assert.ok(e.message.length < 1000, `a message of ${e.message.length} characters`)
  assert.match(e.message, /unexpected name `b{27}\.\.\.`/)
  assert.deepEqual(where(e), { at: '1:1000013', marked: 'b' })
})

test('a number of a million digits is an overflow quoted in brief', () => {
  const e = failure({ 'main.mcl': `$x = 1\n$y = ${'9'.repeat(1_000_000)}\n` })
  assert.equal(e.code, 'ERR_LANG_PARSE')
  assert.ok(e.message.length < 1000, `a message of ${e.message.length} characters`)
  assert.match(e.message, /integer: overflow: `9{27}\.\.\.`/)
  assert.deepEqual(where(e), { at: '2:6', marked: '9' })
})
