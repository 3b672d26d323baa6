/** The lexer's rules, and the string interpolation table. */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: mcl strings interpolate with ${...}
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lex } from './lexer.js'
import { splitString } from './passes.js'
import { SourceFile } from './source.js'

const kinds = (text: string): string[] =>
  lex(new SourceFile('/m.mcl', text)).tokens.map(t => (t.kind === 'IDENTIFIER' ? `ID:${t.text}` : t.kind))

test('the longest match wins, keywords before names', () => {
  assert.deepEqual(kinds('for format forkv in int index'), [
    'FOR',
    'ID:format',
    'FORKV',
    'IN',
    'INT_IDENTIFIER',
    'ID:index',
    'EOF',
  ])
  assert.deepEqual(kinds('<|> <= < => == = -> -'), [
    'EXCEPT',
    'LTE',
    'LT',
    'ROCKET',
    'EQ',
    'EQUALS',
    'ARROW',
    'MINUS',
    'EOF',
  ])
})

test('a minus before a digit belongs to the number; floats need digits on both sides', () => {
  const t = lex(new SourceFile('/m.mcl', '3-1 -2.5 1.')).tokens
  assert.deepEqual(
    t.map(x => [x.kind, x.int ?? x.float]),
    [
      ['INTEGER', 3n],
      ['INTEGER', -1n],
      ['FLOAT', -2.5],
      ['INTEGER', 1n],
      ['DOT', undefined],
      ['EOF', undefined],
    ],
  )
})

test('capitalised names are lowercased, names never end in `_`, comments go aside, positions are 1-based', () => {
  const { tokens, comments } = lex(new SourceFile('/m.mcl', 'Http:Server x_ # hi\n\t$y'))
  assert.deepEqual(
    tokens.map(t => [t.kind, t.str ?? t.text, t.span.start.line, t.span.start.col]),
    [
      ['CAPITALIZED_IDENTIFIER', 'http', 1, 1],
      ['COLON', ':', 1, 5],
      ['CAPITALIZED_IDENTIFIER', 'server', 1, 6],
      ['IDENTIFIER', 'x', 1, 13],
      ['ERROR', '_', 1, 14],
      ['NEWLINE', '\n', 1, 20],
      ['DOLLAR', '$', 2, 2],
      ['IDENTIFIER', 'y', 2, 3],
      ['EOF', '', 2, 4],
    ],
  )
  assert.deepEqual(
    comments.map(c => c.text),
    [' hi'],
  )
})

test('strings keep their raw text; a string may span lines', () => {
  const t = lex(new SourceFile('/m.mcl', '"a\\"b\nc" x')).tokens
  assert.equal(t[0]!.str, 'a\\"b\nc')
  assert.deepEqual([t[1]!.span.start.line, t[1]!.span.start.col], [2, 4])
})

test('interpolation: escapes, variables, and literal dollars', () => {
  const cases: [string, unknown[]][] = [
    ['plain', [{ lit: 'plain' }]],
    ['a\\tb\\n', [{ lit: 'a\tb\n' }]],
    ['\\${x}', [{ lit: '${x}' }]],
    ['$$${x}!', [{ lit: '$$' }, { name: 'x' }, { lit: '!' }]],
    ['${a.b.c}', [{ name: 'a.b.c' }]],
    ['$ {x} $', [{ lit: '$ {x} $' }]],
    ['\\\\${x}', [{ lit: '\\' }, { name: 'x' }]],
    ['', [{ lit: '' }]],
    ['${x}${y}', [{ name: 'x' }, { name: 'y' }]],
    ['a\\"${x}\\$\\${y}b', [{ lit: 'a"' }, { name: 'x' }, { lit: '$${y}b' }]],
  ]
  for (const [raw, want] of cases) assert.deepEqual(splitString(raw), want, raw)
  assert.throws(() => splitString('\\q'), /unknown escape sequence: \\q/)
  assert.throws(() => splitString('${}'), /cannot parse string/)
  assert.throws(() => splitString('${f()}'), /cannot parse string/)
  assert.throws(() => splitString('${x'), /cannot parse string/)
  // A bad piece in a string of megabytes quotes its start, not the string.
  assert.throws(
    () => splitString(`${'a'.repeat(10_000_000)}${'${'}`),
    (e: Error) => /^cannot parse string: a{57}\.\.\.$/.test(e.message),
  )
})
