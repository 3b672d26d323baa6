/**
 * Names: what every variable, function call and include refers to, checked once for the whole
 * program before types.
 *
 * Each block (a file's top level, an `if`/`for`/class body) is a scope whose definitions are all
 * visible in all of it, in any order; inner scopes shadow outer ones. Variables, functions and
 * classes are separate namespaces; imports and `include ... as` add aliases (`$alias.name`).
 * Within one block, the statements that define names and the references between them must form
 * no cycle: there is no recursion of any kind. Imported files are compiled against the builtins
 * only, never against the importer's definitions.
 *
 * Errors about a block's own shape (duplicates, imports, cycles) are raised as the block is
 * walked; references that find nothing are raised afterwards, and only for code that takes part
 * in the program: a class that nobody includes is never checked, as in the original.
 */
export type {
  AliasDef,
  BindDef,
  ClassDef,
  Def,
  FuncDef,
  GlobalDef,
  ImportDef,
  IncludeDef,
  ParamDef,
  Ref,
} from './names.js'
export { Scope } from './names.js'

import { relative } from 'node:path'
import type { Block, Call, ClassStmt, Expr, ImportStmt, IncludeStmt, Lambda, Stmt, VarRef } from './ast.js'
import { LangError } from './errors.js'
import { packages } from './funcs/index.js'
import {
  defaultAlias,
  describeStmt,
  importTarget,
  type Loader,
  type Unit,
  unusedStatement,
} from './modules.js'
import {
  type AliasDef,
  type ClassDef,
  type Def,
  defStmt,
  describe,
  globalScope,
  type ImportDef,
  type Kind,
  type Namespace,
  packageNamespace,
  type Ref,
  Scope,
} from './names.js'
import type { Span } from './source.js'
import { didYouMean } from './suggest.js'
import { children } from './walk.js'

interface Frame {
  readonly scope: Scope
  current?: Stmt
}

interface Pending {
  readonly error: LangError
  /** The innermost class whose body holds the reference. */
  readonly owner?: ClassStmt
}

export class Resolver {
  /** Every reference: `VarRef`, `Call` (by name or through a variable), `IncludeStmt`. */
  readonly refs = new Map<VarRef | Call | IncludeStmt, Ref>()
  /** The scope of each block, and the parameter scope of each lambda, class and loop. */
  readonly scopes = new Map<Block | Lambda | ClassStmt | Stmt, Scope>()
  /** The class statement of each class definition, and where it is defined. */
  readonly classDefs = new Map<ClassStmt, ClassDef>()
  /** The unit (file) of each statement list root. */
  readonly units = new Map<Block, Unit>()
  readonly #edges = new Map<Block, Map<Stmt, Map<Stmt, Span>>>()
  readonly #pending: Pending[] = []
  readonly #walkedUnits = new Set<Unit>()
  readonly #unitScopes = new Map<Unit, Scope>()
  readonly #global = globalScope()
  readonly #packages = new Map<string, Namespace>()
  readonly #stack: Frame[] = []
  #owner: ClassStmt | undefined
  #loops = 0

  constructor(private readonly loader: Loader) {}

  /** Resolves a whole program from its entry unit; throws the first `LangError` (stage scope). */
  program(unit: Unit): Scope {
    const scope = this.unitScope(unit)
    this.reportUnresolved(unit.program.block)
    return scope
  }

  /** The top-level scope of a unit, resolving the unit on first use. */
  unitScope(unit: Unit): Scope {
    let scope = this.#unitScopes.get(unit)
    if (scope) return scope
    scope = new Scope(this.#global, unit.program.block)
    this.#unitScopes.set(unit, scope)
    this.units.set(unit.program.block, unit)
    const saved = this.#stack.splice(0)
    const owner = this.#owner
    this.#owner = undefined
    try {
      this.block(unit.program.block, scope)
    } finally {
      this.#stack.push(...saved)
      this.#owner = owner
    }
    this.#walkedUnits.add(unit)
    return scope
  }

  // ---- declarations ----

  private declare(block: Block, scope: Scope): void {
    this.scopes.set(block, scope)
    const unit = this.unitOf(block)
    for (const s of block.stmts) {
      switch (s.t) {
        case 'bind':
          this.define(scope.vars, 'var', s.name, { t: 'bind', node: s, scope }, s)
          break
        case 'func':
          this.define(scope.funcs, 'func', s.name, { t: 'func', node: s, scope }, s)
          break
        case 'class': {
          const def: ClassDef = { t: 'class', node: s, scope }
          scope.classes.set(s.name, def)
          this.classDefs.set(s, def)
          break
        }
        case 'import':
          this.declareImport(s, scope, unit)
          break
        case 'include':
          if (s.alias) this.defineAlias(scope, s.alias, { t: 'include', node: s, scope }, s)
          break
        default:
          break
      }
    }
  }

  private define(map: Map<string, Def>, kind: string, name: string, def: Def, s: Stmt): void {
    const have = map.get(name)
    if (have)
      throw new LangError(
        'scope',
        `could not generate ordering: duplicate assignment to \`${kind}:${name}\`, have: ${describe(have)}`,
        [s.span],
      )
    map.set(name, def)
  }

  private defineAlias(scope: Scope, name: string, def: AliasDef, s: Stmt): void {
    const have = scope.aliases.get(name)
    if (have) {
      if (def.t === 'import' && have.t === 'import')
        throw new LangError('scope', `import alias \`${name}\` already exists in this scope`, [s.span])
      throw new LangError(
        'scope',
        `could not generate ordering: duplicate assignment to \`scoped:${name}\`, have: ${have.t === 'tree' ? 'builtin' : describe(have)}`,
        [s.span],
      )
    }
    scope.aliases.set(name, def)
  }

  private declareImport(s: ImportStmt, scope: Scope, unit: Unit | undefined): void {
    if (this.#loops > 0) throw new LangError('scope', 'an import is not allowed inside a for loop', [s.span])
    for (const other of [...scope.aliases.values(), ...scope.stars])
      if (other.t === 'import' && other.node.path === s.path)
        throw new LangError('scope', `import \`${s.path}\` already exists in this scope`, [s.span])
    const target = importTarget(s.path)
    if (typeof target === 'string')
      throw new LangError('scope', `import \`${s.path}\` is not valid: ${target}`, [s.span])
    const alias = s.alias ?? defaultAlias(s.path)
    if (alias !== '*' && !/^[a-z]([a-z0-9_]*[a-z0-9])?$/.test(alias))
      throw new LangError(
        'scope',
        `import \`${s.path}\` has an invalid name \`${alias}\`: give it one with \`as\``,
        [s.span],
      )
    let ns: Namespace
    if (target.t === 'system') {
      const pkg = packages[target.name]
      if (!pkg)
        throw new LangError(
          'scope',
          `system import of \`${target.name}\` failed: could not find any non-empty scope named: ${target.name}`,
          [s.span],
        )
      ns = packageNamespace(target.name, pkg, this.#packages)
    } else {
      if (!unit) throw new LangError('scope', `local import of \`${s.path}\` outside of a file`, [s.span])
      ns = this.localImport(s, target.t, unit)
    }
    const def: ImportDef = { t: 'import', node: s, scope, ns }
    if (alias === '*') scope.stars.push(def)
    else this.defineAlias(scope, alias, def, s)
  }

  private localImport(s: ImportStmt, kind: 'file' | 'module' | 'remote', from: Unit): Namespace {
    const fail = (err: unknown): never => {
      if (!(err instanceof LangError)) throw err
      const stage = ['lex', 'parse', 'init', 'interpolate'].includes(err.stage)
        ? 'could not generate AST from import: '
        : ''
      throw new LangError('scope', `local import of \`${s.path}\` failed: ${stage}${err.reason}`, [
        ...err.spans,
        s.span,
      ])
    }
    let unit: Unit
    try {
      if (kind === 'remote') {
        const repo = s.path.slice('git://'.length)
        const dir = (from.module.modules ?? [])
          .map(m => `${m}/${repo}`.replace(/\/+/g, '/').replace(/\/$/, ''))
          .find(d => this.loader.exists(d))
        if (!dir)
          throw new LangError(
            'scope',
            `remote module \`${repo}\` is not in any modules path (\`path:\` in metadata.yaml); downloading modules is not supported yet`,
          )
        const { info, main } = this.loader.moduleAt(dir, `/${relative(this.loader.root, dir)}/`, from.module)
        unit = this.loader.unit(main, info)
      } else {
        const path = `${from.module.dir}/${s.path}`.replace(/\/+/g, '/')
        if (kind === 'file') unit = this.loader.unit(path, from.module)
        else {
          const { info, main } = this.loader.moduleAt(
            path.replace(/\/$/, ''),
            `${from.module.base}${s.path}`,
            from.module,
          )
          unit = this.loader.unit(main, info)
        }
      }
    } catch (err) {
      return fail(err)
    }
    if (!this.#walkedUnits.has(unit) && this.#unitScopes.has(unit))
      throw new LangError('scope', `import cycle: \`${s.path}\` is already being imported`, [s.span])
    const bad = unusedStatement(unit.program.block.stmts)
    if (bad)
      fail(
        new LangError('scope', `module contains unused statements: found stmt: ${describeStmt(bad)}`, [
          bad.span,
        ]),
      )
    let scope: Scope
    try {
      scope = this.unitScope(unit)
    } catch (err) {
      return fail(err)
    }
    return { t: 'module', unit, scope }
  }

  private unitOf(block: Block): Unit | undefined {
    const direct = this.units.get(block)
    if (direct) return direct
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const b = this.#stack[i]!.scope.block
      const u = b && this.units.get(b)
      if (u) return u
    }
    return undefined
  }

  // ---- walking ----

  private block(block: Block, scope: Scope, declared = false): void {
    if (!declared) this.declare(block, scope)
    const frame: Frame = { scope }
    this.#stack.push(frame)
    try {
      for (const s of block.stmts) {
        frame.current = s
        this.stmt(s, scope)
      }
    } finally {
      this.#stack.pop()
    }
    this.checkCycles(block)
  }

  private stmt(s: Stmt, scope: Scope): void {
    switch (s.t) {
      case 'bind':
        this.expr(s.value, scope)
        return
      case 'res':
        this.expr(s.name, scope)
        for (const item of s.items) {
          if (item.cond) this.expr(item.cond, scope)
          if (item.t === 'edge') this.expr(item.half.name, scope)
          else this.expr(item.value, scope)
        }
        return
      case 'edgestmt':
        for (const h of s.halves) this.expr(h.name, scope)
        return
      case 'if':
        this.expr(s.cond, scope)
        this.block(s.ifTrue, new Scope(scope, s.ifTrue))
        if (s.ifFalse) this.block(s.ifFalse, new Scope(scope, s.ifFalse))
        return
      case 'for':
      case 'forkv': {
        this.expr(s.expr, scope)
        const loop = new Scope(scope)
        const [a, b] = s.t === 'for' ? [s.index, s.value] : [s.key, s.value]
        loop.vars.set(a.name, { t: 'param', node: a, scope: loop })
        if (b.name !== a.name) loop.vars.set(b.name, { t: 'param', node: b, scope: loop })
        this.scopes.set(s, loop)
        this.#loops++
        try {
          this.block(s.body, new Scope(loop, s.body))
        } finally {
          this.#loops--
        }
        return
      }
      case 'func':
        this.lambda(s.fn, scope)
        return
      case 'class': {
        const owner = this.#owner
        this.#owner = s
        try {
          this.block(s.body, this.classBody(this.classDefs.get(s)!), true)
        } catch (err) {
          // A class body is checked for the program only where it is included (as the original
          // does): its error waits to be reported with the unresolved names.
          if (!(err instanceof LangError)) throw err
          this.#pending.push({ error: err, owner: s })
        } finally {
          this.#owner = owner
        }
        return
      }
      case 'include':
        this.include(s, scope)
        return
      case 'panic':
        for (const a of s.args) this.expr(a, scope)
        return
      case 'import':
        return
    }
  }

  private include(s: IncludeStmt, scope: Scope): void {
    const ref = this.lookup(scope, s.name, 'class')
    if (!ref) {
      this.unresolved(
        `class \`${s.name}\` does not exist in this scope${didYouMean(s.name, visible(scope, 'class'))}`,
        s.span,
      )
      return
    }
    this.refs.set(s, ref)
    this.depend(ref, s.span)
    const cls = ref.def as ClassDef
    const want = cls.node.params?.length ?? 0
    if (want !== s.args.length)
      this.unresolved(`class \`${s.name}\` expected ${want} args but got ${s.args.length}`, s.span)
    for (const a of s.args) this.expr(a, scope)
  }

  private lambda(fn: Lambda, scope: Scope): void {
    const params = new Scope(scope)
    for (const p of fn.params) params.vars.set(p.name, { t: 'param', node: p, scope: params })
    this.scopes.set(fn, params)
    this.expr(fn.body, params)
  }

  private expr(e: Expr, scope: Scope): void {
    switch (e.t) {
      case 'var': {
        const ref = this.lookup(scope, e.name, 'var')
        if (!ref) {
          this.unresolved(
            `var \`$${e.name}\` does not exist in this scope${didYouMean(e.name, visible(scope, 'var'), n => `\`$${n}\``)}`,
            e.span,
          )
          return
        }
        this.refs.set(e, ref)
        this.depend(ref, e.span)
        return
      }
      case 'lambda':
        this.lambda(e, scope)
        return
      case 'call':
        if (e.callee.t === 'lambda') this.lambda(e.callee.fn, scope)
        else {
          const kind = e.callee.t === 'name' ? 'func' : 'var'
          const ref = this.lookup(scope, e.callee.name, kind)
          if (!ref)
            this.unresolved(
              kind === 'func'
                ? `func \`${e.callee.name}\` does not exist in this scope${didYouMean(e.callee.name, visible(scope, 'func'))}`
                : `lambda \`$${e.callee.name}\` does not exist in this scope`,
              e.span,
            )
          else {
            this.refs.set(e, ref)
            this.depend(ref, e.span)
          }
        }
        for (const a of e.args) this.expr(a, scope)
        return
      default:
        for (const c of children(e)) this.expr(c, scope)
    }
  }

  private unresolved(reason: string, at: Span): void {
    this.#pending.push({ error: new LangError('scope', reason, [at]), owner: this.#owner })
  }

  /** Records that the current statements depend on `ref`'s definition. */
  private depend(ref: Ref, at: Span): void {
    const target: Def = ref.via.length ? ref.via[0]! : ref.def
    const stmt = defStmt(target)
    if (!stmt) return
    const scope = 'scope' in target ? target.scope : undefined
    const frame = this.#stack.find(f => f.scope === scope)
    if (!frame?.current || !scope?.block) return
    const edges = this.#edges.get(scope.block) ?? new Map<Stmt, Map<Stmt, Span>>()
    this.#edges.set(scope.block, edges)
    const from = edges.get(frame.current) ?? new Map<Stmt, Span>()
    edges.set(frame.current, from)
    if (!from.has(stmt)) from.set(stmt, at)
  }

  private checkCycles(block: Block): void {
    const edges = this.#edges.get(block)
    if (!edges) return
    for (const scc of stronglyConnected(block.stmts, edges)) {
      const spans: Span[] = []
      for (const a of scc) for (const [b, at] of edges.get(a) ?? []) if (scc.includes(b)) spans.push(at)
      if (scc.length > 1 || spans.length) {
        spans.sort((x, y) => x.start.offset - y.start.offset || x.file.path.localeCompare(y.file.path))
        throw new LangError('scope', 'recursive reference while setting scope: not a dag', spans)
      }
    }
  }

  // ---- lookups ----

  /** Finds `name` (dotted through aliases) of `kind`, from `scope` outwards. */
  lookup(scope: Scope, name: string, kind: Kind): Ref | undefined {
    const parts = name.split('.')
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const r = this.inScope(s, parts, kind)
      if (r) return r
    }
    return undefined
  }

  private inScope(s: Scope, parts: string[], kind: Kind): Ref | undefined {
    if (parts.length === 1) {
      const map = kind === 'var' ? s.vars : kind === 'func' ? s.funcs : s.classes
      const d = map.get(parts[0]!)
      if (d) return { via: [], def: d }
      for (const star of s.stars) {
        const r = this.inNamespace(star.ns, parts, kind)
        if (r) return { via: [star, ...r.via], def: r.def }
      }
      return undefined
    }
    const alias = s.aliases.get(parts[0]!)
    if (alias) {
      if (alias.t === 'tree') return this.inNamespace(alias.ns, parts.slice(1), kind)
      const r = this.inAlias(alias, parts.slice(1), kind)
      if (r) return { via: [alias, ...r.via], def: r.def }
    }
    for (const star of s.stars) {
      const r = this.inNamespace(star.ns, parts, kind)
      if (r) return { via: [star, ...r.via], def: r.def }
    }
    return undefined
  }

  private inAlias(alias: AliasDef, rest: string[], kind: Kind): Ref | undefined {
    if (alias.t === 'import') return this.inNamespace(alias.ns, rest, kind)
    const cls = this.lookup(alias.scope, alias.node.name, 'class')
    if (!cls) return undefined
    const body = this.classBody(cls.def as ClassDef)
    const r = this.lookup(body, rest.join('.'), kind)
    return r && { via: r.via, def: r.def }
  }

  private inNamespace(ns: Namespace, parts: string[], kind: Kind): Ref | undefined {
    switch (ns.t) {
      case 'package': {
        if (parts.length !== 1) return undefined
        const d =
          kind === 'func' ? ns.funcs.get(parts[0]!) : kind === 'var' ? ns.vars.get(parts[0]!) : undefined
        return d && { via: [], def: d }
      }
      case 'tree': {
        if (parts.length === 1) {
          const d = kind === 'var' ? ns.vars.get(parts[0]!) : undefined
          return d && { via: [], def: d }
        }
        const sub = ns.aliases.get(parts[0]!)
        return sub && this.inNamespace(sub, parts.slice(1), kind)
      }
      case 'module':
        return this.inScope(ns.scope, parts, kind)
    }
  }

  /** The body scope of a class (declared on first use). */
  classBody(def: ClassDef): Scope {
    const have = this.scopes.get(def.node.body)
    if (have) return have
    let params = this.scopes.get(def.node)
    if (!params) {
      params = new Scope(def.scope)
      for (const p of def.node.params ?? []) params.vars.set(p.name, { t: 'param', node: p, scope: params })
      this.scopes.set(def.node, params)
    }
    const body = new Scope(params, def.node.body)
    this.declare(def.node.body, body)
    return body
  }

  // ---- unresolved names ----

  /** Raises the first unresolved reference of the code that takes part in the program. */
  private reportUnresolved(root: Block): void {
    if (!this.#pending.length) return
    const reached = new Set<ClassStmt>()
    const visit = (b: Block): void => {
      for (const s of b.stmts) {
        if (s.t === 'include') {
          const ref = this.refs.get(s)
          const cls = ref?.def.t === 'class' ? ref.def.node : undefined
          if (cls && !reached.has(cls)) {
            reached.add(cls)
            visit(cls.body)
          }
        } else if (s.t === 'if') {
          visit(s.ifTrue)
          if (s.ifFalse) visit(s.ifFalse)
        } else if (s.t === 'for' || s.t === 'forkv') visit(s.body)
      }
    }
    visit(root)
    for (const u of this.#walkedUnits) visit(u.program.block)
    const first = this.#pending.find(p => !p.owner || reached.has(p.owner))
    if (first) throw first.error
  }
}

/** Tarjan's algorithm over the statements of a block. */
function stronglyConnected(nodes: readonly Stmt[], edges: Map<Stmt, Map<Stmt, Span>>): Stmt[][] {
  let index = 0
  const idx = new Map<Stmt, number>()
  const low = new Map<Stmt, number>()
  const on = new Set<Stmt>()
  const stack: Stmt[] = []
  const out: Stmt[][] = []
  const visit = (v: Stmt): void => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: Stmt[] = []
      let w: Stmt
      do {
        w = stack.pop()!
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      out.push(scc)
    }
  }
  for (const n of nodes) if (!idx.has(n)) visit(n)
  return out
}

/** The names of a kind visible from a scope (for suggestions). */
function visible(scope: Scope, kind: Kind): Set<string> {
  const out = new Set<string>()
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const map = kind === 'var' ? s.vars : kind === 'func' ? s.funcs : s.classes
    for (const k of map.keys()) out.add(k)
  }
  return out
}
