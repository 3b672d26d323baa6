/**
 * The longest delay a Node.js timer takes. A longer one (`setTimeout`, `setInterval`, the promise
 * `sleep`) fires after 1 ms with a warning: a `poll` of 30 days would poll a thousand times a
 * second, and a `timeout` of 30 days would time out at once. Every duration a graph or a flag gives
 * to a timer is bounded by these.
 */

/** 2^31 - 1 ms: 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** The longest timer in whole seconds: 2,147,483 s. */
export const MAX_TIMER_S = Math.floor(MAX_TIMER_MS / 1000)

/**
 * Milliseconds on a monotonic clock, for durations: as `performance.now()`, without loading
 * `perf_hooks` (eleven modules, about 1.5 ms of every start) for it.
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime()
  return s * 1e3 + ns / 1e6
}
