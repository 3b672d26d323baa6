/**
 * The contract of a builtin function. Its type comes from one of the three mechanisms of the
 * original:
 *
 * 1. a signature with variables (`func(?1) int`) and, optionally, a `check` run once the types
 *    are solved (len accepts only str, lists and maps);
 * 2. `infer`: the signature is computed per call from the number of arguments and what is
 *    statically known of their types and values (printf's format string decides its arity);
 * 3. named arguments (`argNames`), which only label the signature.
 *
 * `run` computes the value once the arguments are known. Builtins that stream in the original
 * (a clock, a watched file) return their first value: this stage evaluates a program once.
 */
import type { Catchable } from '../errors.js'
import type { Outside } from '../run/outside.js'
import type { Span } from '../source.js'
import type { FuncType, Type } from '../types.js'
import type { McFunc, Value } from '../values.js'

/** What is known of a call's arguments before unification. */
export interface InferInput {
  readonly argc: number
  /** Statically known types (may contain variables); undefined when unknown. */
  readonly types: readonly (Type | undefined)[]
  /** Statically known values (constants and what follows from them); undefined when unknown. */
  readonly values: readonly (Value | undefined)[]
}

/** Where the program runs, for the builtins that look at the host. */
export interface Host {
  readonly hostname: string
  /** The program's arguments (`os.args`). */
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string | undefined>>
  /** Where `local.vardir` makes its directories. */
  readonly varDir?: string
  /** The world and the kept values, as far as fetched (`run/outside.ts`); absent: an empty world. */
  readonly outside?: Outside
}

/** The module a call was written in, for `deploy.*`. */
export interface ModuleInfo {
  /** The directory of the module's main file on disk: local imports are relative to it. */
  readonly dir: string
  /** Its directory relative to the deploy's root, with a leading and trailing `/`. */
  readonly base: string
  /** The deploy's root on disk. */
  readonly root: string
  /** The module's files directory on disk (metadata `files`, default `files/`). */
  readonly files: string
  /** Where remote modules are searched on disk: the metadata `path`s up the importer chain. */
  readonly modules?: readonly string[]
}

export interface RunContext {
  readonly span: Span
  readonly host: Host
  readonly module: ModuleInfo
  /** The call's solved signature. */
  readonly sig: FuncType
  /** Calls a function value. */
  apply(fn: McFunc, args: readonly Value[]): Value
  /** A catchable error at this call. */
  fail(reason: string): Catchable
  /** State shared by the calls of one evaluation (`local.pool` allocations). */
  readonly scratch: Map<string, unknown>
}

export interface Builtin {
  /** A fixed signature, written as a type (`func(a str, b str) str`, `func(?1) int`). */
  readonly sig?: string
  /** Mechanism 2: the signature for this call. Throws an Error whose message explains. */
  readonly infer?: (input: InferInput) => Type
  /** Mechanism 1: rejects a solution outside what the function accepts (returns why). */
  readonly check?: (sig: FuncType) => string | undefined
  readonly run: (args: readonly Value[], ctx: RunContext) => Value
  /** Same inputs, same output, no effects: may run at compile time on constants. */
  readonly pure?: boolean
}

/** A package: its functions and variables (`$os.family_debian`). */
export interface Package {
  readonly funcs: Readonly<Record<string, Builtin>>
  readonly vars?: Readonly<Record<string, { readonly type: Type; readonly value: (host: Host) => Value }>>
}
