/**
 * Syntax errors: each malformed program fails at the expected line and column (the offending
 * token, a one-character span), at the lex or parse stage, with a message that says what was
 * found and, where useful, what was expected.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isLangError } from '../errors.js'
import { SourceFile } from '../source.js'
import { parse } from './parser.js'

/** Program, line, column, a fragment of the message. */
const table: readonly (readonly [string, number, number, string])[] = [
  ['$x = [1, 2]]\n', 1, 12, 'unexpected `]`, expecting newline'],
  ['$x = [1, 2, ]]\n', 1, 13, 'unexpected `]`'],
  ['test "t" {}\n)\n', 2, 1, 'unexpected `)`'],
  ['file { "/tmp/foo":\n\tensure => present,\n}\n', 1, 18, 'unexpected `:`, expecting `=>`'],
  ['func foo($a, $b,) {\n\t$a\n}\n', 1, 17, 'unexpected `)`, expecting `$`'],
  ['func bar(\n\t$a,\n\t$b\n) {\n\t$a\n}\n', 3, 4, 'unexpected newline, expecting `,`'],
  ['test "x" {\n\tcomment => bar("a", "b",),\n}\n', 2, 26, 'unexpected `)`'],
  ['$l = [\n\t"a",\n\t"e" # bad\n]\n', 3, 11, 'unexpected newline, expecting `,`'],
  ['$f func(str, str,) str = func($a, $b) { $a }\n', 1, 18, 'unexpected `)`'],
  ['$x = fmt.printf(, "world")\n', 1, 17, 'unexpected `,`'],
  ['$fn = func($x,,$y) { $x }\n', 1, 15, 'unexpected `,`, expecting `$`'],
  ['$m = {"w" => 1, , "o" => 2}\n', 1, 17, 'unexpected `,`'],
  ['$st = struct{w => 1, , o => 2}\n', 1, 22, 'unexpected `,`, expecting a name'],
  ['$st struct{; x str} = struct{x => "hello"}\n', 1, 12, 'unexpected `;`, expecting `}` or a name'],
  ['$fn = func($in) { 13 }\n', 1, 13, '`in` is a keyword'],
  ['$d []struct{x int;x int}\n', 1, 25, 'unexpected newline, expecting `=`'],
  ['$st struct{x int; x int} = struct{x => 0}\n', 1, 24, 'duplicate struct field of `x int`'],
  ['test "t1" {\n\tuint64 => 18446744073709551615,\n}\n', 2, 12, 'integer: overflow'],
  ['test "t" { anotherstr => "a" }\n', 1, 30, 'expecting trailing comma'],
  ['test "t" {\n\tanotherstr => "a"\n}\n', 2, 19, 'expecting trailing comma'],
  ['$x == 3\n', 1, 4, 'additional equals in bind statement'],
  ['$x = 3-1\n', 1, 7, 'a `-` directly before a digit belongs to the number'],
  ['$x = 1 < 2 < 3\n', 1, 12, 'comparisons do not chain'],
  ['if true {\n\ttest "t" {}\n}\nelse {\n}\n', 4, 1, '`} else {` must be on one line'],
  ['if true { test "t" {} }\n', 1, 23, 'unexpected `}`, expecting newline'],
  ['$x = "abc\n', 1, 6, 'unterminated string'],
  ['$x = 1 \r\n', 1, 8, 'unrecognized carriage return'],
  ['$x = 1 @ 2\n', 1, 8, 'unrecognized: `@`'],
  ['Test["a"].hello -> Test["b"]\n', 1, 28, 'a send/recv edge joins exactly two'],
  ['Test["a"].hello -> Test["b"].x -> Test["c"].y\n', 1, 32, 'a send/recv edge joins exactly two'],
  ['test "t" {\n\tBogus => Test["x"],\n}\n', 2, 2, 'invalid resource property `Bogus`'],
  ['test "t" {\n\tMetaa:noop => true,\n}\n', 2, 2, 'invalid resource property `Metaa`'],
  ['import fmt\n', 1, 8, 'unexpected name `fmt`, expecting a string'],
  ['include foo(\n\t1\n)\n', 2, 3, 'unexpected newline, expecting `,`'],
  ['class foo($a {\n}\n', 1, 14, 'unexpected `{`, expecting `)` or `,`'],
  // Nesting past what the later stages' recursion can take: at the level that passes the bound.
  [`$x = ${'('.repeat(100_000)}1\n`, 1, 262, 'nests more than 256 levels deep'],
  [`$x = ${'[\n'.repeat(300)}1${']'.repeat(300)}\n`, 257, 1, 'nests more than 256 levels deep'],
  [`test [${'"a" + '.repeat(100_000)}"a"] {}\n`, 1, 1535, 'nests more than 256 levels deep'],
  [`$x = ${'not '.repeat(100_000)}true\n`, 1, 1030, 'nests more than 256 levels deep'],
  [`${'if true {\n'.repeat(100_000)}${'}\n'.repeat(100_000)}`, 257, 4, 'nests more than 256 levels deep'],
  [`$x ${'[]'.repeat(100_000)}str = []\n`, 1, 516, 'nests more than 256 levels deep'],
  ['$x = foo\n', 1, 9, 'unexpected newline, expecting `(`'],
  ['$x = (1 + 2\n', 1, 12, 'unexpected newline, expecting `)`'],
  ['for $i $v in $l {\n}\n', 1, 8, 'unexpected `$`, expecting `,`'],
  ['$x = if true { 1 }\n', 1, 19, 'unexpected newline, expecting `else`'],
  ['$x = func() { 1 }(2)(3)\n', 1, 21, 'unexpected `(`, expecting newline'],
  ['$x = 1.\n', 1, 7, 'unexpected `.`, expecting newline'],
  ['$x = 1.5e3\n', 1, 9, 'unexpected name `e3`'],
]

test('every malformed program fails at its line and column, with a message', () => {
  assert.ok(table.length >= 30)
  for (const [text, line, col, message] of table) {
    assert.throws(
      () => parse(new SourceFile('/main.mcl', text)),
      (err: unknown) => {
        assert.ok(isLangError(err), `${JSON.stringify(text)}: not a language error: ${err}`)
        assert.ok(['lex', 'parse'].includes(err.stage), `${JSON.stringify(text)}: stage ${err.stage}`)
        const at = err.spans[0]!
        assert.deepEqual(
          [at.start.line, at.start.col],
          [line, col],
          `${JSON.stringify(text)}: ${err.message}`,
        )
        assert.ok(err.reason.includes(message), `${JSON.stringify(text)}: "${err.reason}" lacks "${message}"`)
        return true
      },
    )
  }
})

test('well-formed programs of every statement and expression form parse', () => {
  const ok = [
    'import "fmt"\nimport "x.mcl" as y\nimport "m/" as *\n',
    '$x int = 42\n$y = [1, 2]\n$z = {"a" => 1}\n$s = struct{a => 1, b => "x"}\n',
    '$l = [\n\t1,\n\t2,\n]\n$m = {\n\t"a" => 1,\n}\n',
    '$f = func($a, $b str) str { $a + $b }\n$g = $f("a", "b")\n',
    'func f($x) {\n\t$x\n}\n',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mcl interpolation
    'class c($a, $b []str) {\n\ttest "${a}" {}\n}\ninclude c("x", ["y"]) as i\n',
    'class a:b {\n}\n',
    'if $x {\n\ttest "a" {}\n} else {\n}\n',
    'for $i, $v in $l {\n\ttest [$v] {}\n}\nforkv $k, $v in $m {\n}\n',
    'test "t" {\n\ta => 1,\n\tb => $c ?: 2,\n\tMeta:noop => true,\n\tMeta => $d ?: $s,\n\tBefore => Test["x"],\n\tDepend => $c ?: Test[["y"]],\n}\n',
    'Test["a"] -> Test["b"] -> Test["c"]\nExec["a"].stdout -> File["b"].content\n',
    'panic(false)\npanic($x, "msg")\n',
    '$e = $a <|> $b <|> "c"\n$o = $st->f <|> "d"\n$n = not $a == $b and $c or 1 + 2 * 3 > 4\n$i = $l[0][1]\n',
    '$t = if $a { 1 } else { 2 }\n$q = "x" in ["x"]\n$iife = func($x) { $x }(1)\n',
    'collect file "/tmp/x" {}\n',
  ]
  for (const text of ok) assert.doesNotThrow(() => parse(new SourceFile('/main.mcl', text)), text)
})
