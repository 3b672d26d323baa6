/**
 * The World: what the hosts of a cluster share. Two implementations keep one contract (a test
 * suite, `src/testing/worldcontract.ts`, runs against both):
 *
 * - `LocalWorld` (`local.ts`), the embedded default: one host, in-process, persisted under
 *   `<prefix>/world/`, so a single machine needs nothing else installed;
 * - `EtcdWorld` (`etcd/world.ts`): a real etcd cluster, every key under `/_mgmt/`.
 *
 * What is in it:
 * - **strings** (`strGet/strSet/strDel/strWatch`): one value per key, shared by every host;
 * - **string maps** (`strMapGet/strMapSet/strMapDel/strMapWatch`): one value per key *and host*;
 * - **exported resources** (`resExport/resCollect/resWatch`): each host publishes its whole set
 *   of exports at once; every host collects what is exported to it;
 * - **hosts and convergence** (`setConverged/convergedGet/convergedWatch`): each live host is
 *   registered (in etcd under a lease, so a dead host disappears) with its converged state;
 * - **deploys** (`deployAdd/deployGet/deployWatch`): numbered graphs that hosts started with
 *   `mgmt run empty` run, the newest one.
 *
 * Every `...Watch(signal, onChange)` resolves once the watch is in place, calls `onChange` once
 * then and again on every change (spurious calls are allowed, missed ones are not), until
 * `signal` aborts. Callers read the new state themselves.
 */

/** A resource as a host exports it: plain data, so that any host can compile it. */
export interface ExportedResource {
  readonly kind: string
  readonly name: string
  /** Raw params, keyed by their YAML names. */
  readonly params: Readonly<Record<string, unknown>>
  /** Raw metaparams, without `export` and `hidden`. */
  readonly meta?: Readonly<Record<string, unknown>>
  /** The hosts it is exported to; `*` is every host. */
  readonly to: readonly string[]
  /**
   * What the exporting frontend says of the resource in its own terms, for collectors that select
   * by them (Puppet: the resource's type, title, tags and parameters, for `<<| query |>>`). The
   * engine never reads it.
   */
  readonly annotations?: Readonly<Record<string, unknown>>
}

/** An exported resource as a host collects it: who exported it. */
export interface CollectedResource extends ExportedResource {
  readonly host: string
}

/** Which exported resources to collect; an absent field matches everything. */
export interface CollectFilter {
  readonly kind?: string
  readonly name?: string
  /** The exporting host. */
  readonly host?: string
}

/** One file of a deploy: its bytes (base64) and mode. */
export interface DeployFile {
  readonly data: string
  readonly mode: number
}

/** A deploy: a graph and the files it names, stored in the world for every host to run. */
export interface Deploy {
  /** 1, 2, 3...: each deploy gets the next number. */
  readonly id: number
  /** The frontend that reads it (`yaml`). */
  readonly frontend: string
  /** The graph file, a relative path among `files`. */
  readonly main: string
  /** Relative path → file. */
  readonly files: Readonly<Record<string, DeployFile>>
  /** When it was made (ISO 8601), for logs. */
  readonly time: string
}

export interface World {
  /** This host's name in the cluster. */
  readonly hostname: string
  /**
   * Resolves once the world can be used (for etcd: connected, this host registered); rejects when
   * it never will (a managed server that cannot start) or when `close` is called first.
   */
  ready(): Promise<void>

  /** A shared string, or undefined when the key does not exist. */
  strGet(key: string): Promise<string | undefined>
  strSet(key: string, value: string): Promise<void>
  strDel(key: string): Promise<void>
  strWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void>

  /** Every host's value of a per-host key, by host. */
  strMapGet(key: string): Promise<Readonly<Record<string, string>>>
  /** Sets this host's value of the key. */
  strMapSet(key: string, value: string): Promise<void>
  /** Deletes this host's value of the key. */
  strMapDel(key: string): Promise<void>
  strMapWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void>

  /**
   * Publishes this host's whole set of exported resources: new and changed ones are written,
   * the ones no longer in the set are deleted, all in one transaction, and nothing is written
   * when nothing changed (so no watcher wakes for nothing). Resolves true when it wrote.
   */
  resExport(resources: readonly ExportedResource[]): Promise<boolean>
  /** The resources exported to this host (or to `*`) by every host, this one included, sorted. */
  resCollect(filter?: CollectFilter): Promise<CollectedResource[]>
  resWatch(signal: AbortSignal, onChange: () => void): Promise<void>

  /** Publishes this host's converged state. */
  setConverged(converged: boolean): Promise<void>
  /** Every live host and whether it is converged (a host that said nothing yet is not). */
  convergedGet(): Promise<ReadonlyMap<string, boolean>>
  /** Wakes on any change of the live hosts or of their converged states. */
  convergedWatch(signal: AbortSignal, onChange: () => void): Promise<void>

  /** Stores the next deploy; resolves with its number. */
  deployAdd(deploy: Omit<Deploy, 'id'>): Promise<number>
  /** A deploy by number, or the newest one; undefined when there is none. */
  deployGet(id?: number): Promise<Deploy | undefined>
  /** Wakes when a new deploy is stored. */
  deployWatch(signal: AbortSignal, onChange: () => void): Promise<void>

  /** Ends every watch, unregisters this host, and releases what the world holds. */
  close(): Promise<void>
}

/** Keys that never hold a host name: a host name is a non-empty string without `/`. */
export function validHostname(h: string): boolean {
  return h !== '' && !h.includes('/')
}

/** Is `r` exported to `host`? */
export const exportedTo = (r: ExportedResource, host: string): boolean =>
  r.to.includes('*') || r.to.includes(host)

/** Does `r` pass `f`? */
export const matches = (r: CollectedResource, f: CollectFilter = {}): boolean =>
  (f.kind === undefined || r.kind === f.kind) &&
  (f.name === undefined || r.name === f.name) &&
  (f.host === undefined || r.host === f.host)

/** Collected resources in a stable order: by host, kind, then name. */
export function sortCollected(rs: CollectedResource[]): CollectedResource[] {
  const key = (r: CollectedResource): string => `${r.host}\0${r.kind}\0${r.name}`
  return rs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/** One JSON text per exported resource, the same for the same content (keys sorted). */
export function exportJson(r: ExportedResource): string {
  const { kind, name, params, annotations } = r
  return stableJson({
    kind,
    name,
    params,
    meta: r.meta ?? {},
    to: [...r.to],
    ...(annotations && { annotations }),
  })
}

/** JSON with object keys sorted, so that equal values have equal texts. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  )
}

/** Waits for the world to be ready; false when `signal` aborts first (a ^C while a frontend or the exchange waits). */
export async function worldReady(world: World, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false
  let onAbort: (() => void) | undefined
  const aborted = new Promise<false>(resolve => {
    onAbort = () => resolve(false)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([world.ready().then(() => true as const), aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}
