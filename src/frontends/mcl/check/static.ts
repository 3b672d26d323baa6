/**
 * What is known of an expression before unification: its type when it is plain from the code
 * (a literal, an annotated variable, a call of a function with a fixed result), and its value
 * when it is a constant or follows from constants through pure functions. Builtins use both to
 * pick their signature (printf's format string); a resource's name is a single string when its
 * type is plainly `str`.
 */
import { Catchable } from '../errors.js'
import type { RunContext } from '../funcs/builtin.js'
import { isConcrete, prune, T, type Type, typeEquals } from '../types.js'
import { kindOfValue, MAX_STRING, McMap, McStruct, type Value, valueEquals } from '../values.js'
import type { IRExpr } from './ir.js'

const depthLimit = 50

/** The type of `e` if it is plain from the code, else undefined. */
export const staticType = (e: IRExpr): Type | undefined => typeOf(e, 0, new Map())

/**
 * Each node is worked out once per question (`memo`): a variable used twice at each of forty
 * levels (`$a1 = $a0 + $a0`...) would otherwise be looked at 2^40 times.
 */
function typeOf(e: IRExpr, depth: number, memo: Map<IRExpr, Type | undefined>): Type | undefined {
  if (depth > depthLimit) return undefined
  if (memo.has(e)) return memo.get(e)
  const t = typeOfNode(e, depth + 1, memo)
  memo.set(e, t)
  return t
}

function typeOfNode(e: IRExpr, d: number, memo: Map<IRExpr, Type | undefined>): Type | undefined {
  switch (e.k) {
    case 'const':
    case 'global':
      return e.type
    case 'list': {
      const ts = e.elems.map(x => typeOf(x, d, memo))
      if (!ts.length || ts.some(t => !t) || !ts.every(t => typeEquals(t!, ts[0]!))) return undefined
      return T.list(ts[0]!)
    }
    case 'map': {
      const ks = e.entries.map(([k]) => typeOf(k, d, memo))
      const vs = e.entries.map(([, v]) => typeOf(v, d, memo))
      if (!ks.length || [...ks, ...vs].some(t => !t)) return undefined
      if (!ks.every(t => typeEquals(t!, ks[0]!)) || !vs.every(t => typeEquals(t!, vs[0]!))) return undefined
      return T.map(ks[0]!, vs[0]!)
    }
    case 'struct': {
      const fs = e.fields.map(([name, v]) => ({ name, type: typeOf(v, d, memo) }))
      return fs.every(f => f.type) ? T.struct(fs as { name: string; type: Type }[]) : undefined
    }
    case 'var': {
      const inst = e.inst
      if (e.interpolated) return T.str
      if (inst.t === 'bind') return inst.def.node.type ?? (inst.ir ? typeOf(inst.ir, d, memo) : undefined)
      if (inst.arg?.ir) return typeOf(inst.arg.ir, d, memo)
      return inst.def.node.type
    }
    case 'builtin': {
      if (e.name === 'concat') return T.str
      const out = prune(e.sig.out)
      return e.fn.sig && !e.fn.sig.includes('?') && isConcrete(out) ? out : undefined
    }
    case 'callfunc':
      return e.func.def.node.fn.ret ?? typeOf(e.body, d, memo)
    case 'op':
      if (['==', '!=', '<', '>', '<=', '>=', 'and', 'or', 'not'].includes(e.op)) return T.bool
      if (e.op === '/') return T.float
      return e.args.map(a => typeOf(a, d, memo)).find(t => t !== undefined)
    case 'if': {
      const a = typeOf(e.ifTrue, d, memo)
      const b = typeOf(e.ifFalse, d, memo)
      return a && b && typeEquals(a, b) ? a : undefined
    }
    default:
      return undefined
  }
}

/** Does a parameter of type `t` take the value `v` (a type variable takes anything)? */
function takes(t: Type | undefined, v: Value): boolean {
  const p = t && prune(t)
  return p !== undefined && (p.k === 'var' || p.k === kindOfValue(v))
}

const noop = (): never => {
  throw new Error('no run-time context at compile time')
}

/** The value of `e` if it follows from constants, else undefined. */
export const staticValue = (e: IRExpr): Value | undefined => constOf(e, 0, new Map())

/** Once per node and question, as `typeOf`. */
function constOf(e: IRExpr, depth: number, memo: Map<IRExpr, Value | undefined>): Value | undefined {
  if (depth > depthLimit) return undefined
  if (memo.has(e)) return memo.get(e)
  const v = valueOfNode(e, depth + 1, memo)
  memo.set(e, v)
  return v
}

function valueOfNode(e: IRExpr, d: number, memo: Map<IRExpr, Value | undefined>): Value | undefined {
  const all = (xs: IRExpr[]): Value[] | undefined => {
    const vs = xs.map(x => constOf(x, d, memo))
    return vs.some(v => v === undefined) ? undefined : (vs as Value[])
  }
  switch (e.k) {
    case 'const':
      return e.value
    case 'list':
      return all(e.elems)
    case 'map': {
      const ks = all(e.entries.map(([k]) => k))
      const vs = all(e.entries.map(([, v]) => v))
      return ks && vs ? new McMap(ks.map((k, i) => [k, vs[i]!])) : undefined
    }
    case 'struct': {
      const vs = all(e.fields.map(([, v]) => v))
      return vs ? new McStruct(new Map(e.fields.map(([n], i) => [n, vs[i]!]))) : undefined
    }
    case 'var': {
      const inst = e.inst
      if (inst.t === 'bind') return inst.ir ? constOf(inst.ir, d, memo) : undefined
      return inst.arg?.ir ? constOf(inst.arg.ir, d, memo) : undefined
    }
    case 'if': {
      const c = constOf(e.cond, d, memo)
      return c === true ? constOf(e.ifTrue, d, memo) : c === false ? constOf(e.ifFalse, d, memo) : undefined
    }
    case 'builtin': {
      if (!e.fn.pure) return undefined
      const args = all(e.args)
      // Run only on arguments of the kinds it takes: this is before unification, which reports
      // `range("a", "b")`, and the function would run on strings it never expects (for ever).
      if (!args || args.some((v, i) => !takes(e.sig.args[i]?.type, v))) return undefined
      try {
        const ctx = {
          span: e.span,
          sig: e.sig,
          module: e.module,
          host: { hostname: '', args: [], env: {} },
          apply: noop,
          fail: (r: string) => new Catchable(r, e.span),
          scratch: new Map(),
        } satisfies RunContext
        return e.fn.run(args, ctx)
      } catch {
        return undefined
      }
    }
    case 'op': {
      const args = all(e.args)
      return args ? foldOperator(e.op, args) : undefined
    }
    default:
      return undefined
  }
}

/** An operator on constants, when its result is certain (no division by zero). */
function foldOperator(op: string, [a, b]: Value[]): Value | undefined {
  if (op === 'not') return typeof a === 'boolean' ? !a : undefined
  if (op === 'and' || op === 'or')
    return typeof a === 'boolean' && typeof b === 'boolean' ? (op === 'and' ? a && b : a || b) : undefined
  if (op === '==' || op === '!=')
    return a !== undefined && b !== undefined ? valueEquals(a, b) === (op === '==') : undefined
  // A string too long to build is left to the run, whose error says so.
  if (typeof a === 'string' && typeof b === 'string')
    return op === '+' && a.length + b.length <= MAX_STRING ? a + b : undefined
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+':
        return BigInt.asIntN(64, a + b)
      case '-':
        return BigInt.asIntN(64, a - b)
      case '*':
        return BigInt.asIntN(64, a * b)
      case '<':
        return a < b
      case '>':
        return a > b
      case '<=':
        return a <= b
      case '>=':
        return a >= b
      default:
        return undefined
    }
  }
  return undefined
}
