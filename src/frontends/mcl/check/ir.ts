/**
 * The typed program. Type checking instantiates the syntax tree: every `include` gets its own copy
 * of the class body, every call of a named function its own copy of the function body (so each is
 * typed on its own: those are the polymorphic definitions), while a variable is one shared node
 * however many times it is used (monomorphic). An `Env` is one instantiation of a scope; the
 * instances it holds (`Inst`) carry the types and, for binds, the one typed expression.
 *
 * The evaluator walks these nodes under run-time frames that mirror the envs.
 */
import type { EdgeHalf, Expr, OperatorName, Res } from '../ast.js'
import type { Builtin, ModuleInfo } from '../funcs/builtin.js'
import type { Unit } from '../modules.js'
import type { BindDef, ClassDef, Def, FuncDef, GlobalDef, ImportDef, ParamDef, Scope } from '../scope.js'
import type { Span } from '../source.js'
import type { FuncType, Type } from '../types.js'
import type { Value } from '../values.js'

/** One instantiation of a scope. */
export class Env {
  readonly insts = new Map<Def, Inst>()
  readonly includes = new Map<object, IncludeInst>()
  constructor(
    readonly parent: Env | undefined,
    readonly scope: Scope,
    /** The file whose code this env holds (inherited). */
    readonly unit: Unit,
  ) {}
}

export type Inst = BindInst | ParamInst | FuncInst | ClassInst | ImportInst

/** A variable: typed once, its expression elaborated at its first use. */
export interface BindInst {
  readonly t: 'bind'
  readonly def: BindDef
  readonly env: Env
  ir?: IRExpr
  busy?: boolean
}

/** An include's argument: elaborated once in the including env, shared by every use. */
export interface ArgInst {
  readonly expr: Expr
  readonly env: Env
  ir?: IRExpr
}

/** A parameter of a lambda, a function call, a loop or a class (`arg` for a class). */
export interface ParamInst {
  readonly t: 'param'
  readonly def: ParamDef
  readonly env: Env
  readonly type: Type
  readonly arg?: ArgInst
}

export interface FuncInst {
  readonly t: 'func'
  readonly def: FuncDef
  readonly env: Env
}

export interface ClassInst {
  readonly t: 'class'
  readonly def: ClassDef
  readonly env: Env
}

/** An import: a system package, or a module's top level instantiated for this import. */
export interface ImportInst {
  readonly t: 'import'
  readonly def: ImportDef
  readonly env: Env
  /** The module's env (undefined for a system package). */
  readonly moduleEnv?: Env
}

/** One include of a class: its parameter and body envs, and (once checked) its statements. */
export interface IncludeInst {
  readonly t: 'include'
  readonly span: Span
  readonly env: Env
  readonly cls: ClassInst
  /** The aliases crossed to reach the class (`include alias.inner`). */
  readonly clsVia: readonly AliasInst[]
  readonly paramEnv: Env
  readonly bodyEnv: Env
  readonly args: ArgInst[]
  body?: IRBlock
}

/** An alias crossed at run time: an include's body, or an import's module. */
export type AliasInst = IncludeInst | ImportInst

interface Base {
  readonly span: Span
  readonly type: Type
}

export type IRExpr = Base &
  (
    | { readonly k: 'const'; readonly value: Value }
    | { readonly k: 'list'; readonly elems: IRExpr[] }
    | { readonly k: 'map'; readonly entries: (readonly [IRExpr, IRExpr])[] }
    | { readonly k: 'struct'; readonly fields: (readonly [string, IRExpr])[] }
    | {
        readonly k: 'var'
        readonly inst: BindInst | ParamInst
        readonly via: readonly AliasInst[]
        /** From a string interpolation: a `str` where a name is expected. */
        readonly interpolated?: boolean
      }
    | { readonly k: 'global'; readonly def: GlobalDef }
    | { readonly k: 'lambda'; readonly env: Env; readonly params: ParamInst[]; readonly body: IRExpr }
    | { readonly k: 'apply'; readonly fn: IRExpr; readonly args: IRExpr[] }
    | {
        readonly k: 'callfunc'
        readonly func: FuncInst
        readonly via: readonly AliasInst[]
        readonly env: Env
        readonly params: ParamInst[]
        readonly body: IRExpr
        readonly args: IRExpr[]
      }
    | {
        readonly k: 'builtin'
        readonly name: string
        readonly fn: Builtin
        readonly args: IRExpr[]
        readonly sig: FuncType
        readonly module: ModuleInfo
      }
    | { readonly k: 'op'; readonly op: OperatorName; readonly args: IRExpr[] }
    | { readonly k: 'lookup'; readonly container: IRExpr; readonly index: IRExpr }
    | { readonly k: 'field'; readonly struct: IRExpr; readonly field: string; readonly optional?: IRExpr }
    | { readonly k: 'if'; readonly cond: IRExpr; readonly ifTrue: IRExpr; readonly ifFalse: IRExpr }
    | { readonly k: 'except'; readonly expr: IRExpr; readonly except: IRExpr }
  )

export type IRItem =
  | {
      readonly k: 'field'
      readonly span: Span
      readonly name: string
      readonly value: IRExpr
      readonly cond?: IRExpr
    }
  | {
      readonly k: 'meta'
      readonly span: Span
      readonly name?: string
      readonly value: IRExpr
      readonly cond?: IRExpr
    }
  | {
      readonly k: 'edge'
      readonly span: Span
      readonly property: string
      readonly half: IRHalf
      readonly cond?: IRExpr
    }

export interface IRHalf {
  readonly span: Span
  readonly kind: string
  readonly name: IRExpr
  readonly field?: string
  readonly node: EdgeHalf
}

export type IRStmt =
  | { readonly k: 'res'; readonly node: Res; readonly name: IRExpr; readonly items: IRItem[] }
  | { readonly k: 'edge'; readonly span: Span; readonly halves: IRHalf[] }
  | { readonly k: 'if'; readonly cond: IRExpr; readonly ifTrue: IRBlock; readonly ifFalse?: IRBlock }
  | {
      readonly k: 'for'
      readonly kv: boolean
      readonly span: Span
      readonly expr: IRExpr
      readonly env: Env
      readonly a: ParamInst
      readonly b: ParamInst
      readonly body: IRBlock
    }
  | { readonly k: 'include'; readonly inst: IncludeInst }
  | { readonly k: 'panic'; readonly span: Span; readonly args: IRExpr[] }

export interface IRBlock {
  readonly env: Env
  readonly stmts: IRStmt[]
}
