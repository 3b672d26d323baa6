/**
 * Hostile and broken programs: each gets the catalog's error, located (file, line, column), short
 * enough to read, and in bounded time and memory; never a stack trace or a crash. Each case is
 * the reduced form of a program that once broke that promise.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: mcl strings interpolate with ${...}
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, test } from 'node:test'
import { builtinRegistry } from '../../resources/index.js'
import { runMgmt } from '../../testing/cli.js'
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

// Through the CLI, in a child that the test can kill: the old reader blocked on a FIFO forever and
// read /dev/zero until the process had taken gigabytes and crashed.
test('a program file that is a FIFO or a device is refused at once, not read', async () => {
  const main = write({ 'main.mcl': 'import "lib.mcl"\ntest "a" {}\n' })
  const dir = dirname(main)
  execFileSync('mkfifo', [join(dir, 'lib.mcl')])
  const fifo = await runMgmt(['check', 'lang', main], { ms: 20_000 })
  assert.equal(fifo.code, 2, fifo.output)
  assert.match(
    fifo.output,
    /main\.mcl:1:1: scope error: local import of `lib\.mcl` failed: cannot read \S*lib\.mcl: it is a FIFO, not a regular file\n {4}import "lib\.mcl"\n {4}\^+\n/,
  )
  symlinkSync('/dev/zero', join(dir, 'zero.mcl'))
  const zero = await runMgmt(['check', 'lang', join(dir, 'zero.mcl')], { ms: 20_000 })
  assert.equal(zero.code, 2, zero.output)
  assert.match(zero.output, /cannot read \S*zero\.mcl: it is a character device, not a regular file\n/)
})

test('os.readfile of a FIFO, a device or a directory is a located run error, at once', async () => {
  const main = write({ 'main.mcl': '' })
  const dir = dirname(main)
  execFileSync('mkfifo', [join(dir, 'fifo')])
  for (const [path, why] of [
    [join(dir, 'fifo'), 'it is a FIFO'],
    ['/dev/zero', 'it is a character device'],
    [dir, 'it is a directory'],
  ] as const) {
    writeFileSync(main, `import "os"\n\ntest [os.readfile("${path}")] {}\n`)
    const r = await runMgmt(['run', '--tmp-prefix', 'lang', main], { ms: 20_000 })
    assert.equal(r.code, 2, r.output)
    assert.ok(r.output.includes(`main.mcl:3:7: run error: could not read file: ${path}: ${why}`), r.output)
    // Said once, as rendered: not again after the carets with the original's bylines.
    assert.doesNotMatch(r.output, / @ \d+:\d+-\d+:\d+/)
  }
  // What can be read still is, a file of /proc (whose size says 0) included.
  writeFileSync(
    main,
    'import "os"\nimport "strings"\n$s = os.readfile("/proc/self/status")\ntest [strings.split($s, ":")[0]] {}\n',
  )
  const g = runLang(checkLang(main, { registry }), { hostname: 'h', args: [], env: {} })
  assert.deepEqual(
    g.resources.map(r => r.name),
    ['Name'],
  )
})

/** `name` defined `levels` deep, each level using the one below twice: 2^levels copies or calls. */
const doubling = (levels: number, define: (i: number) => string, use: string): string =>
  `${Array.from({ length: levels }, (_, i) => `${define(i + 1)}\n`).join('')}test [${use}] {}\n`

// In a child that the test can kill: the old checker and evaluator ran for hours.
test('a program whose functions expand exponentially is a located error, not a hang', async () => {
  const funcs = write({
    'main.mcl': `func f0() { "x" }\n${doubling(20, i => `func f${i}() { f${i - 1}() + f${i - 1}() }`, 'f20()')}`,
  })
  const c = await runMgmt(['check', 'lang', funcs], { ms: 30_000 })
  assert.equal(c.code, 2, c.output)
  assert.match(c.output, /main\.mcl:3:20: type error: the program expands to more than 300000 expressions/)
  assert.match(c.output, /main\.mcl:22:7: \(also here\)\n {4}test \[f20\(\)\] \{\}\n/)
})

test('a program whose evaluation grows exponentially is a located error, not a hang', async () => {
  const lambdas = write({
    'main.mcl': `$f0 = func() { "x" }\n${doubling(25, i => `$f${i} = func() { $f${i - 1}() + $f${i - 1}() }`, '$f25()')}`,
  })
  const loops = write({
    'main.mcl': `$l = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]\n${'for $i, $x in $l {\n'.repeat(8)}test "t" {}\n${'}\n'.repeat(8)}`,
  })
  // Where the steps ran out (inside), and the outermost call or loop.
  for (const [main, outer] of [
    [lambdas, 'main.mcl:27:7'],
    [loops, 'main.mcl:2:1'],
  ] as const) {
    const r = await runMgmt(['run', '--tmp-prefix', 'lang', main], { ms: 30_000 })
    assert.equal(r.code, 2, r.output)
    assert.match(r.output, /main\.mcl:\d+:\d+: run error: the program takes more than 10000000 steps/)
    assert.ok(r.output.includes(`${outer}: (also here)`), r.output)
  }
})

// In a child that the test can kill: the old checker looked at each variable 2^50 times.
test('a constant built from variables used twice per level is worked out once per node', async () => {
  const main = write({
    'main.mcl': `import "fmt"\n$a0 = 1\n${doubling(50, i => `$a${i} = $a${i - 1} + $a${i - 1}`, 'fmt.printf("%d", $a50)')}`,
  })
  const r = await runMgmt(['check', 'lang', main], { ms: 30_000 })
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /main\.mcl: ok/)
})

test('a string too long to build is a catchable error at its `+`, not a crash', () => {
  const program = (use: string): Record<string, string> => ({
    'main.mcl': `$a0 = "xxxxxxxxxxxxxxxx"\n${doubling(23, i => `$a${i} = $a${i - 1} + $a${i - 1}`, use)}`,
  })
  const e = failure(program('$a23'), true)
  assert.equal(e.code, 'ERR_LANG_RUN')
  assert.match(
    e.message,
    /^\S+main\.mcl:24:8: run error: a string of 134217728 characters is longer than 67108864\n/,
  )
  const g = runLang(checkLang(write(program('$a23 <|> "too long"')), { registry }), {
    hostname: 'h',
    args: [],
    env: {},
  })
  assert.deepEqual(
    g.resources.map(r => r.name),
    ['too long'],
  )
})

// In a child that the test can kill: the checker ran range on the strings, growing them for ever.
test('a pure builtin given constants of the wrong kind is a type error, not run at check time', async () => {
  const main = write({
    'main.mcl': 'import "iter"\nimport "fmt"\n\ntest [fmt.printf("%v", iter.range("a", "b"))] {}\n',
  })
  const r = await runMgmt(['check', 'lang', main], { ms: 30_000 })
  assert.equal(r.code, 2, r.output)
  assert.match(r.output, /main\.mcl:4:24: type error: str != int\n/)
})

test('a template that writes too much, loops too long or nests too deep is a located run error', () => {
  const items = `[${Array.from({ length: 100 }, () => '"a"').join(', ')}]`
  const ranges = (body: string): string =>
    `${'{{range $i := $}}'.repeat(4)}${body}${'{{end}}'.repeat(4)}`.replace(/\$i/g, () => `$i${cases}`)
  for (const [template, why] of [
    [ranges('x'.repeat(500)), 'the output is longer than 67108864 characters'],
    [ranges(''), 'the execution takes more than 1000000 steps'],
    [`${'{{if true}}'.repeat(20_000)}${'{{end}}'.repeat(20_000)}`, 'the template nests too deeply'],
  ]) {
    const e = failure(
      { 'main.mcl': `import "golang"\n$l = ${items}\ntest [golang.template("${template}", $l)] {}\n` },
      true,
    )
    assert.equal(e.code, 'ERR_LANG_RUN')
    assert.equal(where(e).at, '3:7')
    assert.match(e.message, new RegExp(`^\\S+main\\.mcl:3:7: run error: template: execution error: ${why}`))
  }
})

test('a chain of 10,000 edges is checked for cycles without exhausting the stack', () => {
  const names = Array.from({ length: 10_001 }, (_, i) => `Test["t${i}"]`)
  const program = (back: boolean): string =>
    `${names.map((_, i) => `test "t${i}" {}\n`).join('')}${names
      .slice(1)
      .map((n, i) => `${names[i]} -> ${n}\n`)
      .join('')}${back ? `${names.at(-1)} -> ${names[0]}\n` : ''}`
  const g = runLang(checkLang(write({ 'main.mcl': program(false) }), { registry }), {
    hostname: 'h',
    args: [],
    env: {},
  })
  assert.equal(g.edges.length, 10_000)
  const e = failure({ 'main.mcl': program(true) }, true)
  assert.equal(e.code, 'ERR_LANG_INTERPRET')
  assert.ok(e.message.length < 1000, `a message of ${e.message.length} characters`)
  assert.match(
    e.message,
    /^\S+main\.mcl:1:1: interpret error: resource graph has cycles: test\[t0\] -> test\[t1\] -> .* -> test\[t5\] -> \.\.\. 9991 more -> test\[t9997\] -> .* -> test\[t10000\] -> test\[t0\]\n/,
  )
})

test('a metadata.yaml that does not parse is located at the line and column of the problem', () => {
  const main = write({ 'metadata.yaml': 'main: "main.mcl"\nfiles: [\n', 'main.mcl': 'test "a" {}\n' })
  const root = dirname(main)
  let err: unknown
  try {
    checkLang(root, { registry })
  } catch (e) {
    err = e
  }
  assert.ok(isLangError(err), String(err))
  const e = toMgmtError(err)
  assert.equal(e.code, 'ERR_LANG_SCOPE')
  assert.equal((e.details as { file: string }).file, join(root, 'metadata.yaml'))
  assert.equal(where(e).at, '3:1')
  assert.match(
    e.message,
    /metadata\.yaml:3:1: scope error: invalid \S+metadata\.yaml: Flow sequence in block collection must be sufficiently indented and end with a \]\n/,
  )
})

test('a string of 5,000 interpolations is joined as a balanced tree, not 5,000 levels deep', () => {
  const main = write({
    'main.mcl': `$x = "${Array.from({ length: 5000 }, () => '${y}').join('-')}"\n$y = "a"\ntest [$x] {}\n`,
  })
  const g = runLang(checkLang(main, { registry }), { hostname: 'h', args: [], env: {} })
  assert.equal(g.resources[0]!.name, Array.from({ length: 5000 }, () => 'a').join('-'))
})

test('a lookup error in a list or map of 100,000 items quotes the first few', () => {
  const items = Array.from({ length: 100_000 }, (_, i) => `"k${i}"`)
  for (const [program, reason] of [
    [
      `$x = [${items.join(', ')}]\ntest [$x[100000]] {}\n`,
      'list index not present, got: 100000, len is: 100000, in: ["k0", "k1"',
    ],
    [
      `$x = {${items.map(k => `${k} => 1`).join(', ')}}\ntest [fmt.printf("%d", $x["z"])] {}\nimport "fmt"\n`,
      'map key not present, want: "z" in {"k0": 1',
    ],
  ]) {
    const e = failure({ 'main.mcl': program }, true)
    assert.equal(e.code, 'ERR_LANG_RUN')
    assert.ok(e.message.length < 1000, `a message of ${e.message.length} characters`)
    assert.ok(e.message.includes(reason), e.message)
  }
})

test('test.one_stream of a negative or huge count is a catchable error', () => {
  for (const n of ['-1', '9223372036854775807']) {
    const main = write({ 'main.mcl': `import "test" as t\ntest [t.one_stream(${n}) <|> "bad count"] {}\n` })
    const g = runLang(checkLang(main, { registry }), { hostname: 'h', args: [], env: {} })
    assert.equal(g.resources[0]!.name, 'bad count')
  }
})
