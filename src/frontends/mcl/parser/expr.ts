/**
 * Expressions and types, by precedence climbing. Lowest first: `<|>`, `or`, `and`, the
 * comparisons and `in` (non-associative), `+ -`, `* /`, prefix `not`, then the postfix `[i]` and
 * `->field`. `st->field <|> default` directly after a lookup is the optional field lookup.
 *
 * Comma lists have exactly two shapes, as in the original: all on one line with no trailing comma,
 * or a newline right after the opening bracket and then one item per line, each followed by a
 * comma. `each` parses both.
 */
import type { Call, Callee, Expr, Lambda, MapEntry, OperatorName, Param, StructField } from '../ast.js'
import { LangError } from '../errors.js'
import type { Token, TokenKind } from '../lexer.js'
import { join, pointSpan } from '../source.js'
import { type Field, T, type Type, typeString } from '../types.js'
import { TokenStream } from './tokens.js'

/**
 * The deepest a program's syntax tree may be. Every later stage walks the tree recursively, and
 * a thousand nested brackets exhaust the stack of some; programs written by hand stay far below.
 */
export const MAX_NESTING = 256

const comparisons: Partial<Record<TokenKind, OperatorName | 'in'>> = {
  EQ: '==',
  NEQ: '!=',
  LT: '<',
  GT: '>',
  LTE: '<=',
  GTE: '>=',
  IN: 'in',
}

/** Tokens that start a type. */
const typeStarts: readonly TokenKind[] = [
  'BOOL_IDENTIFIER',
  'STR_IDENTIFIER',
  'INT_IDENTIFIER',
  'FLOAT_IDENTIFIER',
  'OPEN_BRACK',
  'MAP_IDENTIFIER',
  'STRUCT_IDENTIFIER',
  'FUNC_IDENTIFIER',
  'VARIANT_IDENTIFIER',
]

/** Names allowed where a plain name is expected: `$map`, `iter.map`, `collect.res`. */
export const nameTokens: readonly TokenKind[] = ['MAP_IDENTIFIER', 'IDENTIFIER', 'COLLECT_IDENTIFIER']

export class ExprParser extends TokenStream {
  /** An error found inside a type, reported at the end of its statement. */
  protected pending: LangError | undefined
  /** How deep the tree being built is here: brackets, blocks, types and chains of operators. */
  #depth = 0

  /** `f()` one level deeper; past MAX_NESTING, an error at the token where that level starts. */
  protected nested<T>(f: () => T): T {
    this.deeper(this.peek(), 1)
    this.#depth++
    try {
      return f()
    } finally {
      this.#depth--
    }
  }

  /** Throws when `more` levels below this one pass MAX_NESTING (`at`: the token that does). */
  protected deeper(at: Token, more: number): void {
    if (this.#depth + more <= MAX_NESTING) return
    throw new LangError(
      'parse',
      `the program nests more than ${MAX_NESTING} levels deep here (brackets, blocks, or operators in a ` +
        'row): split the expression with variables',
      [pointSpan(at.span.file, at.span.start)],
    )
  }

  expr(): Expr {
    return this.nested(() => this.except())
  }

  private except(): Expr {
    let left = this.or()
    for (let n = 1; this.at('EXCEPT'); n++) {
      this.deeper(this.next(), n)
      const right = this.or()
      left = { t: 'except', span: join(left.span, right.span), expr: left, except: right }
    }
    return left
  }

  private or(): Expr {
    let left = this.and()
    for (let n = 1; this.at('OR'); n++) {
      this.deeper(this.next(), n)
      const right = this.and()
      left = { t: 'op', span: join(left.span, right.span), op: 'or', args: [left, right] }
    }
    return left
  }

  private and(): Expr {
    let left = this.comparison()
    for (let n = 1; this.at('AND'); n++) {
      this.deeper(this.next(), n)
      const right = this.comparison()
      left = { t: 'op', span: join(left.span, right.span), op: 'and', args: [left, right] }
    }
    return left
  }

  private comparison(): Expr {
    const left = this.additive()
    const op = comparisons[this.peek().kind]
    if (!op) return left
    this.next()
    const right = this.additive()
    if (comparisons[this.peek().kind]) throw this.unexpected(this.peek())
    const span = join(left.span, right.span)
    if (op === 'in') return { t: 'call', span, callee: { t: 'name', name: 'contains' }, args: [left, right] }
    return { t: 'op', span, op, args: [left, right] }
  }

  private additive(): Expr {
    let left = this.multiplicative()
    for (let n = 1; this.at('PLUS', 'MINUS'); n++) {
      const t = this.next()
      this.deeper(t, n)
      const op = t.kind === 'PLUS' ? '+' : '-'
      const right = this.multiplicative()
      left = { t: 'op', span: join(left.span, right.span), op, args: [left, right] }
    }
    return left
  }

  private multiplicative(): Expr {
    let left = this.unary()
    for (let n = 1; this.at('MULTIPLY', 'DIVIDE'); n++) {
      const t = this.next()
      this.deeper(t, n)
      const op = t.kind === 'MULTIPLY' ? '*' : '/'
      const right = this.unary()
      left = { t: 'op', span: join(left.span, right.span), op, args: [left, right] }
    }
    return left
  }

  private unary(): Expr {
    if (this.at('NOT')) {
      const start = this.next()
      const operand = this.nested(() => this.unary())
      return { t: 'op', span: join(start.span, operand.span), op: 'not', args: [operand] }
    }
    return this.postfix()
  }

  private postfix(): Expr {
    let e = this.primary()
    for (let n = 1; ; n++) {
      if (this.at('OPEN_BRACK', 'ARROW')) this.deeper(this.peek(), n)
      if (this.at('OPEN_BRACK')) {
        this.next()
        const index = this.expr()
        const close = this.expect('CLOSE_BRACK')
        e = { t: 'lookup', span: join(e.span, close.span), container: e, index }
      } else if (this.at('ARROW')) {
        this.next()
        const field = this.expect('IDENTIFIER')
        e = { t: 'structlookup', span: join(e.span, field.span), struct: e, field: field.text }
        if (this.at('EXCEPT')) {
          this.next()
          const dflt = this.or()
          e = { ...e, span: join(e.span, dflt.span), optional: dflt }
        }
      } else return e
    }
  }

  private primary(): Expr {
    const t = this.peek()
    switch (t.kind) {
      case 'BOOL':
        this.next()
        return { t: 'bool', span: t.span, value: t.bool! }
      case 'STRING':
        this.next()
        return { t: 'str', span: t.span, value: t.str!, raw: true }
      case 'INTEGER':
        this.next()
        return { t: 'int', span: t.span, value: t.int! }
      case 'FLOAT':
        this.next()
        return { t: 'float', span: t.span, value: t.float! }
      case 'OPEN_BRACK':
        return this.list()
      case 'OPEN_CURLY':
        return this.map()
      case 'STRUCT_IDENTIFIER':
        return this.struct()
      case 'DOLLAR': {
        const start = this.next()
        const name = this.dotted()
        const span = this.spanFrom(start)
        if (this.at('OPEN_PAREN')) return this.call(start, { t: 'var', name, span })
        return { t: 'var', span, name }
      }
      case 'IDENTIFIER':
      case 'MAP_IDENTIFIER':
      case 'COLLECT_IDENTIFIER': {
        const name = this.dotted()
        if (!this.at('OPEN_PAREN')) throw this.unexpected(this.peek(), ['OPEN_PAREN'])
        return this.call(t, { t: 'name', name })
      }
      case 'FUNC_IDENTIFIER': {
        const fn = this.lambda()
        if (this.at('OPEN_PAREN')) return this.call(t, { t: 'lambda', fn })
        return fn
      }
      case 'IF':
        return this.ifExpr()
      case 'OPEN_PAREN': {
        this.next()
        const inner = this.expr()
        this.expect('CLOSE_PAREN')
        return inner
      }
      default:
        throw this.unexpected(t)
    }
  }

  /** `a.b.c` of names (`map` and `collect` allowed). */
  protected dotted(): string {
    const parts = [this.expect(...(nameTokens as [TokenKind, ...TokenKind[]])).text]
    while (this.at('DOT')) {
      this.next()
      parts.push(this.expect(...(nameTokens as [TokenKind, ...TokenKind[]])).text)
    }
    return parts.join('.')
  }

  private call(start: Token, callee: Callee): Call {
    const args = this.callArgs()
    return { t: 'call', span: this.spanFrom(start), callee, args }
  }

  /** `(a, b)` or the multi-line form. */
  protected callArgs(): Expr[] {
    return this.each('OPEN_PAREN', 'CLOSE_PAREN', () => this.expr())
  }

  /**
   * A comma list between `open` and `close`, in its one-line or its multi-line shape.
   * `itemStarts`, when given, names what may start an item (for the error messages).
   */
  protected each<X>(open: TokenKind, close: TokenKind, item: () => X, itemStarts: TokenKind[] = []): X[] {
    this.expect(open)
    const out: X[] = []
    if (this.eat('NEWLINE')) {
      for (;;) {
        if (this.eat('NEWLINE')) continue
        if (this.eat(close)) return out
        if (itemStarts.length && !this.at(...itemStarts))
          throw this.unexpected(this.peek(), ['NEWLINE', close, ...itemStarts])
        out.push(item())
        this.expect('COMMA')
        this.expect('NEWLINE')
      }
    }
    if (this.eat(close)) return out
    if (itemStarts.length && !this.at(...itemStarts))
      throw this.unexpected(this.peek(), ['NEWLINE', close, ...itemStarts])
    out.push(item())
    while (!this.at(close)) {
      if (!this.at('COMMA')) throw this.unexpected(this.peek(), [close, 'COMMA'])
      this.next()
      if (itemStarts.length && !this.at(...itemStarts)) throw this.unexpected(this.peek(), itemStarts)
      out.push(item())
    }
    this.next()
    return out
  }

  private list(): Expr {
    const start = this.peek()
    const elems = this.each('OPEN_BRACK', 'CLOSE_BRACK', () => this.expr())
    return { t: 'list', span: this.spanFrom(start), elems }
  }

  private map(): Expr {
    const start = this.peek()
    const entries = this.each('OPEN_CURLY', 'CLOSE_CURLY', (): MapEntry => {
      const key = this.expr()
      this.expect('ROCKET')
      return { key, value: this.expr() }
    })
    return { t: 'map', span: this.spanFrom(start), entries }
  }

  private struct(): Expr {
    const start = this.next()
    const fields = this.each(
      'OPEN_CURLY',
      'CLOSE_CURLY',
      (): StructField => {
        const name = this.expect('IDENTIFIER')
        this.expect('ROCKET')
        const value = this.expr()
        return { name: name.text, span: join(name.span, value.span), value }
      },
      ['IDENTIFIER'],
    )
    return { t: 'struct', span: this.spanFrom(start), fields }
  }

  /** `func(params) [type] { expr }`. */
  protected lambda(): Lambda {
    const start = this.expect('FUNC_IDENTIFIER')
    const params = this.params()
    const ret = this.at('OPEN_CURLY') ? undefined : this.type()
    const body = this.funcBody()
    return { t: 'lambda', span: this.spanFrom(start), params, ret, body }
  }

  /** `{` newlines, one expression, newlines `}`. */
  protected funcBody(): Expr {
    this.expect('OPEN_CURLY')
    this.skipNewlines()
    const body = this.expr()
    this.skipNewlines()
    this.expect('CLOSE_CURLY')
    return body
  }

  protected params(): Param[] {
    return this.each('OPEN_PAREN', 'CLOSE_PAREN', () => this.param(), ['DOLLAR'])
  }

  private param(): Param {
    const start = this.expect('DOLLAR')
    const name = this.expect(...(nameTokens as [TokenKind, ...TokenKind[]]))
    const type = this.at(...typeStarts) ? this.type() : undefined
    return { name: name.text, span: type ? this.spanFrom(start) : join(start.span, name.span), type }
  }

  private ifExpr(): Expr {
    const start = this.expect('IF')
    const cond = this.expr()
    const then = this.funcBody()
    this.expect('ELSE')
    const otherwise = this.funcBody()
    return { t: 'ifexpr', span: this.spanFrom(start), cond, ifTrue: then, ifFalse: otherwise }
  }

  /** A type: `bool`, `[]str`, `map{str: int}`, `struct{a int; b str}`, `func(str) bool`, `variant`. */
  protected type(): Type {
    return this.nested(() => this.typeHere())
  }

  private typeHere(): Type {
    const t = this.next()
    switch (t.kind) {
      case 'BOOL_IDENTIFIER':
        return T.bool
      case 'STR_IDENTIFIER':
        return T.str
      case 'INT_IDENTIFIER':
        return T.int
      case 'FLOAT_IDENTIFIER':
        return T.float
      case 'VARIANT_IDENTIFIER':
        return T.variant
      case 'OPEN_BRACK':
        this.expect('CLOSE_BRACK')
        return T.list(this.type())
      case 'MAP_IDENTIFIER': {
        this.expect('OPEN_CURLY')
        const key = this.type()
        this.expect('COLON')
        const val = this.type()
        this.expect('CLOSE_CURLY')
        return T.map(key, val)
      }
      case 'STRUCT_IDENTIFIER':
        return this.structType()
      case 'FUNC_IDENTIFIER': {
        const args = this.each('OPEN_PAREN', 'CLOSE_PAREN', (): Field => {
          if (this.eat('DOLLAR')) {
            const name = this.expect(...(nameTokens as [TokenKind, ...TokenKind[]])).text
            return { name, type: this.type() }
          }
          return { name: '', type: this.type() }
        })
        return T.func(args, this.type())
      }
      default:
        throw this.unexpected(t)
    }
  }

  private structType(): Type {
    this.expect('OPEN_CURLY')
    const fields: Field[] = []
    if (!this.at('CLOSE_CURLY'))
      for (;;) {
        if (!this.at('IDENTIFIER')) throw this.unexpected(this.peek(), ['CLOSE_CURLY', 'IDENTIFIER'])
        const name = this.next().text
        fields.push({ name, type: this.type() })
        if (!this.eat('SEMICOLON')) break
      }
    const close = this.expect('CLOSE_CURLY')
    const seen = new Set<string>()
    for (const f of fields) {
      // Reported once the statement is complete, as the original does.
      if (seen.has(f.name))
        this.pending ??= new LangError(
          'parse',
          `duplicate struct field of \`${f.name} ${typeString(f.type)}\``,
          [close.span],
        )
      seen.add(f.name)
    }
    return T.struct(fields)
  }
}
