/**
 * What a host does when its SSH connection is lost while its run goes on (host.ts): which failures
 * are a lost transport and worth another connection, how long to wait before each one, and what to
 * say about the cause.
 *
 * Only the transport is tried again: the connection closed or reset, no answer to keepalives, or,
 * once the host has run, a host that cannot be reached for now (ERR_REMOTE_CONNECT). A refused
 * login or a changed host key is a decision, not a blip: it ends the host, as does a remote run
 * that exits by itself (its exit status came back, so the connection was fine).
 */
import type { Client } from 'ssh2'
import { errCode, isMgmtError } from '../util/errors.js'
import type { PassedFlags } from './command.js'
import { KEEPALIVE_COUNT_MAX, KEEPALIVE_INTERVAL_MS } from './connect.js'

/** The first wait, and the longest one. */
export const FIRST_DELAY_MS = 1000
export const MAX_DELAY_MS = 30_000
/** Each wait is lengthened or shortened by up to this fraction, so that hosts lost together spread. */
const JITTER = 0.1
/** A connection up this long has recovered: the next loss starts again from the first wait. */
export const STABLE_MS = MAX_DELAY_MS

/** 1 s, 2 s, 4 s ... 30 s, each with a little jitter. */
export class Backoff {
  #next = FIRST_DELAY_MS
  readonly #random: () => number

  constructor(random: () => number = Math.random) {
    this.#random = random
  }

  /** The wait before the next attempt (the one after it doubles, up to the longest). */
  next(): number {
    const base = this.#next
    this.#next = Math.min(base * 2, MAX_DELAY_MS)
    return Math.round(base * (1 + JITTER * (2 * this.#random() - 1)))
  }

  reset(): void {
    this.#next = FIRST_DELAY_MS
  }
}

/** How long after a run with `--converged-timeout` loses a host it gives that host up. */
export const CONVERGED_WINDOW_S = 60

/**
 * How long a lost host is tried again, in ms: `--reconnect-timeout` seconds (-1: for ever, 0: not
 * at all); by default for ever, but 60 s in a run that ends once converged, which must not wait for
 * ever for a dead host.
 */
export function reconnectWindowMs(f: Pick<PassedFlags, 'reconnectTimeout' | 'convergedTimeout'>): number {
  const s = f.reconnectTimeout ?? (f.convergedTimeout >= 0 ? CONVERGED_WINDOW_S : -1)
  return s < 0 ? Number.POSITIVE_INFINITY : s * 1000
}

/** Whether a failure to connect again (or to prepare the host again) is worth another attempt. */
export function retriable(err: unknown, connectionClosed: boolean): boolean {
  if (isMgmtError(err, 'ERR_REMOTE_CONNECT')) return true
  // Lost while probing, copying or tunnelling: the step failed because the transport did.
  return connectionClosed && !isMgmtError(err, 'ERR_REMOTE_AUTH') && !hostKeyError(err)
}

const hostKeyError = (err: unknown): boolean =>
  isMgmtError(err, 'ERR_REMOTE_HOSTKEY_UNKNOWN') || isMgmtError(err, 'ERR_REMOTE_HOSTKEY_CHANGED')

/** Why an established connection ended, from the last error it gave (none: closed by the far end). */
export function lossCause(err: (Error & { level?: string }) | undefined): string {
  if (!err) return 'the connection was closed'
  if (err.level === 'client-timeout')
    return `no answer to ${KEEPALIVE_COUNT_MAX} keepalives, ${KEEPALIVE_INTERVAL_MS / 1000} s apart`
  const code = errCode(err)
  if (code === 'ECONNRESET') return 'the connection was reset'
  if (code === 'EPIPE') return 'the connection was broken'
  if (code === 'ETIMEDOUT') return 'the connection timed out'
  return err.message
}

/** Waits `ms`; resolves false at once if `signal` aborts first. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise(resolve => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** An established connection, followed: whether it has closed, and the last error it gave. */
export interface Link {
  readonly conn: Client
  readonly closed: boolean
  readonly error: (Error & { level?: string }) | undefined
}

export function follow(conn: Client): Link {
  const link: { conn: Client; closed: boolean; error: Error | undefined } = {
    conn,
    closed: false,
    error: undefined,
  }
  conn.on('error', err => {
    link.error = err
  })
  conn.once('close', () => {
    link.closed = true
  })
  return link
}
