/**
 * The token cursor shared by the expression and statement parsers, and their error reporting: a
 * syntax error points at the offending token (a one-character span, as the original's bylines
 * do) and says what it found and, where known, what was expected.
 */
import { LangError } from '../errors.js'
import type { Token, TokenKind } from '../lexer.js'
import { cut, join, pointSpan, type Span } from '../source.js'

/** How a token kind reads in a message. */
const spelled: Partial<Record<TokenKind, string>> = {
  NEWLINE: 'newline',
  EOF: 'end of file',
  OPEN_CURLY: '`{`',
  CLOSE_CURLY: '`}`',
  OPEN_PAREN: '`(`',
  CLOSE_PAREN: '`)`',
  OPEN_BRACK: '`[`',
  CLOSE_BRACK: '`]`',
  COMMA: '`,`',
  COLON: '`:`',
  SEMICOLON: '`;`',
  EQUALS: '`=`',
  DOT: '`.`',
  DOLLAR: '`$`',
  ELVIS: '`?:`',
  EXCEPT: '`<|>`',
  ROCKET: '`=>`',
  ARROW: '`->`',
  STRING: 'a string',
  INTEGER: 'an integer',
  FLOAT: 'a float',
  IDENTIFIER: 'a name',
  CAPITALIZED_IDENTIFIER: 'a capitalised name',
  MAP_IDENTIFIER: '`map`',
  COLLECT_IDENTIFIER: '`collect`',
}

/** A hint for the mistakes that the grammar's quirks invite. */
function hint(t: Token): string {
  if ((t.kind === 'INTEGER' || t.kind === 'FLOAT') && t.text.startsWith('-'))
    return ' (a `-` directly before a digit belongs to the number: write `a - 1`)'
  if (t.kind === 'ELSE') return ' (`} else {` must be on one line)'
  if (t.kind === 'IN') return ' (`in` is a keyword: it cannot name a variable)'
  if (['EQ', 'NEQ', 'LT', 'GT', 'LTE', 'GTE'].includes(t.kind)) return ' (comparisons do not chain)'
  return ''
}

/** `unexpected `]`` style: the token's text for symbols and words, a description otherwise. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'NEWLINE':
    case 'EOF':
      return spelled[t.kind]!
    case 'STRING':
      return `string ${t.text.length > 30 ? `${t.text.slice(0, 27)}..."` : t.text}`
    case 'INTEGER':
    case 'FLOAT':
      return `number \`${cut(t.text)}\``
    case 'IDENTIFIER':
    case 'CAPITALIZED_IDENTIFIER':
      return `name \`${cut(t.text)}\``
    default:
      return /^[a-z]+$/.test(t.text) ? `keyword \`${t.text}\`` : `\`${t.text}\``
  }
}

export const describeKind = (k: TokenKind): string => spelled[k] ?? `\`${k.toLowerCase()}\``

export class TokenStream {
  protected i = 0
  constructor(protected readonly tokens: readonly Token[]) {}

  /** The token `k` ahead; a lexical error is reported as soon as the parser needs that token. */
  protected peek(k = 0): Token {
    const t = this.tokens[Math.min(this.i + k, this.tokens.length - 1)]!
    if (t.kind === 'ERROR')
      throw new LangError('lex', t.error ?? 'unrecognized', [pointSpan(t.span.file, t.span.start)])
    return t
  }

  protected at(...kinds: TokenKind[]): boolean {
    return kinds.includes(this.peek().kind)
  }

  protected next(): Token {
    const t = this.peek()
    if (t.kind !== 'EOF') this.i++
    return t
  }

  /** The previous token (the last one consumed). */
  protected prev(): Token {
    return this.tokens[Math.max(0, this.i - 1)]!
  }

  protected eat(kind: TokenKind): Token | undefined {
    return this.at(kind) ? this.next() : undefined
  }

  /** The next token, which must be one of `kinds`. */
  protected expect(...kinds: TokenKind[]): Token {
    if (this.at(...kinds)) return this.next()
    throw this.unexpected(this.peek(), kinds)
  }

  protected skipNewlines(): void {
    while (this.at('NEWLINE')) this.next()
  }

  /** The syntax error for `t`, naming what would have been accepted. */
  protected unexpected(t: Token, expecting: readonly TokenKind[] = [], reason?: string): LangError {
    const want = expecting.length
      ? `, expecting ${[...new Set(expecting.map(describeKind))].join(' or ')}`
      : ''
    return new LangError('parse', reason ?? `syntax error: unexpected ${describeToken(t)}${want}${hint(t)}`, [
      pointSpan(t.span.file, t.span.start),
    ])
  }

  /** The span from `start` to the last consumed token. */
  protected spanFrom(start: Token): Span {
    return join(start.span, this.prev().span)
  }
}
