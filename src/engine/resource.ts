/**
 * The resource contract. Every kind (file, exec, svc, ...) is one `ResourceDef`, written once with
 * `defineResource` and listed in `src/resources/index.ts`. This file is the only place where the
 * contract is described; the kinds stay lean.
 *
 * ## Lifecycle
 *
 * For each vertex of a graph the engine does, in order:
 *
 * 1. **params**: the raw parameters (YAML keys, verbatim) are parsed by `params`, a zod object
 *    schema that supplies defaults and checks each field. Then `normalize` (optional) fills values
 *    that depend on the resource's name (`file.path` defaults to the name). Downstream, params are
 *    readonly.
 * 2. **validate** (optional, pure): cross-field checks ("content and source are exclusive"). It
 *    returns every problem at once, each with its key path. No I/O: it runs before `init`, also for
 *    graphs that will never be applied (`--noop` checks, the library's dry validation).
 * 3. **init**: called once when the vertex starts. It receives the params and a `ResourceContext`
 *    and returns the running `Instance`. The closure holds the resource's private state (caches,
 *    watchers). init should be cheap and must not change the system.
 * 4. **watch**: runs in its own task for the whole life of the vertex. It sets up its watchers,
 *    then calls `ctx.event()` once to say "ready" (the engine never calls `checkApply` before that
 *    first event), then calls `ctx.event()` again for every change that may need a `checkApply`.
 *    Spurious events are fine; a missed event is a bug. It returns when `signal` aborts (a normal
 *    stop) and throws on failure (the engine retries it per the `retry`/`delay` metaparams). A
 *    watch whose watchers all end with `signal` by themselves (`ctx.watchPath`), or that has
 *    nothing to follow, may return once it said "ready": an idle resource then holds no task.
 * 5. **checkApply(apply)**: compare the system with the params. Return `true` when the state was
 *    already right. When it is wrong and `apply` is false (noop), change nothing, log what would
 *    change, and return `false`. When it is wrong and `apply` is true, fix it and return `false`.
 *    Throw on failure. It must converge in one call; running it twice in a row is normal (its own
 *    change usually triggers a watch event). `signal` aborts on a forced shutdown or `timeout`.
 * 6. **cleanup** (optional): called once after watch has returned and no checkApply is running.
 *
 * ## Refresh, send/recv, world
 *
 * `ctx.refresh()` is true when an incoming `notify` edge carries a pending notification; kinds with
 * `traits.refreshable` act on it (reload, regenerate). `ctx.send(values)` publishes the kind's
 * `sends` values in every successful checkApply (typed: a kind can only send what its `sends`
 * declares); `ctx.recv()` tells which received params changed.
 *
 * ## Secrets
 *
 * A kind lists in `sensitive` the sends that are secrets (password's `password`). The engine keeps
 * the mark along send/recv: a received secret has `ctx.recv()[param].sensitive`, and a resource
 * that received one sends nothing but secrets itself (a `value` passing a password on). A kind
 * never logs a sensitive value: where it would show one (a diff, a message), it says
 * `(sensitive content changed)`. The engine backs this up for every kind, present and future: the
 * logger of a resource that sent or received a secret replaces the secret's text, wherever it
 * appears in a line (its own, the engine's, `--debug`, JSON), with `(sensitive)`. `ctx.world` reaches the shared
 * key/value store and exported resources. `ctx.state` keeps the resource's own small files (a
 * password's token, a value, a command's last outputs) across restarts.
 *
 * ## Typed kinds, plain engine
 *
 * A kind is written against its own types (`defineResource` infers them from its schemas); the
 * engine holds every kind as an `AnyResourceDef`, over plain records. `anyDef` is the one place the
 * two meet: the params the engine hands a kind were parsed by that kind's own schema.
 *
 * ## Groups and parts
 *
 * Grouped resources run as one vertex (see `groupCmp` and `partOf`): the engine calls every
 * member's watch and checkApply, in order, the first member (the parent) first. `ctx.group()` gives
 * the parent its members' running instances. A *part* (`partOf`: an `http:server:file` of its
 * `http:server`) is always grouped into its parent, which uses it through an interface beyond
 * `Instance` that the parent's kind defines (the file's instance serves the file to its server).
 * Members receive values like any resource: `ctx.recv()` is their own.
 */
import type { z } from 'zod'
import type { Issue } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { World } from '../world/world.js'

/** What a kind can take part in. Absent means no. */
export interface Traits {
  /** Acts on `ctx.refresh()` (a notification from an upstream `notify` edge). */
  readonly refreshable?: boolean
  /** Several vertices of this kind may merge into one (autogroup). */
  readonly groupable?: boolean
  /**
   * Its watch follows paths (`ctx.watchPath`) or nothing, and returns once it said ready: the
   * engine then hands it one signal shared by every such resource (and ends each one's paths
   * itself), which saves an AbortController a resource.
   */
  readonly pathWatch?: boolean
}

/** One received value's state, by the receiving param's key. */
export interface RecvState {
  /** The sender, as `kind[name]`, and its key. */
  readonly from: string
  readonly key: string
  /** The value differs from the last one this resource applied; sticky until a successful checkApply. */
  readonly changed: boolean
  /** The value is a secret (see `sensitive`): never show it, say `(sensitive content changed)`. */
  readonly sensitive?: boolean
}

/** A resource's own small files, in its private directory, kept across restarts. */
export interface StateFiles {
  /** The file's content as text, or undefined when it does not exist. */
  read(name: string): Promise<string | undefined>
  /** The file's bytes, or undefined when it does not exist. */
  readBytes(name: string): Promise<Buffer | undefined>
  /**
   * The file's JSON value, or undefined when it does not exist or is not JSON: a state file broken
   * by hand holds nothing, and the next write replaces it. Its shape is the caller's to check.
   */
  readJson(name: string): Promise<unknown>
  /** Replaces the file atomically (temporary file, fsync, rename, directory fsync); mode 0600 by default. */
  write(name: string, data: string | Uint8Array, mode?: number): Promise<void>
  /** The file's absolute path (to watch it, or to name it in a message); its directory exists. */
  path(name: string): Promise<string>
}

/**
 * Everything a resource may use; nothing is global. `Sent` is what the kind may send: its `sends`
 * keys and their value types.
 */
export interface ResourceContext<Sent extends object = Readonly<Record<string, unknown>>> {
  readonly kind: string
  readonly name: string
  readonly hostname: string
  readonly debug: boolean
  /**
   * Show what a real run changes in detail (`--diff`): a file's content as a unified diff, never a
   * sensitive value (as in noop).
   */
  readonly diff: boolean
  /** Prefixed with `kind[name]`. */
  readonly log: Logger
  /** From watch: "something may have changed" (the first call means "ready"). */
  event(): void
  /** In checkApply: is a notification pending? */
  refresh(): boolean
  /** In checkApply: publish this kind's sendable values. */
  send(values: Readonly<Sent>): void
  /** In checkApply: the state of each received param. */
  recv(): Readonly<Record<string, RecvState>>
  readonly world: World
  /** This resource's own small state files. */
  readonly state: StateFiles
  /**
   * Calls `onChange` on every change of `path`: creation, removal, rename, content, mode, owner
   * (and, with `recursive`, of anything below it). Works when the path or its parents do not exist
   * yet. One inotify watch per directory is shared by every resource of the engine. Resolves once
   * the watch is in place; ends when `signal` aborts.
   */
  watchPath(
    path: string,
    signal: AbortSignal,
    onChange: () => void,
    opts?: { recursive?: boolean },
  ): Promise<void>
  /** The other resources of the running graph (file `purge` keeps what they manage). */
  graph(): readonly GraphResource[]
  /** The resources grouped into this one (autogroup, or parts), once watch runs; empty for others. */
  group(): readonly GroupMember[]
}

/** A member of a grouped vertex, as its parent sees it through `ctx.group()`. */
export interface GroupMember {
  readonly kind: string
  readonly name: string
  /** What its `init` returned; a part's instance also implements its parent's interface. */
  readonly instance: Instance
}

/** The resource that a part belongs to: a kind and a name (no name: the only one of that kind). */
export interface PartOf {
  readonly kind: string
  readonly name?: string | undefined
}

/** A resource of the running graph, as `ctx.graph()` shows it. */
export interface GraphResource {
  readonly kind: string
  readonly name: string
  readonly params: Readonly<Record<string, unknown>>
}

/** A running resource, returned by `init`. */
export interface Instance {
  watch(signal: AbortSignal): Promise<void>
  checkApply(apply: boolean, signal: AbortSignal): Promise<boolean>
  cleanup?(): Promise<void>
  /** Third ^C: stop now (kill child processes). */
  interrupt?(): void
}

/** The zod object type every params schema is. */
export type ParamsSchema = z.ZodObject<z.ZodRawShape>

/** A kind's sendable values: key → zod schema of the value. */
export type SendsShape = Readonly<Record<string, z.ZodType>>

export interface ResourceDef<
  K extends string = string,
  S extends ParamsSchema = ParamsSchema,
  Snd extends SendsShape = SendsShape,
> {
  /** Lower case, colons allowed: `http:server:file` (file name `http_server_file.ts`). */
  readonly kind: K
  /** The parameters, keyed by their YAML names, with defaults. Strict: unknown keys are reported. */
  readonly params: S
  /** Keys of older versions, accepted with a warning and dropped: key → what to use instead. */
  readonly obsolete?: Readonly<Record<string, string>>
  readonly traits?: Traits
  /** Sendable values: key → zod schema of the value. */
  readonly sends?: Snd
  /** Keys of `sends` whose values are secrets: never shown, and marked along send/recv. */
  readonly sensitive?: readonly (keyof Snd & string)[]
  /**
   * Params whose strings may hold any character, NUL included (a file's content). A NUL anywhere
   * else is an error at load: those strings reach the system as paths, commands and names, and it
   * takes none with a NUL.
   */
  readonly anyText?: readonly (keyof z.output<S> & string)[]
  /** Fill name-dependent defaults (`path` from the name). Pure. */
  normalize?(params: z.output<S>, name: string): z.output<S>
  /** Cross-field checks (and of the name, for kinds whose name is a path). Pure; returns every problem. */
  validate?(params: Readonly<z.output<S>>, name: string): Issue[]
  /**
   * What this resource is, for automatic edges: unique strings such as `file:/etc/motd`. Two
   * resources of one graph with a uid in common would manage one thing twice: a load-time
   * conflict. Pure, or at most a cheap synchronous read of local state (an installed package lists
   * the files it ships, from dpkg's database); it runs when the graph is compiled, never changes
   * anything.
   */
  uids?(params: Readonly<z.output<S>>, name: string): readonly string[]
  /**
   * More things this resource stands for, for automatic edges only, that several resources may
   * share without conflict: the files a package ships (`pkgfile:/usr/bin/jq`; many ship `/usr/`).
   * A need that names one depends on every resource that provides it. Pure, as `uids`.
   */
  provides?(params: Readonly<z.output<S>>, name: string): readonly string[]
  /**
   * What this resource needs, for automatic edges. Each entry lists candidate uids, nearest
   * first (a file lists its parent directories upwards); the first candidate that another resource
   * of the graph has becomes an edge from that resource to this one. Pure and cheap: it runs for
   * every resource of every new graph. A list may be lazy (a generator): it is read only until a
   * candidate is found, and not at all when no resource has a uid of its first candidate's kind
   * (the part before `:`), so a file's need of a package costs nothing in a graph without one. A
   * `KindNeed` names that kind itself: it is skipped without being started.
   */
  autoEdges?(params: Readonly<z.output<S>>, name: string): Iterable<Iterable<string>>
  /**
   * For meta `reverse`: the raw params of a resource that would put back what is there now, read
   * before this resource first changes anything (undefined: nothing to put back). The engine keeps
   * them on disk and applies them once when the resource leaves the graph.
   */
  reversed?(params: Readonly<z.output<S>>): Promise<Record<string, unknown> | undefined>
  /**
   * With `traits.groupable`: may the resource with params `b` be grouped into the one with params
   * `a`? Absent means yes. Grouped resources run as one vertex: one watch of them all, and their
   * checkApply calls one after the other (a package kind could apply them in one transaction).
   */
  groupCmp?(a: Readonly<z.output<S>>, b: Readonly<z.output<S>>): boolean
  /**
   * A part of another resource (`http:server:file` of its `http:server`): the resource it runs
   * inside, or undefined. The engine groups a part into its parent whatever the autogroup settings
   * (it has no life of its own); a graph where it cannot (no such parent, several candidates, a
   * path of edges between the two, or the part sends values) is invalid. Pure.
   */
  partOf?(params: Readonly<z.output<S>>, name: string): PartOf | undefined
  /**
   * With `traits.groupable`: runs a grouped vertex as one instance, so that its members are applied
   * together (pkg installs them in one transaction). `members[0]` is the vertex's own resource;
   * every member's `ctx.event()` is the vertex's. Absent: each member gets its own `init`, one
   * watch of them all, and their checkApply calls one after the other.
   */
  initGroup?(members: readonly GroupedResource<z.output<S>>[]): Instance | Promise<Instance>
  /** Why two param sets differ, or undefined when they are the same. Defaults to a deep compare. */
  cmp?(a: Readonly<z.output<S>>, b: Readonly<z.output<S>>): string | undefined
  init(params: Readonly<z.output<S>>, ctx: ResourceContext<SentValues<Snd>>): Instance | Promise<Instance>
}

/** The values of a `sends` shape, by key. */
export type SentValues<Snd extends SendsShape> = { [K in keyof Snd]: z.output<Snd[K]> }

/** Params as the engine holds them: a plain record, parsed by the kind's own schema. */
export type PlainParams = Readonly<Record<string, unknown>>

/** A kind as the engine and the registry hold it: every hook over plain records. */
export interface AnyResourceDef {
  readonly kind: string
  readonly params: ParamsSchema
  readonly obsolete?: Readonly<Record<string, string>>
  readonly traits?: Traits
  readonly sends?: SendsShape
  readonly sensitive?: readonly string[]
  readonly anyText?: readonly string[]
  normalize?(params: PlainParams, name: string): PlainParams
  validate?(params: PlainParams, name: string): Issue[]
  uids?(params: PlainParams, name: string): readonly string[]
  provides?(params: PlainParams, name: string): readonly string[]
  autoEdges?(params: PlainParams, name: string): Iterable<Iterable<string>>
  reversed?(params: PlainParams): Promise<Record<string, unknown> | undefined>
  groupCmp?(a: PlainParams, b: PlainParams): boolean
  partOf?(params: PlainParams, name: string): PartOf | undefined
  initGroup?(members: readonly GroupedResource<PlainParams>[]): Instance | Promise<Instance>
  cmp?(a: PlainParams, b: PlainParams): string | undefined
  init(params: PlainParams, ctx: ResourceContext): Instance | Promise<Instance>
}

/**
 * The one adapter between a typed kind and the engine. Sound because the engine only ever passes
 * a kind params that its own `params` schema produced, and a context whose `send` the engine checks
 * against the kind's `sends` when the graph is compiled.
 */
export function anyDef<D extends ResourceDef<string, ParamsSchema, SendsShape>>(def: D): AnyResourceDef {
  return def as unknown as AnyResourceDef
}

/** One resource of a grouped vertex, for `initGroup`. */
export interface GroupedResource<P> {
  readonly name: string
  readonly params: Readonly<P>
  readonly ctx: ResourceContext
}

/** The params type of a definition. */
export type ParamsOf<D> = D extends ResourceDef<string, infer S> ? z.output<S> : never

/** The values a kind sends, by key. */
export type SendsOf<D> = D extends { sends?: infer Snd }
  ? Snd extends SendsShape
    ? { [K in keyof Snd]: z.output<Snd[K]> }
    : Record<never, never>
  : Record<never, never>

/** Returns its argument unchanged; it exists so that the params type flows into `init`. */
export function defineResource<
  K extends string,
  S extends ParamsSchema,
  Snd extends SendsShape = Record<never, z.ZodType>,
>(def: ResourceDef<K, S, Snd>): ResourceDef<K, S, Snd> {
  return def
}

/** `kind[name]`, the way every log line and error names a resource. */
export const repr = (kind: string, name: string): string => `${kind}[${name}]`

/**
 * A need (`autoEdges`) whose candidates are all of one kind of uid (`file:`): the paths after it,
 * produced from `arg` as late as they are read. No list, generator or candidate is made for it in a
 * graph where no resource has a uid of that kind, and each candidate only when it is reached.
 */
export class KindNeed<A = string> implements Iterable<string> {
  constructor(
    readonly kind: string,
    readonly paths: (arg: A) => Iterable<string>,
    readonly arg: A,
  ) {}
  *[Symbol.iterator](): Generator<string> {
    for (const p of this.paths(this.arg)) yield `${this.kind}${p}`
  }
}

/** Resolves when `signal` aborts; for watch loops with nothing else to wait on. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise(resolve => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/**
 * For a watch over a connection (a D-Bus bus, ...): resolves with the error that closed it, or
 * with undefined once `signal` aborts. `onClose` registers a listener and returns its remover.
 */
export function untilClosed(
  onClose: (fn: (e: Error) => void) => () => void,
  signal: AbortSignal,
): Promise<Error | undefined> {
  return new Promise(resolve => {
    const offClose = onClose(resolve)
    const onAbort = (): void => {
      offClose()
      resolve(undefined)
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}
