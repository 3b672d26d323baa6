/** The etcd3 client as every part of the etcd world makes it, and waiting for etcd to answer. */
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  retry,
} from 'cockatiel'
import { Etcd3, isRecoverableError, type Namespace } from 'etcd3'
import { describeError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'

/**
 * An error that fault handling retries and counts toward opening the breaker: etcd3's transient
 * ones, but not a request refused as beyond etcd's limits. That one is as large the next time, and
 * three of them would open the breaker and fail every other request for a moment.
 */
const transient = (e: Error): boolean => isRecoverableError(e) && !limitRefusal(e)

/** How long a request may take before it fails (a watch is not a request). */
const CALL_MS = 10_000

/** A client of the etcd at `endpoints` (client URLs), tuned to come back fast after an outage. */
export function etcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    grpcOptions: {
      // Reconnect within a fraction of a second when etcd is back (gRPC's own backoff grows to 2 min).
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 500,
    },
    defaultCallOptions: ctx => (ctx.isStream ? {} : { deadline: Date.now() + CALL_MS }),
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(transient), {
          halfOpenAfter: 300,
          breaker: new ConsecutiveBreaker(3),
        }),
      global: retry(handleWhen(transient), {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 200 }),
      }),
      // etcd3 calls `.next()` on it (a backoff factory), though its types ask for a backoff.
      watchBackoff: new ExponentialBackoff({
        initialDelay: 20,
        maxDelay: 500,
      }) as unknown as IBackoff<unknown>,
    },
  })
}

/** etcd's refusal of a request beyond its limits, in words; undefined for any other error. */
export function limitRefusal(e: unknown): string | undefined {
  const line = describeError(e)
  const size = /RESOURCE_EXHAUSTED: .*larger than max \((\d+) vs\. (\d+)\)/.exec(line)
  if (size)
    return (
      `etcd refused a request of ${size[1]} bytes: it takes at most ${size[2]} ` +
      '(raise its --max-request-bytes, or send less)'
    )
  if (/too many operations in txn request/.test(line))
    return 'etcd refused a transaction of more keys than it takes (raise its --max-txn-ops)'
  return undefined
}

/** Rethrows etcd's refusal of a request beyond its limits in words, and any other error as it is. */
export function sayLimits(e: unknown): never {
  const refusal = limitRefusal(e)
  throw refusal ? new Error(refusal) : e
}

/** An error's first line, for a log line; gRPC's wordy connection errors cut to their cause. */
export function say(e: unknown): string {
  const refusal = limitRefusal(e)
  if (refusal) return refusal
  const line = describeError(e).split('\n')[0]!
  const cause =
    /No connection established\. Last error: (?:Error: )?(.*?)\.?\s*(?:Resolution note:.*)?$/.exec(line)
  return cause ? cause[1]! : line.replace(/\s*Resolution note:\s*$/, '')
}

/**
 * Asks etcd until it answers (`ask` gets the deadline of each try), saying every 10 s what it waits
 * for; resolves with the answer. Rejects when `signal` aborts.
 */
export async function reach<T>(
  ask: (deadline: number) => Promise<T>,
  endpoints: readonly string[],
  log: Logger,
  signal: AbortSignal,
): Promise<T> {
  let delay = 50
  let said = 0
  for (;;) {
    try {
      const answer = await ask(Date.now() + 2000)
      if (said) log.info(`reached etcd at ${endpoints.join(', ')}`)
      return answer
    } catch (err) {
      if (Date.now() - said > 10_000) {
        log.info(`waiting for etcd at ${endpoints.join(', ')} (${say(err)})`)
        said = Date.now()
      }
    }
    await sleep(delay, signal)
    delay = Math.min(delay * 2, 1000)
  }
}

/** A read that needs the cluster's quorum: etcd answers it once it can serve. */
export const served =
  (kv: Namespace) =>
  (deadline: number): Promise<unknown> =>
    kv.get('deploy/latest').options({ deadline }).string()

/** Resolves after `ms`; rejects when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(t)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
