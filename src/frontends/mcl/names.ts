/**
 * What names refer to: the kinds of definitions (a bind, a parameter, a function, a class, an
 * import or an `include ... as`, a builtin), the scopes that hold them, the namespaces an alias
 * leads to, and the scope every file starts from (the builtins, `$hostname`, `$const...`).
 */
import type { Bind, Block, ClassStmt, FuncStmt, ImportStmt, IncludeStmt, Param, Stmt } from './ast.js'
import type { Builtin, Host, Package } from './funcs/builtin.js'
import { topLevel } from './funcs/index.js'
import type { Unit } from './modules.js'
import { T, type Type } from './types.js'
import type { Value } from './values.js'

export type Def = BindDef | ParamDef | FuncDef | ClassDef | ImportDef | IncludeDef | BuiltinDef | GlobalDef

export interface BindDef {
  readonly t: 'bind'
  readonly node: Bind
  readonly scope: Scope
}
export interface ParamDef {
  readonly t: 'param'
  readonly node: Param
  readonly scope: Scope
}
export interface FuncDef {
  readonly t: 'func'
  readonly node: FuncStmt
  readonly scope: Scope
}
export interface ClassDef {
  readonly t: 'class'
  readonly node: ClassStmt
  readonly scope: Scope
}
export interface ImportDef {
  readonly t: 'import'
  readonly node: ImportStmt
  readonly scope: Scope
  readonly ns: Namespace
}
export interface IncludeDef {
  readonly t: 'include'
  readonly node: IncludeStmt
  readonly scope: Scope
}
export interface BuiltinDef {
  readonly t: 'builtin'
  readonly name: string
  readonly fn: Builtin
}
export interface GlobalDef {
  readonly t: 'global'
  readonly name: string
  readonly type: Type
  readonly value: (host: Host) => Value
}

export type AliasDef = ImportDef | IncludeDef

export type Namespace =
  | {
      readonly t: 'package'
      readonly path: string
      readonly funcs: Map<string, BuiltinDef>
      readonly vars: Map<string, GlobalDef>
    }
  | { readonly t: 'module'; readonly unit: Unit; readonly scope: Scope }
  | { readonly t: 'tree'; readonly vars: Map<string, GlobalDef>; readonly aliases: Map<string, Namespace> }

export class Scope {
  readonly vars = new Map<string, Def>()
  readonly funcs = new Map<string, Def>()
  readonly classes = new Map<string, ClassDef>()
  readonly aliases = new Map<string, AliasDef | { t: 'tree'; ns: Namespace }>()
  /** `import ... as *`. */
  readonly stars: ImportDef[] = []
  constructor(
    readonly parent: Scope | undefined,
    /** The block whose statements define this scope's names (none for parameter scopes). */
    readonly block?: Block,
  ) {}
}

/** What a name refers to: the definition, and the aliases crossed to reach it. */
export interface Ref {
  readonly via: readonly AliasDef[]
  readonly def: Def
}

export type Kind = 'var' | 'func' | 'class'

/** The namespace of a system package (`cache` keeps one per path). */
export function packageNamespace(path: string, pkg: Package, cache: Map<string, Namespace>): Namespace {
  let ns = cache.get(path)
  if (!ns) {
    ns = {
      t: 'package',
      path,
      funcs: new Map(
        Object.entries(pkg.funcs).map(([n, fn]) => [n, { t: 'builtin', name: `${path}.${n}`, fn }]),
      ),
      vars: new Map(
        Object.entries(pkg.vars ?? {}).map(([n, v]) => [
          n,
          { t: 'global', name: `${path}.${n}`, type: v.type, value: v.value },
        ]),
      ),
    }
    cache.set(path, ns)
  }
  return ns
}

/** The `$const...` tree of resource constants. */
function constTree(): Namespace {
  const leaf = (values: Record<string, string | bigint>): Namespace => ({
    t: 'tree',
    vars: new Map(
      Object.entries(values).map(([k, v]) => [
        k,
        { t: 'global', name: k, type: typeof v === 'string' ? T.str : T.int, value: () => v },
      ]),
    ),
    aliases: new Map(),
  })
  const node = (children: Record<string, Namespace>): Namespace => ({
    t: 'tree',
    vars: new Map(),
    aliases: new Map(Object.entries(children)),
  })
  const states = (...s: string[]): Namespace =>
    leaf(Object.fromEntries(s.map(x => [x, x === 'undefined' ? '' : x])))
  return node({
    res: node({
      file: node({ state: states('exists', 'absent', 'undefined') }),
      firewalld: node({ state: states('exists', 'absent', 'undefined') }),
      net: node({ state: states('up', 'down', 'undefined') }),
      gzip: node({
        level: leaf({
          no_compression: 0n,
          best_speed: 1n,
          best_compression: 9n,
          default_compression: -1n,
          huffman_only: -2n,
        }),
      }),
      tar: node({ format: leaf({ unknown: 0n, ustar: 2n, pax: 4n, gnu: 8n }) }),
    }),
  })
}

/** The scope every file starts from: the builtins, `$hostname`, `$purpleidea`, `$const...`. */
export function globalScope(): Scope {
  const s = new Scope(undefined)
  for (const [name, fn] of Object.entries(topLevel)) s.funcs.set(name, { t: 'builtin', name, fn })
  s.vars.set('hostname', { t: 'global', name: 'hostname', type: T.str, value: h => h.hostname })
  s.vars.set('purpleidea', { t: 'global', name: 'purpleidea', type: T.str, value: () => 'hello world!' })
  s.aliases.set('const', { t: 'tree', ns: constTree() })
  return s
}

/** The definition statement of a def, if it has one. */
export function defStmt(d: Def): Stmt | undefined {
  return d.t === 'bind' || d.t === 'func' || d.t === 'class' || d.t === 'import' || d.t === 'include'
    ? d.node
    : undefined
}

/** How the original names a definition in messages: `bind(x)`, `include(c)`. */
export function describe(d: Def): string {
  switch (d.t) {
    case 'bind':
      return `bind(${d.node.name})`
    case 'func':
      return `func(${d.node.name})`
    case 'import':
      return `import(${d.node.path})`
    case 'include':
      return `include(${d.node.name})`
    default:
      return d.t
  }
}
