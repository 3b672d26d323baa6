/**
 * The mcl type language: bool, str, int, float, []T, map{K: V}, struct{a T; b U}, func(a T) R,
 * variant (the "any" of a resource field typed interface{} in the original), and unification
 * variables. A variable is a union-find node: `link` points to the type it was unified with
 * (another variable, or a concrete type); `prune` follows the links.
 */

export type Type = PrimType | ListType | MapType | StructType | FuncType | TypeVar

export type PrimKind = 'bool' | 'str' | 'int' | 'float' | 'variant'

export interface PrimType {
  readonly k: PrimKind
}

export interface ListType {
  readonly k: 'list'
  readonly elem: Type
}

export interface MapType {
  readonly k: 'map'
  readonly key: Type
  readonly val: Type
}

export interface Field {
  readonly name: string
  readonly type: Type
}

export interface StructType {
  readonly k: 'struct'
  readonly fields: readonly Field[]
}

export interface FuncType {
  readonly k: 'func'
  /** Argument names only label the arguments; unification ignores them. */
  readonly args: readonly Field[]
  readonly out: Type
}

let nextVar = 1

export class TypeVar {
  readonly k = 'var'
  readonly id = nextVar++
  link: Type | undefined = undefined
}

export const T = {
  bool: { k: 'bool' } as PrimType,
  str: { k: 'str' } as PrimType,
  int: { k: 'int' } as PrimType,
  float: { k: 'float' } as PrimType,
  variant: { k: 'variant' } as PrimType,
  list: (elem: Type): ListType => ({ k: 'list', elem }),
  map: (key: Type, val: Type): MapType => ({ k: 'map', key, val }),
  struct: (fields: readonly Field[]): StructType => ({ k: 'struct', fields }),
  func: (args: readonly Field[], out: Type): FuncType => ({ k: 'func', args, out }),
  fresh: (): TypeVar => new TypeVar(),
}

/** Follows variable links to the representative: an unbound variable or a concrete type. */
export function prune(t: Type): Type {
  if (t.k !== 'var' || t.link === undefined) return t
  const end = prune(t.link)
  t.link = end
  return end
}

/** The type with every bound variable replaced by what it is bound to. */
export function zonk(t: Type): Type {
  const p = prune(t)
  switch (p.k) {
    case 'list':
      return T.list(zonk(p.elem))
    case 'map':
      return T.map(zonk(p.key), zonk(p.val))
    case 'struct':
      return T.struct(p.fields.map(f => ({ name: f.name, type: zonk(f.type) })))
    case 'func':
      return T.func(
        p.args.map(a => ({ name: a.name, type: zonk(a.type) })),
        zonk(p.out),
      )
    default:
      return p
  }
}

/** True when no unbound variable is left in `t`. */
export function isConcrete(t: Type): boolean {
  const p = prune(t)
  switch (p.k) {
    case 'var':
      return false
    case 'list':
      return isConcrete(p.elem)
    case 'map':
      return isConcrete(p.key) && isConcrete(p.val)
    case 'struct':
      return p.fields.every(f => isConcrete(f.type))
    case 'func':
      return p.args.every(a => isConcrete(a.type)) && isConcrete(p.out)
    default:
      return true
  }
}

/** The canonical spelling: `[]str`, `map{str: int}`, `struct{a int; b str}`, `func(a int) str`. */
export function typeString(t: Type): string {
  const p = prune(t)
  switch (p.k) {
    case 'var':
      return `?${p.id}`
    case 'list':
      return `[]${typeString(p.elem)}`
    case 'map':
      return `map{${typeString(p.key)}: ${typeString(p.val)}}`
    case 'struct':
      return `struct{${p.fields.map(f => `${f.name} ${typeString(f.type)}`).join('; ')}}`
    case 'func':
      return `func(${p.args.map(a => (a.name ? `${a.name} ${typeString(a.type)}` : typeString(a.type))).join(', ')}) ${typeString(p.out)}`
    default:
      return p.k
  }
}

/** Structural equality of two types (variables by identity, after pruning). */
export function typeEquals(a: Type, b: Type): boolean {
  const x = prune(a)
  const y = prune(b)
  if (x.k !== y.k) return false
  switch (x.k) {
    case 'var':
      return x === y
    case 'list':
      return typeEquals(x.elem, (y as ListType).elem)
    case 'map':
      return typeEquals(x.key, (y as MapType).key) && typeEquals(x.val, (y as MapType).val)
    case 'struct': {
      const fy = (y as StructType).fields
      return (
        x.fields.length === fy.length &&
        x.fields.every((f, i) => f.name === fy[i]!.name && typeEquals(f.type, fy[i]!.type))
      )
    }
    case 'func': {
      const fy = y as FuncType
      return (
        x.args.length === fy.args.length &&
        x.args.every((a, i) => typeEquals(a.type, fy.args[i]!.type)) &&
        typeEquals(x.out, fy.out)
      )
    }
    default:
      return true
  }
}

/** Keys of a map must be hashable: bool, str, int, float, or structs of those. */
export function isHashable(t: Type): boolean {
  const p = prune(t)
  if (p.k === 'struct') return p.fields.every(f => isHashable(f.type))
  return p.k === 'bool' || p.k === 'str' || p.k === 'int' || p.k === 'float' || p.k === 'var'
}

/**
 * Parses a type written as text (`map{str: []int}`, `func(x ?1) ?1`). `?N` variables are fresh
 * per call, shared within it through `vars`. Throws an Error on bad input.
 */
export function parseType(text: string, vars: Map<string, TypeVar> = new Map()): Type {
  const p = new TypeTextParser(text, vars)
  const t = p.type()
  p.skip()
  if (p.i !== text.length) throw new Error(`unexpected \`${text.slice(p.i)}\` in type \`${text}\``)
  return t
}

class TypeTextParser {
  i = 0
  constructor(
    readonly s: string,
    readonly vars: Map<string, TypeVar>,
  ) {}

  skip(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t' || this.s[this.i] === '\n') this.i++
  }
  eat(tok: string): boolean {
    this.skip()
    if (this.s.startsWith(tok, this.i)) {
      this.i += tok.length
      return true
    }
    return false
  }
  expect(tok: string): void {
    if (!this.eat(tok)) throw new Error(`expected \`${tok}\` at ${this.i} in type \`${this.s}\``)
  }
  word(): string {
    this.skip()
    const m = /^[a-z_][a-z0-9_]*/i.exec(this.s.slice(this.i))
    if (!m) throw new Error(`expected a name at ${this.i} in type \`${this.s}\``)
    this.i += m[0].length
    return m[0]
  }
  type(): Type {
    this.skip()
    if (this.eat('[]')) return T.list(this.type())
    if (this.eat('?')) {
      const m = /^[0-9]+/.exec(this.s.slice(this.i))
      if (!m) throw new Error(`bad variable in type \`${this.s}\``)
      this.i += m[0].length
      const v = this.vars.get(m[0]) ?? T.fresh()
      this.vars.set(m[0], v)
      return v
    }
    const w = this.word()
    switch (w) {
      case 'bool':
      case 'str':
      case 'int':
      case 'float':
      case 'variant':
        return T[w]
      case 'map': {
        this.expect('{')
        const key = this.type()
        this.expect(':')
        const val = this.type()
        this.expect('}')
        return T.map(key, val)
      }
      case 'struct': {
        this.expect('{')
        const fields: Field[] = []
        while (!this.eat('}')) {
          const name = this.word()
          fields.push({ name, type: this.type() })
          if (!this.eat(';')) {
            this.expect('}')
            break
          }
        }
        return T.struct(fields)
      }
      case 'func': {
        this.expect('(')
        const args: Field[] = []
        while (!this.eat(')')) {
          this.skip()
          let name = ''
          const save = this.i
          // A name is a word followed by a space and then a type (`map map{?1: ?2}`).
          const m = /^([a-z_][a-z0-9_]*)\s+(?=[[?a-z])/.exec(this.s.slice(this.i))
          if (m) {
            name = m[1]!
            this.i += m[0].length
          } else this.i = save
          if (this.eat('$')) name = this.word()
          args.push({ name, type: this.type() })
          if (!this.eat(',')) {
            this.expect(')')
            break
          }
        }
        return T.func(args, this.type())
      }
      default:
        throw new Error(`unknown type \`${w}\` in \`${this.s}\``)
    }
  }
}

/** A fresh copy of `t` with its unbound variables replaced by new ones (consistently). */
export function instantiate(t: Type, map: Map<TypeVar, TypeVar> = new Map()): Type {
  const p = prune(t)
  switch (p.k) {
    case 'var': {
      const v = map.get(p) ?? T.fresh()
      map.set(p, v)
      return v
    }
    case 'list':
      return T.list(instantiate(p.elem, map))
    case 'map':
      return T.map(instantiate(p.key, map), instantiate(p.val, map))
    case 'struct':
      return T.struct(p.fields.map(f => ({ name: f.name, type: instantiate(f.type, map) })))
    case 'func':
      return T.func(
        p.args.map(a => ({ name: a.name, type: instantiate(a.type, map) })),
        instantiate(p.out, map),
      )
    default:
      return p
  }
}

/** The name used for a kind in type errors: bool str int float list map struct func variant. */
export function kindName(t: Type): string {
  const p = prune(t)
  return p.k === 'var' ? `?${p.id}` : p.k
}
