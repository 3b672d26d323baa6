/**
 * The syntax tree of an mcl program. Every node carries its span. Operators are kept as
 * `Operator` nodes (the original desugars them into calls of one `_operator` builtin; the typing
 * rules are the same). Strings are `Str` nodes holding the raw text until the interpolation pass
 * turns them into decoded strings and concatenations.
 */
import type { Span } from './source.js'
import type { Type as TypeExpr } from './types.js'

export type Expr =
  | BoolLit
  | StrLit
  | IntLit
  | FloatLit
  | ListLit
  | MapLit
  | StructLit
  | VarRef
  | Call
  | Operator
  | Lookup
  | StructLookup
  | Lambda
  | IfExpr
  | Except

export interface BoolLit {
  readonly t: 'bool'
  readonly span: Span
  readonly value: boolean
}

export interface StrLit {
  readonly t: 'str'
  readonly span: Span
  /** Decoded once interpolated; the raw text between the quotes before. */
  value: string
  /** Set by the parser; cleared once escapes are decoded. */
  raw?: boolean
}

export interface IntLit {
  readonly t: 'int'
  readonly span: Span
  readonly value: bigint
}

export interface FloatLit {
  readonly t: 'float'
  readonly span: Span
  readonly value: number
}

export interface ListLit {
  readonly t: 'list'
  readonly span: Span
  readonly elems: Expr[]
}

export interface MapEntry {
  key: Expr
  value: Expr
}

export interface MapLit {
  readonly t: 'map'
  readonly span: Span
  readonly entries: MapEntry[]
}

export interface StructField {
  readonly name: string
  readonly span: Span
  value: Expr
}

export interface StructLit {
  readonly t: 'struct'
  readonly span: Span
  readonly fields: StructField[]
}

/** `$name` or `$alias.name`. */
export interface VarRef {
  readonly t: 'var'
  readonly span: Span
  readonly name: string
  /** From a string interpolation of a single variable: typed `str` where a name is expected. */
  readonly interpolated?: boolean
}

export type Callee =
  | { readonly t: 'name'; readonly name: string }
  | { readonly t: 'var'; readonly name: string; readonly span: Span }
  | { readonly t: 'lambda'; readonly fn: Lambda }

/** `f(args)`, `pkg.f(args)`, `$f(args)`, `func(...) {...}(args)`. */
export interface Call {
  readonly t: 'call'
  readonly span: Span
  readonly callee: Callee
  readonly args: Expr[]
}

export type OperatorName =
  | '+'
  | '-'
  | '*'
  | '/'
  | '=='
  | '!='
  | '<'
  | '>'
  | '<='
  | '>='
  | 'and'
  | 'or'
  | 'not'

export interface Operator {
  readonly t: 'op'
  readonly span: Span
  readonly op: OperatorName
  readonly args: Expr[]
}

/** `container[index]`: a list index or a map key. */
export interface Lookup {
  readonly t: 'lookup'
  readonly span: Span
  container: Expr
  index: Expr
}

/** `st->field`, or `st->field <|> default` (a field that may be missing from the struct type). */
export interface StructLookup {
  readonly t: 'structlookup'
  readonly span: Span
  struct: Expr
  readonly field: string
  optional?: Expr
}

export interface Param {
  readonly name: string
  readonly span: Span
  readonly type?: TypeExpr
}

export interface Lambda {
  readonly t: 'lambda'
  readonly span: Span
  readonly params: Param[]
  readonly ret?: TypeExpr
  body: Expr
}

export interface IfExpr {
  readonly t: 'ifexpr'
  readonly span: Span
  cond: Expr
  ifTrue: Expr
  ifFalse: Expr
}

/** `a <|> b`: b when a fails with a catchable error. */
export interface Except {
  readonly t: 'except'
  readonly span: Span
  expr: Expr
  except: Expr
}

export type Stmt =
  | Bind
  | Res
  | Edge
  | IfStmt
  | ForStmt
  | ForKVStmt
  | FuncStmt
  | ClassStmt
  | IncludeStmt
  | ImportStmt
  | PanicStmt

export interface Block {
  readonly span: Span
  stmts: Stmt[]
}

export interface Bind {
  readonly t: 'bind'
  readonly span: Span
  readonly name: string
  readonly nameSpan: Span
  readonly type?: TypeExpr
  value: Expr
}

export interface ResField {
  readonly t: 'field'
  readonly span: Span
  readonly name: string
  value: Expr
  cond?: Expr
}

export interface EdgeHalf {
  readonly span: Span
  /** Lowercased: `http:server`. */
  readonly kind: string
  name: Expr
  /** Send/recv: the sender's key or the receiver's param. */
  readonly field?: string
}

/** `Before => Kind[name]`, `Depend`, `Notify`, `Listen`. */
export interface ResEdge {
  readonly t: 'edge'
  readonly span: Span
  readonly property: string
  readonly half: EdgeHalf
  cond?: Expr
}

/** `Meta:name => value` (`name` set) or `Meta => struct{...}` (`name` undefined). */
export interface ResMeta {
  readonly t: 'meta'
  readonly span: Span
  readonly name?: string
  value: Expr
  cond?: Expr
}

export type ResItem = ResField | ResEdge | ResMeta

export interface Res {
  readonly t: 'res'
  readonly span: Span
  readonly kind: string
  readonly kindSpan: Span
  name: Expr
  readonly items: ResItem[]
  readonly collect: boolean
}

/** `A[n] -> B[n] -> ...` or `A[n].send -> B[n].recv`. */
export interface Edge {
  readonly t: 'edgestmt'
  readonly span: Span
  readonly halves: EdgeHalf[]
}

export interface IfStmt {
  readonly t: 'if'
  readonly span: Span
  cond: Expr
  readonly ifTrue: Block
  readonly ifFalse?: Block
}

export interface ForStmt {
  readonly t: 'for'
  readonly span: Span
  readonly index: Param
  readonly value: Param
  expr: Expr
  readonly body: Block
}

export interface ForKVStmt {
  readonly t: 'forkv'
  readonly span: Span
  readonly key: Param
  readonly value: Param
  expr: Expr
  readonly body: Block
}

export interface FuncStmt {
  readonly t: 'func'
  readonly span: Span
  readonly name: string
  readonly fn: Lambda
}

export interface ClassStmt {
  readonly t: 'class'
  readonly span: Span
  /** The name; `a:b` nests `b` inside class `a` (undone by the interpolation pass). */
  name: string
  readonly params?: Param[]
  readonly body: Block
}

export interface IncludeStmt {
  readonly t: 'include'
  readonly span: Span
  readonly name: string
  readonly args: Expr[]
  readonly alias?: string
}

export interface ImportStmt {
  readonly t: 'import'
  readonly span: Span
  readonly path: string
  /** `as x`; `*` merges the names. */
  readonly alias?: string
}

/** `panic(x)` / `panic(x, msg)`: fatal when x is true or a non-empty string. */
export interface PanicStmt {
  readonly t: 'panic'
  readonly span: Span
  readonly args: Expr[]
}

export interface Program {
  readonly block: Block
}
