/**
 * The type constraints of a program and their solution. Equalities are unified in the order they
 * were produced (the order of the program, as the original does, so that the same error is
 * found first); a failure is reported at the node that produced the constraint. Some constraints
 * wait until a type is known (the container of `x[i]`, the struct of `x->f`): they run where they
 * stand if they can, else once everything else is solved. Then every constraint must be fully
 * known (an empty list nothing constrains is ambiguous), and the builtins' own checks run.
 */
import { LangError } from '../errors.js'
import type { Span } from '../source.js'
import { isConcrete, type Type, typeString, zonk } from '../types.js'
import { UnifyError, unify } from '../unify.js'

export type Invariant =
  | {
      readonly k: 'eq'
      readonly span: Span
      readonly expect: Type
      readonly actual: Type
      /** What is being typed, for the message (`field \`content\` of file`). */
      readonly what?: string
    }
  | {
      readonly k: 'wait'
      readonly span: Span
      /** Tries to resolve; true when done. Throws a `LangError` or `UnifyError` on failure. */
      readonly step: () => boolean
      /** The error when it never resolved. */
      readonly stuck: () => string
    }

export interface PostCheck {
  readonly span: Span
  /** The problem, once types are solved. */
  readonly run: () => string | undefined
}

export class Solver {
  readonly #list: Invariant[] = []
  readonly #late: Invariant[] = []
  readonly #posts: PostCheck[] = []

  eq(span: Span, expect: Type, actual: Type, what?: string): void {
    this.#list.push({ k: 'eq', span, expect, actual, what })
  }

  /** An equality checked only after all the others (it must never mask them). */
  lateEq(span: Span, expect: Type, actual: Type): void {
    this.#late.push({ k: 'eq', span, expect, actual })
  }

  wait(span: Span, step: () => boolean, stuck: () => string): void {
    this.#list.push({ k: 'wait', span, step, stuck })
  }

  post(span: Span, run: () => string | undefined): void {
    this.#posts.push({ span, run })
  }

  solve(): void {
    const pending: Invariant[] = []
    for (const inv of this.#list) if (!this.apply(inv)) pending.push(inv)
    for (let progress = true; progress && pending.length; ) {
      progress = false
      for (let i = 0; i < pending.length; i++)
        if (this.apply(pending[i]!)) {
          pending.splice(i--, 1)
          progress = true
        }
    }
    for (const inv of pending)
      throw new LangError('type', inv.k === 'wait' ? inv.stuck() : 'unsolved', [inv.span])
    for (const inv of this.#late) this.apply(inv)
    for (const inv of this.#list)
      if (inv.k === 'eq' && !isConcrete(inv.expect))
        throw new LangError('type', `expr is ambiguous: ${typeString(zonk(inv.expect))}`, [inv.span])
    for (const p of this.#posts) {
      const problem = p.run()
      if (problem) throw new LangError('type', problem, [p.span])
    }
  }

  /** Applies one constraint; false when it has to wait. */
  private apply(inv: Invariant): boolean {
    try {
      if (inv.k === 'eq') {
        unify(inv.expect, inv.actual)
        return true
      }
      return inv.step()
    } catch (err) {
      if (err instanceof UnifyError) {
        const what = inv.k === 'eq' && inv.what
        throw new LangError('type', what ? `${err.message} (${what})` : err.message, [inv.span])
      }
      throw err
    }
  }
}
