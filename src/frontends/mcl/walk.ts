/**
 * Traversals of the syntax tree: every expression of a block (deeply, children before parents),
 * with the chance to replace it, and every statement.
 */
import type { Block, EdgeHalf, Expr, Stmt } from './ast.js'

export type ExprFn = (e: Expr) => Expr

/** Replaces, bottom-up, every expression under `e` (and `e` itself) by `f` of it. */
export function mapExpr(e: Expr, f: ExprFn): Expr {
  switch (e.t) {
    case 'list':
      for (let i = 0; i < e.elems.length; i++) e.elems[i] = mapExpr(e.elems[i]!, f)
      break
    case 'map':
      for (const kv of e.entries) {
        kv.key = mapExpr(kv.key, f)
        kv.value = mapExpr(kv.value, f)
      }
      break
    case 'struct':
      for (const fl of e.fields) fl.value = mapExpr(fl.value, f)
      break
    case 'call':
      if (e.callee.t === 'lambda') mapExpr(e.callee.fn, f)
      for (let i = 0; i < e.args.length; i++) e.args[i] = mapExpr(e.args[i]!, f)
      break
    case 'op':
      for (let i = 0; i < e.args.length; i++) e.args[i] = mapExpr(e.args[i]!, f)
      break
    case 'lookup':
      e.container = mapExpr(e.container, f)
      e.index = mapExpr(e.index, f)
      break
    case 'structlookup':
      e.struct = mapExpr(e.struct, f)
      if (e.optional) e.optional = mapExpr(e.optional, f)
      break
    case 'lambda':
      e.body = mapExpr(e.body, f)
      break
    case 'ifexpr':
      e.cond = mapExpr(e.cond, f)
      e.ifTrue = mapExpr(e.ifTrue, f)
      e.ifFalse = mapExpr(e.ifFalse, f)
      break
    case 'except':
      e.expr = mapExpr(e.expr, f)
      e.except = mapExpr(e.except, f)
      break
    default:
      break
  }
  return f(e)
}

const mapHalf = (h: EdgeHalf, f: ExprFn): void => {
  h.name = mapExpr(h.name, f)
}

/** Applies `mapExpr` to every expression of every statement of `b`, nested blocks included. */
export function mapBlockExprs(b: Block, f: ExprFn): void {
  for (const s of b.stmts) mapStmtExprs(s, f)
}

export function mapStmtExprs(s: Stmt, f: ExprFn): void {
  switch (s.t) {
    case 'bind':
      s.value = mapExpr(s.value, f)
      return
    case 'res':
      s.name = mapExpr(s.name, f)
      for (const item of s.items) {
        if (item.cond) item.cond = mapExpr(item.cond, f)
        if (item.t === 'edge') mapHalf(item.half, f)
        else item.value = mapExpr(item.value, f)
      }
      return
    case 'edgestmt':
      for (const h of s.halves) mapHalf(h, f)
      return
    case 'if':
      s.cond = mapExpr(s.cond, f)
      mapBlockExprs(s.ifTrue, f)
      if (s.ifFalse) mapBlockExprs(s.ifFalse, f)
      return
    case 'for':
    case 'forkv':
      s.expr = mapExpr(s.expr, f)
      mapBlockExprs(s.body, f)
      return
    case 'func':
      mapExpr(s.fn, f)
      return
    case 'class':
      mapBlockExprs(s.body, f)
      return
    case 'include':
    case 'panic':
      for (let i = 0; i < s.args.length; i++) s.args[i] = mapExpr(s.args[i]!, f)
      return
    case 'import':
      return
  }
}

/** Every expression directly or deeply inside `e`, in source order, `e` first. */
export function* exprsOf(e: Expr): Iterable<Expr> {
  yield e
  switch (e.t) {
    case 'list':
      for (const x of e.elems) yield* exprsOf(x)
      return
    case 'map':
      for (const kv of e.entries) {
        yield* exprsOf(kv.key)
        yield* exprsOf(kv.value)
      }
      return
    case 'struct':
      for (const fl of e.fields) yield* exprsOf(fl.value)
      return
    case 'call':
      if (e.callee.t === 'lambda') yield* exprsOf(e.callee.fn)
      for (const x of e.args) yield* exprsOf(x)
      return
    case 'op':
      for (const x of e.args) yield* exprsOf(x)
      return
    case 'lookup':
      yield* exprsOf(e.container)
      yield* exprsOf(e.index)
      return
    case 'structlookup':
      yield* exprsOf(e.struct)
      if (e.optional) yield* exprsOf(e.optional)
      return
    case 'lambda':
      yield* exprsOf(e.body)
      return
    case 'ifexpr':
      yield* exprsOf(e.cond)
      yield* exprsOf(e.ifTrue)
      yield* exprsOf(e.ifFalse)
      return
    case 'except':
      yield* exprsOf(e.expr)
      yield* exprsOf(e.except)
      return
    default:
      return
  }
}

/** The direct sub-expressions of `e` (a lambda's body excepted). */
export function children(e: Expr): Expr[] {
  switch (e.t) {
    case 'list':
      return e.elems
    case 'map':
      return e.entries.flatMap(kv => [kv.key, kv.value])
    case 'struct':
      return e.fields.map(f => f.value)
    case 'op':
      return e.args
    case 'lookup':
      return [e.container, e.index]
    case 'structlookup':
      return e.optional ? [e.struct, e.optional] : [e.struct]
    case 'ifexpr':
      return [e.cond, e.ifTrue, e.ifFalse]
    case 'except':
      return [e.expr, e.except]
    default:
      return []
  }
}
