/**
 * Logging: a small interface with prefixed children and an injectable sink. Text lines look like
 * `hh:mm:ss.mmm kind[name]: message` on stderr; `--log-format json` writes one JSON object a line.
 * Debug output costs nothing when off: call sites that build an expensive message check
 * `log.isDebug` first.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'text' | 'json'

export interface Logger {
  readonly isDebug: boolean
  debug(msg: string): void
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
  /** A logger whose lines carry `prefix` (nested prefixes join with `: `). */
  child(prefix: string): Logger
}

export interface LoggerOptions {
  format?: LogFormat
  /** Where finished lines go; stderr by default. */
  write?: (line: string) => void
  /** Clock, for tests. */
  now?: () => Date
}

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** What every logger of one tree shares: where lines go, how they look, the level. */
interface Sink {
  readonly write: (line: string) => void
  readonly now: () => Date
  readonly format: LogFormat
  readonly min: number
}

/** A logger is a plain record (a prefix and the shared sink): 10,000 resources make 10,000 of them. */
class PrefixLogger implements Logger {
  constructor(
    readonly sink: Sink,
    readonly prefix: string,
  ) {}
  get isDebug(): boolean {
    return this.sink.min === 0
  }
  debug(msg: string): void {
    this.#emit('debug', msg)
  }
  info(msg: string): void {
    this.#emit('info', msg)
  }
  warn(msg: string): void {
    this.#emit('warn', msg)
  }
  error(msg: string): void {
    this.#emit('error', msg)
  }
  child(p: string): Logger {
    return new PrefixLogger(this.sink, this.prefix ? `${this.prefix}: ${p}` : p)
  }
  #emit(lvl: LogLevel, msg: string): void {
    const { sink, prefix } = this
    if (order[lvl] < sink.min) return
    const t = sink.now()
    if (sink.format === 'json') {
      sink.write(
        JSON.stringify({ time: t.toISOString(), level: lvl, ...(prefix ? { source: prefix } : {}), msg }),
      )
      return
    }
    const tag = lvl === 'info' ? '' : `${lvl}: `
    sink.write(`${stamp(t)} ${prefix ? `${prefix}: ` : ''}${tag}${msg}`)
  }
}

export function createLogger(level: LogLevel = 'info', opts: LoggerOptions = {}): Logger {
  return new PrefixLogger(
    {
      write: opts.write ?? ((line: string) => process.stderr.write(`${line}\n`)),
      now: opts.now ?? (() => new Date()),
      format: opts.format ?? 'text',
      min: order[level],
    },
    '',
  )
}

/** A logger that drops everything (library use without logs, and tests). */
export const silentLogger: Logger = createLogger('error', { write: () => {} })

/** A logger that keeps its lines in memory; tests read `lines`. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = createLogger(level, { write: l => lines.push(l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, '')) })
  return Object.assign(log, { lines })
}

/** What a secret is replaced with in a log line. */
export const REDACTED = '(sensitive)'

/**
 * A logger whose messages never contain one of `secrets()`: each occurrence (also JSON-escaped) is
 * replaced with `(sensitive)` before the line is formatted, text or JSON. Children redact too.
 */
export function redacting(log: Logger, secrets: () => ReadonlySet<string>): Logger {
  return new RedactingLogger(log, { secrets })
}

/** Whoever knows the secrets a logger must never show (a resource's worker). */
export interface SecretHolder {
  secrets(): ReadonlySet<string>
}

/** redacting, as a plain record: the logger and whoever holds the secrets. */
export class RedactingLogger implements Logger {
  constructor(
    readonly log: Logger,
    readonly holder: SecretHolder,
  ) {}
  get isDebug(): boolean {
    return this.log.isDebug
  }
  debug(msg: string): void {
    this.log.debug(this.#clean(msg))
  }
  info(msg: string): void {
    this.log.info(this.#clean(msg))
  }
  warn(msg: string): void {
    this.log.warn(this.#clean(msg))
  }
  error(msg: string): void {
    this.log.error(this.#clean(msg))
  }
  child(prefix: string): Logger {
    return new RedactingLogger(this.log.child(prefix), this.holder)
  }
  #clean(msg: string): string {
    const all = this.holder.secrets()
    if (all.size === 0) return msg
    let out = msg
    // Longest first, so that a secret containing another is replaced whole.
    for (const s of [...all].sort((a, b) => b.length - a.length)) {
      out = out.replaceAll(s, REDACTED)
      const escaped = JSON.stringify(s).slice(1, -1)
      if (escaped !== s) out = out.replaceAll(escaped, REDACTED)
    }
    return out
  }
}
