/**
 * Unification of two types, union-find style: an unbound variable is linked to the other side
 * (after an occurs check), two concrete types must have the same kind and their parts are unified
 * pairwise. Failures throw `UnifyError` with the original's wording (`str != int`, `func arg count
 * differs`, ...); the caller adds the position.
 */
import { instantiate, kindName, prune, type Type, type TypeVar } from './types.js'

export class UnifyError extends Error {
  override readonly name = 'UnifyError'
}

function occurs(v: TypeVar, t: Type): boolean {
  const p = prune(t)
  switch (p.k) {
    case 'var':
      return p === v
    case 'list':
      return occurs(v, p.elem)
    case 'map':
      return occurs(v, p.key) || occurs(v, p.val)
    case 'struct':
      return p.fields.some(f => occurs(v, f.type))
    case 'func':
      return p.args.some(a => occurs(v, a.type)) || occurs(v, p.out)
    default:
      return false
  }
}

/** Makes `a` and `b` the same type, or throws a `UnifyError`. */
export function unify(a: Type, b: Type): void {
  const x = prune(a)
  const y = prune(b)
  if (x === y) return
  if (x.k === 'var') bind(x, y)
  else if (y.k === 'var') bind(y, x)
  else if (x.k === 'variant' || y.k === 'variant') return
  else if (x.k !== y.k) throw new UnifyError(`type error: ${kindName(x)} != ${kindName(y)}`)
  else if (x.k === 'list') unify(x.elem, (y as typeof x).elem)
  else if (x.k === 'map') {
    unify(x.key, (y as typeof x).key)
    unify(x.val, (y as typeof x).val)
  } else if (x.k === 'struct') {
    const fy = (y as typeof x).fields
    if (x.fields.length !== fy.length) throw new UnifyError('struct field count differs')
    for (const [i, f] of x.fields.entries())
      if (f.name !== fy[i]!.name) throw new UnifyError('struct fields differ')
    for (const [i, f] of x.fields.entries()) unify(f.type, fy[i]!.type)
  } else if (x.k === 'func') {
    const fy = y as typeof x
    if (x.args.length !== fy.args.length) throw new UnifyError('func arg count differs')
    for (const [i, arg] of x.args.entries()) unify(arg.type, fy.args[i]!.type)
    unify(x.out, fy.out)
  }
}

function bind(v: TypeVar, t: Type): void {
  if (t.k !== 'var' && occurs(v, t)) throw new UnifyError('directly in the same set')
  v.link = t
}

/** Would `a` and `b` unify? Tried on copies: neither type changes. */
export function compatible(a: Type, b: Type): boolean {
  try {
    unify(instantiate(a), instantiate(b))
    return true
  } catch (err) {
    if (err instanceof UnifyError) return false
    throw err
  }
}
