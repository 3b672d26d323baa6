/**
 * A token bucket for the `limit` (events per second) and `burst` metaparams: watch events beyond
 * the rate wait for a token. An unlimited bucket never waits.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { MAX_TIMER_MS, monotonicMs } from '../../util/timers.js'

export class TokenBucket {
  #tokens: number
  #last = monotonicMs()

  constructor(
    readonly limit: number,
    readonly burst: number,
  ) {
    this.#tokens = burst
  }

  /** Waits until a token is free, then takes it. */
  async take(signal?: AbortSignal): Promise<void> {
    if (this.limit === Number.POSITIVE_INFINITY) return
    for (;;) {
      const now = monotonicMs()
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.limit)
      this.#last = now
      if (this.#tokens >= 1) {
        this.#tokens -= 1
        return
      }
      // A rate of one event in months waits in steps a timer can take; the loop counts again.
      await sleep(Math.min(MAX_TIMER_MS, ((1 - this.#tokens) / this.limit) * 1000), undefined, { signal })
    }
  }
}
