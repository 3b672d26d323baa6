/**
 * Statements. Each starts with a token that says what it is (`$` a bind, a name a resource, a
 * capitalised name an edge, a keyword the rest) and must end with a newline. Blocks are `{`
 * newline-separated statements `}`; `} else {` stays on one line. A resource body holds
 * `field => value,` lines (the comma is required, also after the last one), `Meta:name => v,`,
 * `Meta => struct{...},` and edge properties `Before => Kind[name],`; each may be conditional
 * (`x => cond ?: value,`).
 */
import type {
  Block,
  ClassStmt,
  Edge,
  EdgeHalf,
  Expr,
  ImportStmt,
  IncludeStmt,
  Param,
  Program,
  Res,
  ResItem,
  Stmt,
} from '../ast.js'
import { LangError } from '../errors.js'
import { lex, type Token, type TokenKind } from '../lexer.js'
import { join, pointSpan, type SourceFile } from '../source.js'
import { ExprParser, nameTokens } from './expr.js'

/** Edge properties of a resource body, and what they mean. */
export const edgeProperties = ['before', 'depend', 'notify', 'listen'] as const

/** Parses a whole file. Throws a `LangError` (stage lex or parse). */
export function parse(file: SourceFile): Program {
  const { tokens } = lex(file)
  return new Parser(tokens).program()
}

class Parser extends ExprParser {
  program(): Program {
    const start = this.peek()
    const stmts = this.stmts('EOF')
    return { block: { span: join(start.span, this.peek().span), stmts } }
  }

  /** Statements up to `end` (not consumed), each followed by a newline. */
  private stmts(end: TokenKind): Stmt[] {
    const out: Stmt[] = []
    for (;;) {
      this.skipNewlines()
      if (this.at(end)) return out
      out.push(this.stmt())
      if (this.pending) throw this.pending
      if (!this.at('NEWLINE')) throw this.unexpected(this.peek(), ['NEWLINE'])
    }
  }

  private block(): Block {
    return this.nested(() => {
      const start = this.expect('OPEN_CURLY')
      const stmts = this.stmts('CLOSE_CURLY')
      this.next()
      return { span: this.spanFrom(start), stmts }
    })
  }

  private stmt(): Stmt {
    const t = this.peek()
    switch (t.kind) {
      case 'DOLLAR':
        return this.bind()
      case 'IDENTIFIER':
        return this.resource(t, false)
      case 'COLLECT_IDENTIFIER':
        this.next()
        return this.resource(t, true)
      case 'CAPITALIZED_IDENTIFIER':
        return this.edge()
      case 'IF':
        return this.ifStmt()
      case 'FOR':
      case 'FORKV':
        return this.forStmt()
      case 'FUNC_IDENTIFIER':
        return this.funcStmt()
      case 'CLASS_IDENTIFIER':
        return this.classStmt()
      case 'INCLUDE_IDENTIFIER':
        return this.include()
      case 'IMPORT_IDENTIFIER':
        return this.importStmt()
      case 'PANIC_IDENTIFIER': {
        this.next()
        const args = this.callArgs()
        return { t: 'panic', span: this.spanFrom(t), args }
      }
      default:
        throw this.unexpected(t)
    }
  }

  private bind(): Stmt {
    const start = this.expect('DOLLAR')
    const name = this.expect(...(nameTokens as [TokenKind, ...TokenKind[]]))
    const nameSpan = join(start.span, name.span)
    const type = this.at('EQUALS', 'EQ') ? undefined : this.type()
    if (this.at('EQ'))
      throw this.unexpected(this.peek(), [], 'syntax error: additional equals in bind statement')
    this.expect('EQUALS')
    const value = this.expr()
    return { t: 'bind', span: this.spanFrom(start), name: name.text, nameSpan, type, value }
  }

  /** `a:b:c`, the colon-separated names of a kind or a nested class. */
  private colonName(): string {
    const parts = [this.expect('IDENTIFIER').text]
    while (this.at('COLON') && this.peek(1).kind === 'IDENTIFIER') {
      this.next()
      parts.push(this.next().text)
    }
    return parts.join(':')
  }

  private resource(start: Token, collect: boolean): Res {
    const kindStart = this.peek()
    const kind = this.colonName()
    const kindSpan = this.spanFrom(kindStart)
    const name = this.expr()
    this.expect('OPEN_CURLY')
    const items: ResItem[] = []
    for (;;) {
      if (this.eat('NEWLINE')) continue
      if (this.eat('CLOSE_CURLY')) break
      if (this.at('IDENTIFIER')) items.push(this.field())
      else if (this.at('CAPITALIZED_IDENTIFIER')) items.push(this.property())
      else throw this.unexpected(this.peek(), ['CLOSE_CURLY', 'IDENTIFIER', 'CAPITALIZED_IDENTIFIER'])
    }
    return { t: 'res', span: this.spanFrom(start), kind, kindSpan, name, items, collect }
  }

  /** The comma that ends a resource body line. */
  private itemEnd(): void {
    if (this.eat('COMMA')) return
    const t = this.peek()
    if (t.kind === 'CLOSE_CURLY' || t.kind === 'NEWLINE')
      throw this.unexpected(t, [], 'syntax error: expecting trailing comma')
    throw this.unexpected(t, ['COMMA'])
  }

  private field(): ResItem {
    const name = this.next()
    this.expect('ROCKET')
    let value = this.expr()
    let cond: Expr | undefined
    if (this.eat('ELVIS')) {
      cond = value
      value = this.expr()
    }
    this.itemEnd()
    return { t: 'field', span: this.spanFrom(name), name: name.text, value, cond }
  }

  /** `Meta:name => ...`, `Meta => ...` or an edge property `Before => Kind[name]`. */
  private property(): ResItem {
    const start = this.next()
    const prop = start.str!
    if (this.eat('COLON')) {
      if (prop !== 'meta') throw this.invalidProperty(start)
      const name = this.expect('IDENTIFIER').text
      this.expect('ROCKET')
      let value = this.expr()
      let cond: Expr | undefined
      if (this.eat('ELVIS')) {
        cond = value
        value = this.expr()
      }
      this.itemEnd()
      return { t: 'meta', span: this.spanFrom(start), name: name.toLowerCase(), value, cond }
    }
    this.expect('ROCKET')
    if (this.at('CAPITALIZED_IDENTIFIER')) {
      const half = this.edgeHalf()
      this.itemEnd()
      return this.edgeProperty(start, half)
    }
    const first = this.expr()
    if (this.eat('ELVIS')) {
      if (this.at('CAPITALIZED_IDENTIFIER')) {
        const half = this.edgeHalf()
        this.itemEnd()
        return this.edgeProperty(start, half, first)
      }
      const value = this.expr()
      this.itemEnd()
      if (prop !== 'meta') throw this.invalidProperty(start)
      return { t: 'meta', span: this.spanFrom(start), value, cond: first }
    }
    this.itemEnd()
    if (prop !== 'meta') throw this.invalidProperty(start)
    return { t: 'meta', span: this.spanFrom(start), value: first }
  }

  private edgeProperty(start: Token, half: EdgeHalf, cond?: Expr): ResItem {
    const prop = start.str!
    if (!(edgeProperties as readonly string[]).includes(prop)) throw this.invalidProperty(start)
    if (half.field)
      throw new LangError('parse', 'syntax error: an edge property cannot send or receive', [half.span])
    return { t: 'edge', span: this.spanFrom(start), property: prop, half, cond }
  }

  private invalidProperty(t: Token): LangError {
    return new LangError(
      'parse',
      `invalid resource property \`${t.text}\` (expected Meta, Before, Depend, Notify or Listen)`,
      [pointSpan(t.span.file, t.span.start)],
    )
  }

  /** `Kind:Sub[name]`, optionally followed by `.field` for send/recv. */
  private edgeHalf(): EdgeHalf {
    const start = this.expect('CAPITALIZED_IDENTIFIER')
    const parts = [start.str!]
    while (this.at('COLON') && this.peek(1).kind === 'CAPITALIZED_IDENTIFIER') {
      this.next()
      parts.push(this.next().str!)
    }
    this.expect('OPEN_BRACK')
    const name = this.expr()
    this.expect('CLOSE_BRACK')
    let field: string | undefined
    if (this.eat('DOT')) field = this.expect('IDENTIFIER').text
    return { span: this.spanFrom(start), kind: parts.join(':'), name, field }
  }

  private edge(): Edge {
    const start = this.peek()
    const halves = [this.edgeHalf()]
    while (this.at('ARROW')) {
      const arrow = this.next()
      halves.push(this.edgeHalf())
      const sendRecv = halves.some(h => h.field)
      if (sendRecv && (halves.length > 2 || !halves.every(h => h.field)))
        throw this.unexpected(
          halves.length > 2 ? arrow : this.prev(),
          [],
          'syntax error: a send/recv edge joins exactly two `Kind[name].field` halves',
        )
    }
    if (halves.length === 1 && halves[0]!.field) throw this.unexpected(this.peek(), ['ARROW'])
    return { t: 'edgestmt', span: this.spanFrom(start), halves }
  }

  private ifStmt(): Stmt {
    const start = this.expect('IF')
    const cond = this.expr()
    const then = this.block()
    const otherwise = this.eat('ELSE') ? this.block() : undefined
    return { t: 'if', span: this.spanFrom(start), cond, ifTrue: then, ifFalse: otherwise }
  }

  private forStmt(): Stmt {
    const start = this.next()
    const a = this.loopVar()
    this.expect('COMMA')
    const b = this.loopVar()
    this.expect('IN')
    const expr = this.expr()
    const body = this.block()
    const span = this.spanFrom(start)
    if (start.kind === 'FOR') return { t: 'for', span, index: a, value: b, expr, body }
    return { t: 'forkv', span, key: a, value: b, expr, body }
  }

  private loopVar(): Param {
    const start = this.expect('DOLLAR')
    const name = this.expect(...(nameTokens as [TokenKind, ...TokenKind[]]))
    return { name: name.text, span: join(start.span, name.span) }
  }

  private funcStmt(): Stmt {
    const start = this.expect('FUNC_IDENTIFIER')
    const name = this.expect('IDENTIFIER')
    const params = this.params()
    const ret = this.at('OPEN_CURLY') ? undefined : this.type()
    const body = this.funcBody()
    const span = this.spanFrom(start)
    return { t: 'func', span, name: name.text, fn: { t: 'lambda', span, params, ret, body } }
  }

  private classStmt(): ClassStmt {
    const start = this.expect('CLASS_IDENTIFIER')
    const name = this.colonName()
    const params = this.at('OPEN_PAREN') ? this.params() : undefined
    const body = this.block()
    return { t: 'class', span: this.spanFrom(start), name, params, body }
  }

  private include(): IncludeStmt {
    const start = this.expect('INCLUDE_IDENTIFIER')
    const name = this.dotted()
    const args = this.at('OPEN_PAREN') ? this.callArgs() : []
    const alias = this.eat('AS_IDENTIFIER') ? this.expect('IDENTIFIER').text : undefined
    return { t: 'include', span: this.spanFrom(start), name, args, alias }
  }

  private importStmt(): ImportStmt {
    const start = this.expect('IMPORT_IDENTIFIER')
    const path = this.expect('STRING').str!
    let alias: string | undefined
    if (this.eat('AS_IDENTIFIER'))
      alias = this.eat('MULTIPLY') ? '*' : this.expect('IDENTIFIER', 'MULTIPLY').text
    return { t: 'import', span: this.spanFrom(start), path, alias }
  }
}
