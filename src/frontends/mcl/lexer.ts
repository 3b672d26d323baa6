/**
 * The mcl lexer. Rules of the original, kept exactly: the longest match wins and ties go to the
 * earlier rule (so `for` is a keyword but `format` a name, `int` a type but `index` a name); a
 * `-` directly followed by a digit belongs to the number (`3-1` is `3` `-1`); capitalised names
 * are lowercased (`File` is the kind `file`); newlines are tokens; `#` starts a comment to the end
 * of the line, kept on a side list. Strings keep their raw text: escapes are decoded later, with
 * interpolation. A lexical error becomes an `ERROR` token, reported when the parser reaches it.
 */
import { cut, type Pos, pointSpan, type SourceFile, type Span } from './source.js'

export type TokenKind =
  | 'NEWLINE'
  | 'OPEN_CURLY'
  | 'CLOSE_CURLY'
  | 'OPEN_PAREN'
  | 'CLOSE_PAREN'
  | 'OPEN_BRACK'
  | 'CLOSE_BRACK'
  | 'COMMA'
  | 'COLON'
  | 'SEMICOLON'
  | 'EQUALS'
  | 'DOT'
  | 'DOLLAR'
  | 'ELVIS'
  | 'EXCEPT'
  | 'ROCKET'
  | 'ARROW'
  | 'PLUS'
  | 'MINUS'
  | 'MULTIPLY'
  | 'DIVIDE'
  | 'EQ'
  | 'NEQ'
  | 'LT'
  | 'GT'
  | 'LTE'
  | 'GTE'
  | 'AND'
  | 'OR'
  | 'NOT'
  | 'IN'
  | 'IF'
  | 'ELSE'
  | 'FOR'
  | 'FORKV'
  | 'BOOL_IDENTIFIER'
  | 'STR_IDENTIFIER'
  | 'INT_IDENTIFIER'
  | 'FLOAT_IDENTIFIER'
  | 'MAP_IDENTIFIER'
  | 'STRUCT_IDENTIFIER'
  | 'VARIANT_IDENTIFIER'
  | 'FUNC_IDENTIFIER'
  | 'CLASS_IDENTIFIER'
  | 'INCLUDE_IDENTIFIER'
  | 'IMPORT_IDENTIFIER'
  | 'AS_IDENTIFIER'
  | 'PANIC_IDENTIFIER'
  | 'COLLECT_IDENTIFIER'
  | 'BOOL'
  | 'STRING'
  | 'INTEGER'
  | 'FLOAT'
  | 'IDENTIFIER'
  | 'CAPITALIZED_IDENTIFIER'
  | 'ERROR'
  | 'EOF'

export interface Token {
  readonly kind: TokenKind
  /** The text as written. */
  readonly text: string
  readonly span: Span
  /** STRING: the raw text between the quotes; CAPITALIZED_IDENTIFIER: lowercased. */
  readonly str?: string
  readonly int?: bigint
  readonly float?: number
  readonly bool?: boolean
  /** ERROR: what is wrong. */
  readonly error?: string
}

export interface Comment {
  readonly text: string
  readonly span: Span
}

/** Fixed spellings, longest first within a shared prefix. */
const symbols: readonly (readonly [string, TokenKind])[] = [
  ['<|>', 'EXCEPT'],
  ['?:', 'ELVIS'],
  ['=>', 'ROCKET'],
  ['==', 'EQ'],
  ['!=', 'NEQ'],
  ['<=', 'LTE'],
  ['>=', 'GTE'],
  ['->', 'ARROW'],
  ['{', 'OPEN_CURLY'],
  ['}', 'CLOSE_CURLY'],
  ['(', 'OPEN_PAREN'],
  [')', 'CLOSE_PAREN'],
  ['[', 'OPEN_BRACK'],
  [']', 'CLOSE_BRACK'],
  [',', 'COMMA'],
  [':', 'COLON'],
  [';', 'SEMICOLON'],
  ['=', 'EQUALS'],
  ['+', 'PLUS'],
  ['-', 'MINUS'],
  ['*', 'MULTIPLY'],
  ['/', 'DIVIDE'],
  ['<', 'LT'],
  ['>', 'GT'],
  ['.', 'DOT'],
  ['$', 'DOLLAR'],
]

export const keywords: Readonly<Record<string, TokenKind>> = {
  if: 'IF',
  else: 'ELSE',
  for: 'FOR',
  forkv: 'FORKV',
  and: 'AND',
  or: 'OR',
  not: 'NOT',
  in: 'IN',
  bool: 'BOOL_IDENTIFIER',
  str: 'STR_IDENTIFIER',
  int: 'INT_IDENTIFIER',
  float: 'FLOAT_IDENTIFIER',
  map: 'MAP_IDENTIFIER',
  struct: 'STRUCT_IDENTIFIER',
  variant: 'VARIANT_IDENTIFIER',
  func: 'FUNC_IDENTIFIER',
  class: 'CLASS_IDENTIFIER',
  include: 'INCLUDE_IDENTIFIER',
  import: 'IMPORT_IDENTIFIER',
  as: 'AS_IDENTIFIER',
  panic: 'PANIC_IDENTIFIER',
  collect: 'COLLECT_IDENTIFIER',
  true: 'BOOL',
  false: 'BOOL',
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9'
const isLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z'
const isUpper = (c: string | undefined): boolean => c !== undefined && c >= 'A' && c <= 'Z'
const isNameChar = (c: string | undefined): boolean => isLower(c) || isDigit(c) || c === '_'

export interface Lexed {
  readonly tokens: Token[]
  readonly comments: Comment[]
}

/** Splits a whole file into tokens; the list always ends with `EOF`. */
export function lex(file: SourceFile): Lexed {
  const text = file.text
  const tokens: Token[] = []
  const comments: Comment[] = []
  let i = 0
  let line = 1
  let col = 1
  const here = (): Pos => ({ line, col, offset: i })
  /** Advances over `n` characters, counting lines. */
  const advance = (n: number): void => {
    for (let k = 0; k < n; k++) {
      if (text[i] === '\n') {
        line++
        col = 1
        // A column counts characters: the second half of a surrogate pair is not one.
      } else if (!isLowSurrogate(text.charCodeAt(i))) col++
      i++
    }
  }
  const push = (kind: TokenKind, start: Pos, extra: Partial<Token> = {}): void => {
    tokens.push({ kind, text: text.slice(start.offset, i), span: { file, start, end: here() }, ...extra })
  }
  while (i < text.length) {
    const c = text[i]!
    const start = here()
    if (c === ' ' || c === '\t') {
      advance(1)
      continue
    }
    if (c === '\n') {
      advance(1)
      push('NEWLINE', start)
      continue
    }
    if (c === '#') {
      let j = i
      while (j < text.length && text[j] !== '\n') j++
      advance(j - i)
      comments.push({ text: text.slice(start.offset + 1, i), span: { file, start, end: here() } })
      continue
    }
    if (c === '"') {
      const len = stringLength(text, i)
      if (len < 0) {
        advance(1)
        push('ERROR', start, { error: 'unterminated string' })
        return { tokens: [...tokens, eof(file, here())], comments }
      }
      advance(len)
      push('STRING', start, { str: text.slice(start.offset + 1, i - 1) })
      continue
    }
    if (isDigit(c) || (c === '-' && isDigit(text[i + 1]))) {
      let j = c === '-' ? i + 1 : i
      while (isDigit(text[j])) j++
      const isFloat = text[j] === '.' && isDigit(text[j + 1])
      if (isFloat) {
        j++
        while (isDigit(text[j])) j++
      }
      const s = text.slice(i, j)
      advance(j - i)
      if (isFloat) {
        const f = Number(s)
        if (!Number.isFinite(f))
          push('ERROR', start, { error: `float: overflow: \`${cut(s)}\``, span: pointSpan(file, start) })
        else push('FLOAT', start, { float: f })
      } else {
        const n = BigInt(s)
        if (n < INT64_MIN || n > INT64_MAX)
          push('ERROR', start, { error: `integer: overflow: \`${cut(s)}\``, span: pointSpan(file, start) })
        else push('INTEGER', start, { int: n })
      }
      continue
    }
    if (isLower(c) || isUpper(c)) {
      const len = nameLength(text, i)
      const word = text.slice(i, i + len)
      advance(len)
      if (isUpper(c)) push('CAPITALIZED_IDENTIFIER', start, { str: word.toLowerCase() })
      else if (word in keywords) {
        const kind = keywords[word]!
        push(kind, start, kind === 'BOOL' ? { bool: word === 'true' } : {})
      } else push('IDENTIFIER', start)
      continue
    }
    const sym = symbols.find(([s]) => text.startsWith(s, i))
    if (sym) {
      advance(sym[0].length)
      push(sym[1], start)
      continue
    }
    advance(1)
    push('ERROR', start, {
      error: c === '\r' ? 'unrecognized carriage return' : `unrecognized: \`${c}\``,
    })
  }
  tokens.push(eof(file, here()))
  return { tokens, comments }
}

const eof = (file: SourceFile, p: Pos): Token => ({ kind: 'EOF', text: '', span: { file, start: p, end: p } })

/**
 * The length of a name at `i`: `[a-z]([a-z0-9_]*[a-z0-9]+)?` (or capitalised); a trailing `_` is
 * not part of it.
 */
function nameLength(text: string, i: number): number {
  let j = i + 1
  while (isNameChar(text[j])) j++
  while (j > i + 1 && text[j - 1] === '_') j--
  return j - i
}

/**
 * The length of the string literal at `i` including its quotes, or -1 when it never ends. A
 * backslash escapes the next character; should that leave the string unterminated, the longest
 * match reading the backslash as a plain character is taken instead.
 */
function stringLength(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') {
      j++
      continue
    }
    if (text[j] === '"') return j + 1 - i
  }
  const close = text.indexOf('"', i + 1)
  return close < 0 ? -1 : close + 1 - i
}
