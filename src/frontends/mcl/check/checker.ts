/**
 * Type checking of statements, and the entry point of the checker. Statements are checked in
 * source order; binds, functions and classes are checked where they are used (a class at each
 * include, a function at each call, a variable at its first use), so an unused definition is
 * never checked, as in the original. Resource fields are checked against the kind's schema,
 * send/recv edges against the sender's and receiver's schemas.
 */
import type { Block, Edge, EdgeHalf, ForKVStmt, ForStmt, IncludeStmt, PanicStmt, Res, Stmt } from '../ast.js'
import { LangError } from '../errors.js'
import { metaParams, metaStruct } from '../meta.js'
import type { Unit } from '../modules.js'
import type { Kind, Schemas } from '../schema/schema.js'
import type { ParamDef, Resolver } from '../scope.js'
import type { Span } from '../source.js'
import { didYouMean } from '../suggest.js'
import { prune, T, type Type, typeEquals, typeString } from '../types.js'
import { compatible } from '../unify.js'
import { showValue } from '../values.js'
import { ExprChecker } from './exprs.js'
import {
  Env,
  type IRBlock,
  type IRExpr,
  type IRHalf,
  type IRItem,
  type IRStmt,
  type ParamInst,
} from './ir.js'
import { Solver } from './solve.js'
import { staticType } from './static.js'

/** The checked program: its top-level block, ready to evaluate. */
export interface Checked {
  readonly block: IRBlock
  readonly globalEnv: Env
}

/** Type-checks a resolved program. Throws a `LangError` (stage type or graph). */
export function checkProgram(resolver: Resolver, unit: Unit, schemas: Schemas): Checked {
  const solver = new Solver()
  const top = resolver.unitScope(unit)
  const globalEnv = new Env(undefined, top.parent!, unit)
  const checker = new Checker(resolver, solver, globalEnv, schemas)
  const block = checker.block(unit.program.block, new Env(globalEnv, top, unit))
  solver.solve()
  checker.afterSolve()
  return { block, globalEnv }
}

/** The hint of a name's type error: a name is a str only where that is plain from the code. */
const nameWhat = `a resource name is one str, or a []str for several: say which with [$x] or "$${'{x}'}"`

class Checker extends ExprChecker {
  readonly #graphChecks: (() => void)[] = []

  constructor(
    resolver: Resolver,
    solver: Solver,
    globalEnv: Env,
    private readonly schemas: Schemas,
  ) {
    super(resolver, solver, globalEnv)
  }

  /** Checks that need the solved types (stage graph). */
  afterSolve(): void {
    for (const c of this.#graphChecks) c()
  }

  block(b: Block, env: Env): IRBlock {
    const stmts: IRStmt[] = []
    for (const s of b.stmts) {
      const ir = this.stmt(s, env)
      if (ir) stmts.push(ir)
    }
    return { env, stmts }
  }

  private child(block: Block, env: Env): Env {
    return new Env(env, this.resolver.scopes.get(block)!, env.unit)
  }

  private stmt(s: Stmt, env: Env): IRStmt | undefined {
    switch (s.t) {
      case 'bind':
      case 'func':
      case 'class':
      case 'import':
        return undefined
      case 'res':
        return this.res(s, env)
      case 'edgestmt':
        return this.edge(s, env)
      case 'if': {
        const cond = this.check(s.cond, env, T.bool)
        const then = this.block(s.ifTrue, this.child(s.ifTrue, env))
        const otherwise = s.ifFalse && this.block(s.ifFalse, this.child(s.ifFalse, env))
        return { k: 'if', cond, ifTrue: then, ifFalse: otherwise }
      }
      case 'for':
      case 'forkv':
        return this.loop(s, env)
      case 'include':
        return this.include(s, env)
      case 'panic':
        return this.panic(s, env)
    }
  }

  private include(s: IncludeStmt, env: Env): IRStmt {
    this.spend(s.span)
    const inst = this.includeInst(env, s)
    inst.body = this.copying(s.span, () => this.block(inst.cls.def.node.body, inst.bodyEnv))
    for (const [i, p] of (inst.cls.def.node.params ?? []).entries()) {
      const t = this.argType(inst.args[i]!)
      if (p.type) this.solver.eq(s.span, p.type, t, `argument \`$${p.name}\` of class \`${s.name}\``)
    }
    return { k: 'include', inst }
  }

  private loop(s: ForStmt | ForKVStmt, env: Env): IRStmt {
    const expr = this.infer(s.expr, env)
    const lenv = new Env(env, this.resolver.scopes.get(s)!, env.unit)
    const [pa, pb] = s.t === 'for' ? [s.index, s.value] : [s.key, s.value]
    const mk = (name: string): ParamInst => {
      const def = lenv.scope.vars.get(name) as ParamDef
      const have = lenv.insts.get(def)
      if (have) return have as ParamInst
      const inst: ParamInst = { t: 'param', def, env: lenv, type: T.fresh() }
      lenv.insts.set(def, inst)
      return inst
    }
    const a = mk(pa.name)
    const b = mk(pb.name)
    if (s.t === 'for') {
      this.solver.eq(s.span, T.list(b.type), expr.type, '`for` goes over a list')
      this.solver.eq(pa.span, a.type, T.int)
    } else this.solver.eq(s.span, T.map(a.type, b.type), expr.type, '`forkv` goes over a map')
    const body = this.block(s.body, this.child(s.body, lenv))
    return { k: 'for', kv: s.t === 'forkv', span: s.span, expr, env: lenv, a, b, body }
  }

  private panic(s: PanicStmt, env: Env): IRStmt {
    const args = s.args.map(a => this.infer(a, env))
    if (args.length === 1) {
      const x = T.fresh()
      this.solver.eq(
        s.span,
        T.func([{ name: '', type: args[0]!.type }], T.bool),
        T.func([{ name: 'x', type: x }], T.bool),
      )
      this.solver.post(s.span, () =>
        ['bool', 'str'].includes(prune(x).k)
          ? undefined
          : `panic takes a bool or a str, not ${typeString(x)}`,
      )
    } else if (args.length === 2) {
      this.solver.eq(s.span, args[0]!.type, T.bool)
      this.solver.eq(s.span, args[1]!.type, T.str)
    } else throw new LangError('type', `panic takes 1 or 2 args, got ${args.length}`, [s.span])
    return { k: 'panic', span: s.span, args }
  }

  /**
   * A resource's name is one string when that is plain from the code, else a list of strings;
   * `collect` also takes a list of `struct{name str; host str}` (what `collect.res` returns).
   */
  private nameType(name: IRExpr, collect = false): Type {
    const t = staticType(name)
    if (t && typeEquals(t, T.str)) return T.str
    if (collect && !(t && typeEquals(t, T.list(T.str))))
      return T.list(
        T.struct([
          { name: 'name', type: T.str },
          { name: 'host', type: T.str },
        ]),
      )
    return T.list(T.str)
  }

  private kind(name: string, at: Span): Kind {
    const k = this.schemas.get(name)
    if (!k)
      throw new LangError(
        'type',
        `cannot create resource kind \`${name}\`: no resource kind \`${name}\` available${didYouMean(name, this.schemas.kinds())}`,
        [at],
      )
    return k
  }

  private res(s: Res, env: Env): IRStmt {
    const name = this.infer(s.name, env)
    const items: IRItem[] = []
    for (const item of s.items) {
      switch (item.t) {
        case 'field': {
          const value = this.infer(item.value, env)
          const cond = item.cond && this.check(item.cond, env, T.bool)
          const field = this.kind(s.kind, s.span).fields.get(item.name)
          if (!field)
            throw new LangError(
              'type',
              `field \`${item.name}\` does not exist in \`${s.kind}\` resource${didYouMean(item.name, this.kind(s.kind, s.span).fields.keys())}`,
              [item.span],
            )
          this.solver.eq(
            item.span,
            field.type.k === 'variant' ? T.fresh() : field.type,
            value.type,
            `field \`${item.name}\` of ${s.kind} is ${typeString(field.type)}`,
          )
          items.push({ k: 'field', span: item.span, name: item.name, value, cond })
          break
        }
        case 'meta': {
          const value = this.infer(item.value, env)
          const cond = item.cond && this.check(item.cond, env, T.bool)
          this.solver.eq(
            item.span,
            item.name ? metaParams[item.name]! : metaStruct,
            value.type,
            item.name
              ? `Meta:${item.name} is ${typeString(metaParams[item.name]!)}`
              : 'Meta takes the struct of every metaparam',
          )
          items.push({ k: 'meta', span: item.span, name: item.name, value, cond })
          break
        }
        case 'edge': {
          const cond = item.cond && this.check(item.cond, env, T.bool)
          items.push({
            k: 'edge',
            span: item.span,
            property: item.property,
            half: this.half(item.half, env, item.span),
            cond,
          })
          break
        }
      }
    }
    this.solver.eq(s.span, this.nameType(name, s.collect), name.type, nameWhat)
    // `Meta => struct{...}` sets every metaparam: nothing else may set one.
    const structs = s.items.filter(i => i.t === 'meta' && !i.name).length
    const named = s.items.find(i => i.t === 'meta' && i.name)
    if (structs > 1 || (structs === 1 && named)) {
      const what = named?.t === 'meta' ? named.name : 'meta'
      this.#graphChecks.push(() => {
        throw new LangError('graph', `resource has duplicate meta entry of: ${what}`, [s.span])
      })
    }
    return { k: 'res', node: s, name, items }
  }

  private half(h: EdgeHalf, env: Env, at: Span): IRHalf {
    const name = this.infer(h.name, env)
    this.solver.eq(at, this.nameType(name), name.type, nameWhat)
    return { span: h.span, kind: h.kind, name, field: h.field, node: h }
  }

  private edge(s: Edge, env: Env): IRStmt {
    if (s.halves.length === 1)
      throw new LangError('type', "can't create an edge with only one half", [s.span])
    const [h1, h2] = s.halves
    if (h1?.field && h2?.field) this.sendRecv(s, h1, h2)
    return { k: 'edge', span: s.span, halves: s.halves.map(h => this.half(h, env, h.span)) }
  }

  /** A send/recv edge, checked against the two kinds' schemas. */
  private sendRecv(s: Edge, h1: EdgeHalf, h2: EdgeHalf): void {
    const k1 = this.kind(h1.kind, h1.span)
    const k2 = this.kind(h2.kind, h2.span)
    if (!k1.sends.size) throw new LangError('type', `cannot send from resource of kind: ${h1.kind}`, [s.span])
    if (!k2.recv) throw new LangError('type', `cannot recv to resource of kind: ${h2.kind}`, [s.span])
    const show = (h: EdgeHalf): string => {
      const n = h.name
      if (n.t === 'str') return `${h.kind}[${n.value}]`
      if (n.t === 'list' && n.elems.every(e => e.t === 'str'))
        return `${h.kind}[${showValue(n.elems.map(e => (e as { value: string }).value))}]`
      return h.kind
    }
    const what = `cannot send/recv from ${show(h1)}.${h1.field} to ${show(h2)}.${h2.field}`
    const out = k1.sends.get(h1.field!)
    if (!out) throw new LangError('type', `${what}: key not found in send struct`, [s.span])
    const into = k2.fields.get(h2.field!)
    if (!into) throw new LangError('type', `${what}: key not found in recv struct`, [s.span])
    if (!compatible(out.type, into.type))
      throw new LangError(
        'type',
        `${what}: field kind mismatch between ${typeString(out.type)} and ${typeString(into.type)}`,
        [s.span],
      )
  }
}
