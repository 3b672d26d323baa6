/**
 * Evaluation of a checked program, once. Run-time frames mirror the checker's envs: a frame per
 * block instance (an include, a loop iteration, a call), whose slots hold the values of its
 * variables, computed on first use and kept (a variable is computed once, however many times it
 * is used). Only what is needed is computed: the branch an `if` takes, the right side of `<|>`
 * when the left fails. A catchable error flows like a value until `<|>` catches it; one that
 * reaches a resource is fatal, reported where it arose.
 *
 * The result is what the statements produced: resources (one per name) and edges. A `collect`
 * statement produces one resource per export it names (from the world, through the host's
 * `outside`), the statement's fields and metaparams over the exported ones.
 */

import type { CollectedResource } from '../../../world/world.js'
import type { AliasInst, Env, IncludeInst, IRBlock, IRExpr, IRStmt } from '../check/ir.js'
import { Catchable, isCatchable, LangError } from '../errors.js'
import type { Host } from '../funcs/builtin.js'
import { listLookup, mapLookup } from '../funcs/core.js'
import type { Span } from '../source.js'
import { type FuncType, prune, zonk } from '../types.js'
import {
  int64,
  kindOfValue,
  MAX_STRING,
  McFunc,
  McMap,
  McStruct,
  type Value,
  valueEquals,
} from '../values.js'

type Slot =
  | { s: 'todo'; run: () => Value }
  | { s: 'busy' }
  | { s: 'done'; v: Value }
  | { s: 'err'; e: unknown }

class Frame {
  readonly slots = new Map<object, Slot>()
  /** Frames of the aliases defined here (includes, imports). */
  readonly aliases = new Map<AliasInst, Frame>()
  constructor(
    readonly env: Env,
    readonly parent: Frame | undefined,
  ) {}
}

/** A resource produced by the program, before duplicates are resolved. */
export interface ResOut {
  readonly kind: string
  readonly name: string
  readonly span: Span
  readonly fields: Map<string, { value: Value; span: Span }>
  readonly meta: Map<string, { value: Value; span: Span }>
  readonly edges: { property: string; kind: string; names: string[]; span: Span }[]
  /** A collected resource: what was exported, under its fields and metaparams. */
  readonly base?: Collected
}

/** An exported resource as collected: its raw params and metaparams, and the host that exported it. */
export interface Collected {
  readonly params: Readonly<Record<string, unknown>>
  readonly meta: Readonly<Record<string, unknown>>
  readonly host: string
}

/** An edge statement's halves, with their names computed. */
export interface EdgeOut {
  readonly span: Span
  readonly halves: { kind: string; names: string[]; field?: string }[]
}

export interface Output {
  readonly resources: ResOut[]
  readonly edges: EdgeOut[]
}

/**
 * The most steps (expressions evaluated, loop iterations, resources) one evaluation may take: a
 * program is a description, evaluated again on every change, and the examples take thousands. A
 * loop nested ten deep over ten items, or a function that calls itself twice per level, would
 * otherwise hold the engine for hours.
 */
export const MAX_STEPS = 10_000_000
/** A resource's weight in steps: it is kept, so at most 200,000 fit in an evaluation. */
const RESOURCE_STEPS = 50

export class Evaluator {
  readonly resources: ResOut[] = []
  readonly edges: EdgeOut[] = []
  readonly #scratch = new Map<string, unknown>()
  #steps = 0
  /** The calls, loops and includes being evaluated, outermost first: where the steps went. */
  readonly #within: Span[] = []

  constructor(private readonly host: Host) {}

  /** Runs the top-level block. */
  run(block: IRBlock, globalEnv: Env): Output {
    const global = new Frame(globalEnv, undefined)
    this.block(block, new Frame(block.env, global))
    return { resources: this.resources, edges: this.edges }
  }

  // ---- frames ----

  private frameFor(from: Frame, env: Env): Frame {
    for (let f: Frame | undefined = from; f; f = f.parent) if (f.env === env) return f
    throw new Error('internal: no frame for env')
  }

  private crossAliases(from: Frame, via: readonly AliasInst[]): Frame {
    let f = from
    for (const a of via) f = this.aliasFrame(f, a)
    return f
  }

  /** The frame an alias leads to (an include's body, an import's module), made on first use. */
  private aliasFrame(from: Frame, a: AliasInst): Frame {
    const owner = this.frameFor(from, a.env)
    let f = owner.aliases.get(a)
    if (f) return f
    if (a.t === 'import') {
      if (!a.moduleEnv) return owner
      let g: Frame = owner
      while (g.parent) g = g.parent
      f = new Frame(a.moduleEnv, g)
    } else f = this.includeFrames(owner, a)
    owner.aliases.set(a, f)
    return f
  }

  /** The body frame of an include, its parameters bound to the arguments (computed lazily). */
  private includeFrames(owner: Frame, inc: IncludeInst): Frame {
    const clsFrame = this.frameFor(this.crossAliases(owner, inc.clsVia), inc.cls.env)
    const params = new Frame(inc.paramEnv, clsFrame)
    for (const inst of inc.paramEnv.insts.values()) {
      if (inst.t !== 'param' || !inst.arg) continue
      const arg = inst.arg
      params.slots.set(inst, { s: 'todo', run: () => this.expr(arg.ir!, owner) })
    }
    return new Frame(inc.bodyEnv, params)
  }

  private force(slot: Slot, at: Span): Value {
    switch (slot.s) {
      case 'done':
        return slot.v
      case 'err':
        throw slot.e
      case 'busy':
        throw new LangError('run', 'recursive reference while evaluating', [at])
      case 'todo': {
        const run = slot.run
        Object.assign(slot, { s: 'busy' })
        try {
          const v = run()
          Object.assign(slot, { s: 'done', v })
          return v
        } catch (e) {
          Object.assign(slot, { s: 'err', e })
          throw e
        }
      }
    }
  }

  // ---- expressions ----

  private fail(reason: string, span: Span): Catchable {
    return new Catchable(reason, span)
  }

  /** Counts `n` steps at `span`; past the bound, a located error (not catchable). */
  private step(span: Span, n = 1): void {
    this.#steps += n
    if (this.#steps <= MAX_STEPS) return
    const inner = this.#within.at(-1) ?? span
    const outer = this.#within[0]
    throw new LangError(
      'run',
      `the program takes more than ${MAX_STEPS} steps to evaluate (or makes more than ` +
        `${MAX_STEPS / RESOURCE_STEPS} resources): a loop nested too deep, or a function that calls ` +
        'itself more than once per level, grows exponentially',
      outer && outer !== inner ? [inner, outer] : [inner],
    )
  }

  /** `f()` with `span` on the stack of what is being evaluated. */
  private within<T>(span: Span, f: () => T): T {
    this.#within.push(span)
    try {
      return f()
    } finally {
      this.#within.pop()
    }
  }

  expr(e: IRExpr, frame: Frame): Value {
    this.step(e.span)
    switch (e.k) {
      case 'const':
        return e.value
      case 'list':
        return e.elems.map(x => this.expr(x, frame))
      case 'map':
        return new McMap(e.entries.map(([k, v]) => [this.expr(k, frame), this.expr(v, frame)] as const))
      case 'struct':
        return new McStruct(new Map(e.fields.map(([n, v]) => [n, this.expr(v, frame)])))
      case 'global':
        return e.def.value(this.host)
      case 'var': {
        const target = this.frameFor(this.crossAliases(frame, e.via), e.inst.env)
        let slot = target.slots.get(e.inst)
        if (!slot) {
          const inst = e.inst
          if (inst.t !== 'bind') throw new Error('internal: unbound parameter')
          slot = { s: 'todo', run: () => this.expr(inst.ir!, target) }
          target.slots.set(inst, slot)
        }
        return this.force(slot, e.span)
      }
      case 'lambda': {
        const fn = e
        return new McFunc(args => {
          const f = new Frame(fn.env, frame)
          for (const [i, p] of fn.params.entries()) f.slots.set(p, { s: 'done', v: args[i]! })
          return this.expr(fn.body, f)
        }, fn.params.length)
      }
      case 'apply': {
        const fn = this.expr(e.fn, frame) as McFunc
        const args = e.args.map(a => this.expr(a, frame))
        return this.within(e.span, () => fn.call(args))
      }
      case 'callfunc': {
        const args = e.args.map(a => this.expr(a, frame))
        const def = this.frameFor(this.crossAliases(frame, e.via), e.func.env)
        const f = new Frame(e.env, def)
        for (const [i, p] of e.params.entries()) f.slots.set(p, { s: 'done', v: args[i]! })
        return this.within(e.span, () => this.expr(e.body, f))
      }
      case 'builtin':
        return this.builtin(e, frame)
      case 'op':
        return this.operator(e, frame)
      case 'lookup': {
        const c = this.expr(e.container, frame)
        const i = this.expr(e.index, frame)
        const ctx = { fail: (r: string) => this.fail(r, e.span) }
        return c instanceof McMap ? mapLookup(c, i, ctx) : listLookup(c as Value[], i as bigint, ctx)
      }
      case 'field': {
        const s = this.expr(e.struct, frame) as McStruct
        const v = s.get(e.field)
        if (v !== undefined) return v
        if (e.optional) return this.expr(e.optional, frame)
        throw new LangError('run', `field ${e.field} was not found in struct`, [e.span])
      }
      case 'if':
        return this.expr(this.expr(e.cond, frame) ? e.ifTrue : e.ifFalse, frame)
      case 'except':
        try {
          return this.expr(e.expr, frame)
        } catch (err) {
          if (!isCatchable(err)) throw err
          return this.expr(e.except, frame)
        }
    }
  }

  private builtin(e: IRExpr & { k: 'builtin' }, frame: Frame): Value {
    const args = e.args.map(a => this.expr(a, frame))
    return e.fn.run(args, {
      span: e.span,
      host: this.host,
      module: e.module,
      sig: zonk(e.sig) as FuncType,
      apply: (fn, xs) => fn.call(xs),
      fail: r => this.fail(r, e.span),
      scratch: this.#scratch,
    })
  }

  private operator(e: IRExpr & { k: 'op' }, frame: Frame): Value {
    const [a, b] = e.args.map(x => this.expr(x, frame))
    switch (e.op) {
      case 'not':
        return !a
      case 'and':
        return (a as boolean) && (b as boolean)
      case 'or':
        return (a as boolean) || (b as boolean)
      case '==':
        return valueEquals(a!, b!)
      case '!=':
        return !valueEquals(a!, b!)
      case '<':
        return (a as number) < (b as number)
      case '>':
        return (a as number) > (b as number)
      case '<=':
        return (a as number) <= (b as number)
      case '>=':
        return (a as number) >= (b as number)
      case '+':
        if (typeof a === 'string') return this.joined(a, b as string, e.span)
        return typeof a === 'bigint' ? int64(a + (b as bigint)) : (a as number) + (b as number)
      case '-':
        return typeof a === 'bigint' ? int64(a - (b as bigint)) : (a as number) - (b as number)
      case '*':
        return typeof a === 'bigint' ? int64(a * (b as bigint)) : (a as number) * (b as number)
      case '/':
        if (b === 0n || b === 0) throw this.fail("can't divide by zero", e.span)
        return Number(a) / Number(b)
    }
  }

  /** `a + b`, or a catchable error when that string would be longer than a program may build. */
  private joined(a: string, b: string, span: Span): string {
    if (a.length + b.length > MAX_STRING)
      throw this.fail(`a string of ${a.length + b.length} characters is longer than ${MAX_STRING}`, span)
    return a + b
  }

  /** A value that a resource needs: an uncaught catchable error is fatal here. */
  private sink(e: IRExpr, frame: Frame): Value {
    try {
      return this.expr(e, frame)
    } catch (err) {
      if (isCatchable(err)) throw err.fatal(e.span)
      throw err
    }
  }

  // ---- statements ----

  private block(b: IRBlock, frame: Frame): void {
    for (const s of b.stmts) this.stmt(s, frame)
  }

  private names(e: IRExpr, frame: Frame): string[] {
    const v = this.sink(e, frame)
    return prune(e.type).k === 'list' || Array.isArray(v) ? [...(v as string[])] : [v as string]
  }

  private stmt(s: IRStmt, frame: Frame): void {
    switch (s.k) {
      case 'res':
        this.res(s, frame)
        return
      case 'edge':
        this.edges.push({
          span: s.span,
          halves: s.halves.map(h => ({ kind: h.kind, names: this.names(h.name, frame), field: h.field })),
        })
        return
      case 'if': {
        const branch = this.sink(s.cond, frame) ? s.ifTrue : s.ifFalse
        if (branch) this.block(branch, new Frame(branch.env, frame))
        return
      }
      case 'for': {
        const coll = this.sink(s.expr, frame)
        const pairs: (readonly [Value, Value])[] = s.kv
          ? (coll as McMap).sorted()
          : (coll as Value[]).map((v, i) => [BigInt(i), v] as const)
        for (const [k, v] of pairs) {
          this.step(s.span)
          const loop = new Frame(s.env, frame)
          loop.slots.set(s.a, { s: 'done', v: k })
          loop.slots.set(s.b, { s: 'done', v: v })
          this.within(s.span, () => this.block(s.body, new Frame(s.body.env, loop)))
        }
        return
      }
      case 'include': {
        this.step(s.inst.span)
        this.within(s.inst.span, () => this.block(s.inst.body!, this.aliasFrame(frame, s.inst)))
        return
      }
      case 'panic': {
        const [x, msg] = s.args.map(a => this.sink(a, frame))
        if (msg !== undefined) {
          if (x === true) throw new LangError('run', `panic occurred: ${msg}`, [s.span])
        } else if (x === true) throw new LangError('run', 'bool panic occurred', [s.span])
        else if (typeof x === 'string' && x !== '')
          throw new LangError('run', `str panic occurred: ${x}`, [s.span])
        return
      }
    }
  }

  private res(s: IRStmt & { k: 'res' }, frame: Frame): void {
    const collected = s.node.collect ? this.collected(s, frame) : []
    const names = s.node.collect ? [] : this.names(s.name, frame)
    const fields = new Map<string, { value: Value; span: Span }>()
    const meta = new Map<string, { value: Value; span: Span }>()
    const edges: ResOut['edges'] = []
    for (const item of s.items) {
      if (item.cond && this.sink(item.cond, frame) !== true) continue
      switch (item.k) {
        case 'field':
          fields.set(item.name, { value: this.sink(item.value, frame), span: item.span })
          break
        case 'meta': {
          const v = this.sink(item.value, frame)
          if (item.name) meta.set(item.name, { value: v, span: item.span })
          else for (const [k, x] of (v as McStruct).fields) meta.set(k, { value: x, span: item.span })
          break
        }
        case 'edge':
          edges.push({
            property: item.property,
            kind: item.half.kind,
            names: this.names(item.half.name, frame),
            span: item.span,
          })
          break
      }
    }
    for (const name of names) {
      this.step(s.node.span, RESOURCE_STEPS)
      this.resources.push({ kind: s.node.kind, name, span: s.node.span, fields, meta, edges })
    }
    for (const r of collected) {
      const base = { params: r.params, meta: r.meta ?? {}, host: r.host }
      this.resources.push({ kind: s.node.kind, name: r.name, span: s.node.span, fields, meta, edges, base })
    }
  }

  /** The exports a `collect` statement names: by name from any host, or by name and host. */
  private collected(s: IRStmt & { k: 'res' }, frame: Frame): readonly CollectedResource[] {
    const v = this.sink(s.name, frame)
    const wanted = (Array.isArray(v) ? v : [v]).map(x =>
      x instanceof McStruct
        ? { name: x.get('name') as string, host: x.get('host') as string }
        : { name: x as string },
    )
    return (this.host.outside?.exports() ?? []).filter(
      r =>
        r.kind === s.node.kind &&
        wanted.some(w => w.name === r.name && (w.host === undefined || w.host === r.host)),
    )
  }
}

/** The value's kind, for messages (re-exported for the interpreter). */
export { kindOfValue }
