/**
 * A signal that aborts when another one does, for as long as it is linked.
 *
 * `AbortSignal.any([long, short])` keeps an entry in `long` for as long as `long` lives, whether or
 * not the combined signal is still used: 40 to 100 bytes a call on Node.js 20 and 24, never given
 * back. Made again and again from a long-lived signal (the engine's cancellation, once per timed
 * check or per request), those entries pile up for the life of the engine. A link is a listener on
 * the long-lived signal instead, removed by `unlink`, so nothing stays once the work is done. The
 * long-lived signal may carry many links at once: its owner lifts the listener limit
 * (`events.setMaxListeners(0, signal)`), as the engine does for its cancellation.
 */

export interface Link {
  /** Aborts with `from`'s reason when `from` aborts, until unlinked. */
  readonly signal: AbortSignal
  /** Aborts `signal` itself (a timeout, the end of what it guards), with `reason`, and unlinks. */
  abort(reason?: unknown): void
  /** Stops following `from` without aborting: call it when the work the signal guards is done. */
  unlink(): void
}

/** A signal of its own that follows `from` until unlinked. */
export function linkSignal(from: AbortSignal): Link {
  const ac = new AbortController()
  const onAbort = (): void => ac.abort(from.reason)
  const unlink = (): void => from.removeEventListener('abort', onAbort)
  if (from.aborted) ac.abort(from.reason)
  else from.addEventListener('abort', onAbort, { once: true })
  return {
    signal: ac.signal,
    abort: reason => {
      unlink()
      ac.abort(reason)
    },
    unlink,
  }
}
