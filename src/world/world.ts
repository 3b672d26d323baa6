/**
 * The World: what hosts share. Today it holds string keys, in-process (`memory.ts`); resources reach
 * it through `ctx.world`.
 */

export interface World {
  /** This host's name in the cluster. */
  readonly hostname: string
  /** A shared string, or undefined when the key does not exist. */
  strGet(key: string): Promise<string | undefined>
  strSet(key: string, value: string): Promise<void>
  strDel(key: string): Promise<void>
  /** Calls `onChange` once the watch is established and on every change of the key, until `signal` aborts. */
  strWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void>
  close(): Promise<void>
}
