/**
 * Type checking of expressions: each is instantiated into a typed node, and the constraints
 * between types are recorded in program order, the way the original orders them (arguments
 * first, then the call, then the callee), so that a conflict is reported at the same place.
 */
import type { Call, Expr, IncludeStmt, Lambda, OperatorName, Param } from '../ast.js'
import { LangError } from '../errors.js'
import type { Builtin } from '../funcs/builtin.js'
import type { Unit } from '../modules.js'
import type {
  AliasDef,
  ClassDef,
  Def,
  ImportDef,
  IncludeDef,
  ParamDef,
  Ref,
  Resolver,
  Scope,
} from '../scope.js'
import type { Span } from '../source.js'
import {
  type FuncType,
  isHashable,
  kindName,
  parseType,
  prune,
  T,
  type Type,
  typeString,
  zonk,
} from '../types.js'
import { UnifyError, unify } from '../unify.js'
import { kindOfValue } from '../values.js'
import {
  type AliasInst,
  type ArgInst,
  type BindInst,
  type ClassInst,
  Env,
  type FuncInst,
  type ImportInst,
  type IncludeInst,
  type IRExpr,
  type ParamInst,
} from './ir.js'
import type { Solver } from './solve.js'
import { staticType, staticValue } from './static.js'

/** The signature of an operator, with the kinds its operands may have. */
function operatorSig(op: OperatorName): { sig: FuncType; allowed?: string[]; operand: Type } {
  const a = T.fresh()
  const two = (out: Type): FuncType =>
    T.func(
      [
        { name: 'a', type: a },
        { name: 'b', type: a },
      ],
      out,
    )
  switch (op) {
    case '+':
      return { sig: two(a), allowed: ['str', 'int', 'float'], operand: a }
    case '-':
    case '*':
      return { sig: two(a), allowed: ['int', 'float'], operand: a }
    case '/':
      return { sig: two(T.float), allowed: ['int', 'float'], operand: a }
    case '<':
    case '>':
    case '<=':
    case '>=':
      return { sig: two(T.bool), allowed: ['int', 'float'], operand: a }
    case '==':
    case '!=':
      return { sig: two(T.bool), operand: a }
    case 'and':
    case 'or':
      return {
        sig: T.func(
          [
            { name: 'a', type: T.bool },
            { name: 'b', type: T.bool },
          ],
          T.bool,
        ),
        operand: T.bool,
      }
    case 'not':
      return { sig: T.func([{ name: 'a', type: T.bool }], T.bool), operand: T.bool }
  }
}

/**
 * The most expressions (and includes) a program may expand to. Each call of a named function and
 * each include copies the body, so a definition that uses the one below it twice, twenty levels
 * deep, is a million copies: without a bound, a few lines would take the checker minutes and
 * gigabytes. The examples stay far below (a few thousand).
 */
export const MAX_EXPANDED = 300_000

export class ExprChecker {
  #expanded = 0
  /** The calls and includes being copied, outermost first: where an expansion blew up. */
  readonly #copies: Span[] = []

  constructor(
    protected readonly resolver: Resolver,
    protected readonly solver: Solver,
    protected readonly globalEnv: Env,
  ) {}

  /** Counts one more expression or include, at `span`; past the bound, a located error. */
  protected spend(span: Span): void {
    if (++this.#expanded <= MAX_EXPANDED) return
    const at = this.#copies.length ? [this.#copies.at(-1)!, this.#copies[0]!] : [span]
    throw new LangError(
      'type',
      `the program expands to more than ${MAX_EXPANDED} expressions (each function call and each ` +
        'include copies the body): a definition that uses another twice per level grows exponentially',
      at[0] === at[1] ? [at[0]!] : at,
    )
  }

  /** `f()` with `span` pushed on the expansion stack. */
  protected copying<T>(span: Span, f: () => T): T {
    this.#copies.push(span)
    try {
      return f()
    } finally {
      this.#copies.pop()
    }
  }

  // ---- instances ----

  /** The instance of `def` seen from `env` (created on first use). */
  protected instOf(env: Env, def: Def): BindInst | ParamInst | FuncInst | ClassInst | ImportInst {
    for (let e: Env | undefined = env; e; e = e.parent) {
      if (!('scope' in def) || e.scope !== def.scope) continue
      let inst = e.insts.get(def)
      if (!inst) {
        inst = this.makeInst(e, def)
        e.insts.set(def, inst)
      }
      return inst as BindInst | ParamInst | FuncInst | ClassInst | ImportInst
    }
    throw new Error(`internal: no env for ${def.t}`)
  }

  private makeInst(env: Env, def: Def): BindInst | FuncInst | ClassInst | ImportInst {
    switch (def.t) {
      case 'bind':
        return { t: 'bind', def, env }
      case 'func':
        return { t: 'func', def, env }
      case 'class':
        return { t: 'class', def, env }
      case 'import': {
        const ns = def.ns
        if (ns.t !== 'module') return { t: 'import', def, env }
        return { t: 'import', def, env, moduleEnv: new Env(this.globalEnv, ns.scope, ns.unit) }
      }
      default:
        throw new Error(`internal: parameter ${def.t} used before its scope was instantiated`)
    }
  }

  /** The env whose scope defines `scope`, seen from `env`. */
  protected envOf(env: Env, scope: Scope): Env {
    for (let e: Env | undefined = env; e; e = e.parent) if (e.scope === scope) return e
    throw new Error('internal: scope not instantiated')
  }

  /** The instance of an include statement written in `env`'s scope. */
  protected includeInst(env: Env, node: IncludeStmt): IncludeInst {
    const have = env.includes.get(node)
    if (have) return have
    const ref = this.resolver.refs.get(node)!
    const { via: clsVia, env: defEnv } = this.crossAliases(env, ref)
    const cls = this.instOf(defEnv, ref.def) as ClassInst
    const def = ref.def as ClassDef
    const paramScope = this.resolver.scopes.get(def.node)!
    this.resolver.classBody(def)
    const paramEnv = new Env(cls.env, paramScope, cls.env.unit)
    const args: ArgInst[] = node.args.map(expr => ({ expr, env }))
    for (const [i, p] of (def.node.params ?? []).entries()) {
      const pdef = paramScope.vars.get(p.name) as ParamDef
      paramEnv.insts.set(pdef, { t: 'param', def: pdef, env: paramEnv, type: T.fresh(), arg: args[i] })
    }
    const bodyEnv = new Env(paramEnv, this.resolver.scopes.get(def.node.body)!, cls.env.unit)
    const inst: IncludeInst = { t: 'include', span: node.span, env, cls, clsVia, paramEnv, bodyEnv, args }
    env.includes.set(node, inst)
    return inst
  }

  /** The run-time alias and the env an alias leads to. */
  private aliasInst(env: Env, def: AliasDef): { inst: AliasInst; env: Env | undefined } {
    if (def.t === 'import') {
      const inst = this.instOf(env, def) as ImportInst
      return { inst, env: inst.moduleEnv }
    }
    const inst = this.includeInst(this.envOf(env, def.scope), def.node)
    return { inst, env: inst.bodyEnv }
  }

  /** Crosses the aliases of a reference: the run-time path, and the env to find the definition from. */
  protected crossAliases(env: Env, ref: Ref): { via: AliasInst[]; env: Env } {
    const via: AliasInst[] = []
    let cur = env
    for (const a of ref.via) {
      const next = this.aliasInst(cur, a as ImportDef | IncludeDef)
      via.push(next.inst)
      if (next.env) cur = next.env
    }
    return { via, env: cur }
  }

  /** A bind's type: its expression is checked at the first use (the original's order). */
  protected bindType(inst: BindInst): Type {
    if (inst.ir) return inst.ir.type
    if (inst.busy) return T.fresh()
    inst.busy = true
    const bind = inst.def.node
    const ir = this.infer(bind.value, inst.env)
    if (bind.type)
      this.solver.eq(
        bind.value.span,
        bind.type,
        ir.type,
        `\`$${bind.name}\` is declared ${typeString(bind.type)}`,
      )
    inst.ir = ir
    inst.busy = false
    return ir.type
  }

  protected argType(arg: ArgInst): Type {
    arg.ir ??= this.infer(arg.expr, arg.env)
    return arg.ir.type
  }

  /** Where a definition was written, for the errors about its uses as a function. */
  private defSpan(def: Def, fallback: Span): Span {
    if (def.t === 'bind') return def.node.value.span
    if (def.t === 'param') return def.node.span
    return fallback
  }

  // ---- expressions ----

  /** `e` checked against `t`. */
  protected check(e: Expr, env: Env, t: Type): IRExpr {
    const ir = this.infer(e, env)
    this.solver.eq(e.span, t, ir.type)
    return ir
  }

  protected infer(e: Expr, env: Env): IRExpr {
    const span = e.span
    this.spend(span)
    switch (e.t) {
      case 'bool':
        return { k: 'const', span, type: T.bool, value: e.value }
      case 'str':
        return { k: 'const', span, type: T.str, value: e.value }
      case 'int':
        return { k: 'const', span, type: T.int, value: e.value }
      case 'float':
        return { k: 'const', span, type: T.float, value: e.value }
      case 'list': {
        const elem = T.fresh()
        return { k: 'list', span, type: T.list(elem), elems: e.elems.map(x => this.check(x, env, elem)) }
      }
      case 'map': {
        const key = T.fresh()
        const val = T.fresh()
        const entries = e.entries.map(
          kv => [this.check(kv.key, env, key), this.check(kv.value, env, val)] as const,
        )
        this.solver.post(span, () =>
          isHashable(key)
            ? undefined
            : `error setting type: map key type ${typeString(zonk(key))} is not hashable`,
        )
        return { k: 'map', span, type: T.map(key, val), entries }
      }
      case 'struct': {
        const fields = e.fields.map(f => [f.name, this.infer(f.value, env)] as const)
        return {
          k: 'struct',
          span,
          type: T.struct(fields.map(([name, ir]) => ({ name, type: ir.type }))),
          fields,
        }
      }
      case 'var':
        return this.varRef(e.name, this.resolver.refs.get(e)!, env, span, e.interpolated)
      case 'call':
        return this.call(e, env)
      case 'op':
        return this.operator(e.op, e.args, env, span)
      case 'lookup':
        return this.lookup(e.container, e.index, env, span)
      case 'structlookup':
        return this.fieldLookup(e.struct, e.field, e.optional, env, span)
      case 'lambda':
        return this.lambda(e, env)
      case 'ifexpr': {
        const cond = this.check(e.cond, env, T.bool)
        const t = T.fresh()
        return {
          k: 'if',
          span,
          type: t,
          cond,
          ifTrue: this.check(e.ifTrue, env, t),
          ifFalse: this.check(e.ifFalse, env, t),
        }
      }
      case 'except': {
        const t = T.fresh()
        return {
          k: 'except',
          span,
          type: t,
          expr: this.check(e.expr, env, t),
          except: this.check(e.except, env, t),
        }
      }
    }
  }

  private varRef(name: string, ref: Ref, env: Env, span: Span, interpolated?: boolean): IRExpr {
    if (ref.def.t === 'global') return { k: 'global', span, type: ref.def.type, def: ref.def }
    const { via, env: denv } = this.crossAliases(env, ref)
    const inst = this.instOf(denv, ref.def)
    let type: Type
    if (inst.t === 'bind') type = this.bindType(inst)
    else if (inst.t === 'param') type = inst.arg ? this.argType(inst.arg) : inst.type
    else throw new LangError('type', `\`$${name}\` is not a variable`, [span])
    if (interpolated) this.solver.lateEq(span, T.str, type)
    return { k: 'var', span, type, inst, via, interpolated }
  }

  private lambda(fn: Lambda, env: Env): IRExpr & { k: 'lambda' } {
    const penv = new Env(env, this.resolver.scopes.get(fn)!, env.unit)
    const params = this.params(fn.params, penv)
    const out = fn.ret ?? T.fresh()
    const body = this.check(fn.body, penv, out)
    const type = T.func(
      params.map(p => ({ name: p.def.node.name, type: p.type })),
      out,
    )
    return { k: 'lambda', span: fn.span, type, env: penv, params, body }
  }

  /** The parameter instances of a function in its new env. */
  protected params(ps: readonly Param[], penv: Env): ParamInst[] {
    return ps.map(p => {
      const def = penv.scope.vars.get(p.name) as ParamDef
      const inst: ParamInst = { t: 'param', def, env: penv, type: p.type ?? T.fresh() }
      penv.insts.set(def, inst)
      return inst
    })
  }

  private call(e: Call, env: Env): IRExpr {
    const span = e.span
    const args = e.args.map(a => this.infer(a, env))
    const out = T.fresh()
    const want = T.func(
      args.map(a => ({ name: '', type: a.type })),
      out,
    )
    if (e.callee.t === 'lambda') {
      const fn = this.lambda(e.callee.fn, env)
      this.solver.eq(e.callee.fn.span, want, fn.type)
      return { k: 'apply', span, type: out, fn, args }
    }
    const ref = this.resolver.refs.get(e)!
    if (e.callee.t === 'var') {
      const fn = this.varRef(e.callee.name, ref, env, e.callee.span)
      const arg = fn.k === 'var' && fn.inst.t === 'param' ? fn.inst.arg : undefined
      this.solver.eq(arg ? arg.expr.span : this.defSpan(ref.def, span), want, fn.type)
      return { k: 'apply', span, type: out, fn, args }
    }
    if (ref.def.t === 'builtin') return this.builtin(e.callee.name, ref.def.fn, args, want, env, span)
    if (ref.def.t !== 'func') throw new LangError('type', `\`${e.callee.name}\` is not a function`, [span])
    const { via, env: denv } = this.crossAliases(env, ref)
    const func = this.instOf(denv, ref.def) as FuncInst
    const fn = ref.def.node.fn
    const cenv = new Env(func.env, this.resolver.scopes.get(fn)!, func.env.unit)
    const params = this.params(fn.params, cenv)
    const ret = fn.ret ?? T.fresh()
    const body = this.copying(span, () => this.check(fn.body, cenv, ret))
    const have = T.func(
      params.map(p => ({ name: p.def.node.name, type: p.type })),
      ret,
    )
    this.solver.eq(ref.def.node.span, want, have)
    return { k: 'callfunc', span, type: out, func, via, env: cenv, params, body, args }
  }

  private builtin(name: string, fn: Builtin, args: IRExpr[], want: FuncType, env: Env, span: Span): IRExpr {
    const short = name.split('.').pop()!
    const types = args.map(a => staticType(a))
    const values = args.map(a => staticValue(a))
    for (const [i, a] of args.entries()) {
      const t = types[i]
      const v = values[i]
      if (t && v !== undefined && prune(t).k !== 'var' && prune(t).k !== kindOfValue(v))
        throw new LangError(
          'type',
          `type/value inconsistent at arg #${i} for func \`${name}\`: ${kindName(t)} != ${kindOfValue(v)}`,
          [a.span],
        )
    }
    let sig: Type
    if (fn.sig) {
      sig = parseType(fn.sig)
      const n = (sig as FuncType).args.length
      if (args.length !== n)
        throw new LangError(
          'type',
          `func \`${name}\` takes ${n} arg${n === 1 ? '' : 's'}, got ${args.length}`,
          [span],
        )
    } else {
      try {
        sig = fn.infer!({ argc: args.length, types, values })
      } catch (err) {
        if (err instanceof LangError) throw err
        throw new LangError('type', `func \`${short}\` infer error: ${(err as Error).message}`, [span])
      }
    }
    this.solver.eq(span, want, sig)
    if (fn.check) {
      const check = fn.check
      this.solver.post(span, () => {
        const problem = check(zonk(sig) as FuncType)
        return problem && `func \`${name}\`: ${problem}`
      })
    }
    return {
      k: 'builtin',
      span,
      type: want.out,
      name,
      fn,
      args,
      sig: sig as FuncType,
      module: env.unit.module,
    }
  }

  private operator(op: OperatorName, operands: readonly Expr[], env: Env, span: Span): IRExpr {
    const args = operands.map(a => this.infer(a, env))
    const out = T.fresh()
    const { sig, allowed, operand } = operatorSig(op)
    this.solver.eq(
      span,
      T.func(
        args.map(a => ({ name: '', type: a.type })),
        out,
      ),
      sig,
    )
    this.solver.post(span, () => {
      const k = prune(operand).k
      if (allowed && !allowed.includes(k)) return `operator \`${op}\` does not apply to ${k}`
      if ((op === '==' || op === '!=') && k === 'func') return `operator \`${op}\` cannot compare functions`
      return undefined
    })
    return { k: 'op', span, type: out, op, args }
  }

  private lookup(container: Expr, index: Expr, env: Env, span: Span): IRExpr {
    const c = this.infer(container, env)
    const i = this.infer(index, env)
    const out = T.fresh()
    this.solver.wait(
      span,
      () => {
        const ct = prune(c.type)
        if (ct.k === 'var') return false
        if (ct.k === 'list') {
          unify(T.int, i.type)
          unify(out, ct.elem)
        } else if (ct.k === 'map') {
          unify(ct.key, i.type)
          unify(out, ct.val)
        } else throw new LangError('type', `cannot look up an index in a ${ct.k}`, [span])
        return true
      },
      () => 'cannot tell whether this is a list or a map lookup',
    )
    return { k: 'lookup', span, type: out, container: c, index: i }
  }

  private fieldLookup(struct: Expr, field: string, optional: Expr | undefined, env: Env, span: Span): IRExpr {
    const s = this.infer(struct, env)
    const dflt = optional && this.infer(optional, env)
    const out = T.fresh()
    this.solver.wait(
      span,
      () => {
        const st = prune(s.type)
        if (st.k === 'var') return false
        if (st.k !== 'struct') throw new LangError('type', `type error: struct != ${st.k}`, [span])
        const f = st.fields.find(x => x.name === field)
        if (!dflt) {
          if (!f)
            throw new LangError('type', `error setting type: field ${field} was not found in struct`, [span])
          try {
            unify(out, f.type)
          } catch (err) {
            if (!(err instanceof UnifyError)) throw err
            throw new LangError('type', `error setting type: field ${field} ${err.message}`, [span])
          }
        } else if (f) {
          try {
            unify(f.type, dflt.type)
          } catch (err) {
            if (!(err instanceof UnifyError)) throw err
            throw new LangError(
              'type',
              `error setting type: non-optional arg must match return type: ${err.message}`,
              [span],
            )
          }
          unify(out, f.type)
        } else unify(out, dflt.type)
        return true
      },
      () => `cannot tell the struct type to look up field \`${field}\` in`,
    )
    return { k: 'field', span, type: out, struct: s, field, optional: dflt }
  }

  /** The env of a unit's top level. */
  protected unitEnv(unit: Unit): Env {
    return new Env(this.globalEnv, this.resolver.unitScope(unit), unit)
  }
}
