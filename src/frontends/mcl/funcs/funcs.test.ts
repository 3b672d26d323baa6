/**
 * The builtins, through the language: each expression is evaluated in a program (`test [EXPR] {}`)
 * and the resource it names is compared; catchable errors are caught with `<|>`.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { builtinRegistry } from '../../../resources/index.js'
import { checkLang, runLang } from '../compile.js'

const imports = [
  'fmt',
  'strings',
  'convert',
  'math',
  'list',
  'map',
  'iter',
  'encoding',
  'regexp',
  'net',
  'golang',
  'datetime',
]
  .map(p => `import "${p}"`)
  .concat('import "golang/strings" as gostrings')
  .join('\n')

/** Evaluates a `str` expression in a program; returns its value. */
function evaluate(expr: string, dir: string): string {
  const file = join(dir, 'main.mcl')
  writeFileSync(file, `${imports}\ntest [${expr}] {}\n`)
  const g = runLang(checkLang(file, { registry: builtinRegistry() }), {
    hostname: 'h',
    args: [],
    env: { HOME: '/root' },
  })
  assert.equal(g.resources.length, 1, expr)
  return g.resources[0]!.name
}

const table: [string, string][] = [
  ['fmt.printf("%d %s %t %f %q %%", 42, "s", true, 1.5, "q\\"")', '42 s true 1.5 "q\\"" %'],
  [
    'fmt.printf("%v %v %v", [1, 2], {"b" => 2, "a" => 1}, struct{a => "x", b => 2.0})',
    '[1, 2] {"a": 1, "b": 2} struct{a: "x"; b: 2}',
  ],
  ['fmt.printf("%T %T", {"a" => [1]}, func($x) { $x + 1 })', 'map{str: []int} func(x int) int'],
  ['fmt.printf("%v", 7 / 2)', '3.5'],
  ['fmt.printf("%d", 9223372036854775807 + 1)', '-9223372036854775808'],
  ['strings.join_nonempty(["a", "", "b"], ",")', 'a,b'],
  ['strings.right_pad("ab", "-", 5)', 'ab---'],
  ['strings.left_pad("abc", "-=", 8)', '-=-=-abc'],
  // A count that would build a string of 10^12 characters is an error at once, not a hang.
  ['strings.left_pad("a", "x", 1000000000000) <|> "too long"', 'too long'],
  // Go's case mappings: each code point by itself, by its simple mapping.
  ['strings.to_upper("straße ǆ ᾳ ﬁ")', 'STRAßE Ǆ ᾼ ﬁ'],
  ['strings.to_lower("ΟΔΟΣ İ")', 'οδοσ i'],
  ['gostrings.to_upper("maße")', 'MAßE'],
  ['gostrings.repeat("ab", 3)', 'ababab'],
  ['gostrings.repeat("ab", 1000000000000) <|> "too long"', 'too long'],
  ['gostrings.repeat("ab", -1) <|> "negative"', 'negative'],
  ['strings.replace_all("a.b.c", ".", "/")', 'a/b/c'],
  ['strings.substr("hello", 1, 9) <|> "out of range"', 'out of range'],
  ['fmt.printf("%v", strings.split("a,b", ","))', '["a", "b"]'],
  ['convert.format_bool(convert.parse_bool("T") <|> false)', 'true'],
  ['fmt.printf("%f", convert.str_to_float("2.5") <|> 0.0)', '2.5'],
  ['fmt.printf("%d %d", math.mod(7, 3), math.minus1(1))', '1 0'],
  ['fmt.printf("%f", math.sqrt(16.0))', '4'],
  ['fmt.printf("%v", list.concat([1], [2, 3], []))', '[1, 2, 3]'],
  [
    'fmt.printf("%v %v", map.keys({"b" => 1, "a" => 2}), map.values({"b" => 1, "a" => 2}))',
    '["a", "b"] [2, 1]',
  ],
  ['fmt.printf("%v", iter.reduce(["a", "b", "c"], func($x, $y) { $y + $x }))', 'cba'],
  ['fmt.printf("%v", iter.range(2, 10, 3))', '[2, 5, 8]'],
  ['fmt.printf("%v", iter.zip([1, 2], ["x"], func($a, $b) { fmt.printf("%d%s", $a, $b) }))', '["1x"]'],
  ['encoding.base64_decode(encoding.base64_encode("mgmt"))', 'mgmt'],
  ['fmt.printf("%v", encoding.decode_json("{\\"a\\": [1, 2]}", "map{str: []int}"))', '{"a": [1, 2]}'],
  [
    'fmt.printf("%v", encoding.decode_json("{\\"a\\": 1}", "struct{a int; b str}") <|> struct{a => 0, b => "strict"})',
    'struct{a: 0; b: "strict"}',
  ],
  [
    'fmt.printf("%v", encoding.decode_json_flexible("{\\"a\\": \\"7\\"}", "struct{a int; b str}"))',
    'struct{a: 7; b: ""}',
  ],
  ['fmt.printf("%t %t", regexp.match("^a.c$", "abc"), regexp.match("^a.c$", "abcd"))', 'true false'],
  // Linear time, as in Go: a backtracking engine takes hours on this.
  [`fmt.printf("%t", regexp.match("(a+)+$", "${'a'.repeat(40)}!"))`, 'false'],
  [
    'net.cidr_to_network("192.168.42.13/24") + " " + net.cidr_to_last("192.168.42.13/24")',
    '192.168.42.0 192.168.42.254',
  ],
  ['net.cidr_to_mask("10.0.0.1/12") + " " + net.cidr_to_first("10.0.0.1/12")', '255.240.0.0 10.0.0.1'],
  [
    'fmt.printf("%t %t", net.ip_in_cidr("10.1.2.3", "10.0.0.0/8"), net.ip_in_cidr("11.1.2.3", "10.0.0.0/8"))',
    'true false',
  ],
  [
    'net.macfmt("AA-BB-CC-DD-EE-FF") + " " + net.oldmacfmt("aa:bb:cc:dd:ee:ff")',
    'aa:bb:cc:dd:ee:ff aa-bb-cc-dd-ee-ff',
  ],
  [
    'net.split_hostport("[::1]:80")->host + " " + net.url_parser("https://x.org:8/p?q=1")->host',
    '::1 x.org:8',
  ],
  ['net.cidr_to_ip("fe80::1/64") + " " + net.cidr_to_network("fe80::1:2/64")', 'fe80::1 fe80::'],
  ['golang.template("{{ range $i, $x := . }}{{ $i }}={{ $x }} {{ end }}", ["a", "b"])', '0=a 1=b '],
  [
    'golang.template("{{ if .A }}yes{{ else }}no{{ end }}-{{ .B | printf \\"%d!\\" }}", struct{a => false, b => 3})',
    'no-3!',
  ],
  [
    'golang.template("{{ strings_to_upper .X }} {{ len .L }} {{ index .L 1 }}", struct{x => "up", l => ["p", "q"]})',
    'UP 2 q',
  ],
  [
    'golang.template("{{ .M }} {{ .F }}", struct{m => {"b" => 2, "a" => 1}, f => 1000000.0})',
    'map[a:1 b:2] 1e+06',
  ],
  ['datetime.format(0, "2006-01-02") <|> "x"', ''],
  ['datetime.print(9223372036854775807) <|> "out of range"', 'out of range'],
  ['datetime.weekday(-9223372036854775808) <|> "out of range"', 'out of range'],
  ['random1(-1) <|> "bad length"', 'bad length'],
  ['random1(9223372036854775807) <|> "too long"', 'too long'],
]

test('the builtins compute what the original computes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mgmt-17-funcs-'))
  try {
    for (const [expr, want] of table) {
      if (want === '') continue
      assert.equal(evaluate(expr, dir), want, expr)
    }
    // Times are local: the epoch's date is one of two days around the world.
    assert.match(
      evaluate('datetime.format(0, "2006-01-02 Jan Mon")', dir),
      /^19(70-01-01 Jan Thu|69-12-31 Dec Wed)$/,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
