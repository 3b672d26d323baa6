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

export function createLogger(level: LogLevel = 'info', opts: LoggerOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const now = opts.now ?? (() => new Date())
  const format = opts.format ?? 'text'
  const min = order[level]

  const make = (prefix: string): Logger => {
    const emit = (lvl: LogLevel, msg: string): void => {
      if (order[lvl] < min) return
      const t = now()
      if (format === 'json') {
        write(
          JSON.stringify({ time: t.toISOString(), level: lvl, ...(prefix ? { source: prefix } : {}), msg }),
        )
        return
      }
      const tag = lvl === 'info' ? '' : `${lvl}: `
      write(`${stamp(t)} ${prefix ? `${prefix}: ` : ''}${tag}${msg}`)
    }
    return {
      isDebug: min === 0,
      debug: msg => emit('debug', msg),
      info: msg => emit('info', msg),
      warn: msg => emit('warn', msg),
      error: msg => emit('error', msg),
      child: p => make(prefix ? `${prefix}: ${p}` : p),
    }
  }
  return make('')
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
  const clean = (msg: string): string => {
    const all = secrets()
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
  return {
    isDebug: log.isDebug,
    debug: msg => log.debug(clean(msg)),
    info: msg => log.info(clean(msg)),
    warn: msg => log.warn(clean(msg)),
    error: msg => log.error(clean(msg)),
    child: prefix => redacting(log.child(prefix), secrets),
  }
}
