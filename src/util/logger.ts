/**
 * Logging: a small interface with prefixed children and an injectable sink. Text lines look like
 * `hh:mm:ss.mmm kind[name]: message` on stderr (`dates`: the date first), warnings and errors in
 * colour on a terminal (`color`); a message of several lines (a command's output, a diff) keeps
 * the prefix on each. `--log-format json` writes one JSON object a line, with the resource apart
 * (`kind`, `name`) and, where a message has them, `code`, `file`, `line`, `col` and `path`.
 * Debug output costs nothing when off: call sites that build an expensive message check
 * `log.isDebug` first.
 *
 * Text lines show control characters escaped (`\x1b`, `\r`, `\0`...; a newline too in a prefix;
 * a line of a message without a prefix starts indented):
 * a resource's name, a command's output or a message comes from a graph or a program, and its
 * bytes must neither draw a fake line (a newline, a carriage return) nor drive the terminal (an
 * escape sequence). JSON escapes them itself.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'text' | 'json'

/** Structured details of a message, kept apart in JSON logs (text lines already say them). */
export interface LogFields {
  /** The error code (`ERR_YAML_INVALID`, `ENOENT`...). */
  readonly code?: string
  readonly file?: string
  readonly line?: number
  readonly col?: number
  /** A key path in the graph (`resources.file[0].mode`). */
  readonly path?: string
}

export interface Logger {
  readonly isDebug: boolean
  /** Lines are JSON objects: a caller with several structured items logs one message each. */
  readonly structured?: boolean
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** A logger whose lines carry `prefix` (nested prefixes join with `: `). */
  child(prefix: string): Logger
}

export interface LoggerOptions {
  format?: LogFormat
  /** Where finished lines go (with their level); stderr by default. */
  write?: (line: string, level: LogLevel) => void
  /** Clock, for tests. */
  now?: () => Date
  /** Colour warnings and errors (ANSI), for a terminal. */
  color?: boolean
  /** Text timestamps with the date: `2025-01-31 12:00:00.000`. */
  dates?: boolean
}

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }
const COLORS: Partial<Record<LogLevel, string>> = { warn: '\x1b[33m', error: '\x1b[31m', debug: '\x1b[2m' }
const RESET = '\x1b[0m'

const pad = (n: number, w = 2): string => String(n).padStart(w, '0')

function stamp(d: Date, dates: boolean): string {
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  return dates ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time
}

/** `kind[name]` at the start of a prefix, apart. */
function resourceOf(prefix: string): { kind: string; name: string } | undefined {
  const m = /^([^[\]\s]+?)\[(.*?)\](?=: |$)/.exec(prefix)
  return m ? { kind: m[1]!, name: m[2]! } : undefined
}

/** What every logger of one tree shares: where lines go, how they look, the level. */
interface Sink {
  readonly write: (line: string, level: LogLevel) => void
  readonly now: () => Date
  readonly format: LogFormat
  readonly min: number
  readonly color: boolean
  readonly dates: boolean
}

/** A logger is a plain record (a prefix and the shared sink): 10,000 resources make 10,000 of them. */
class PrefixLogger implements Logger {
  /** With JSON lines: the resource of the prefix, apart (worked out on the first line). */
  #res: { kind: string; name: string } | null | undefined
  /** With text lines: the prefix as shown (worked out on the first line). */
  #head: string | undefined
  constructor(
    readonly sink: Sink,
    readonly prefix: string,
  ) {}
  get isDebug(): boolean {
    return this.sink.min === 0
  }
  get structured(): boolean {
    return this.sink.format === 'json'
  }
  debug(msg: string, fields?: LogFields): void {
    this.#emit('debug', msg, fields)
  }
  info(msg: string, fields?: LogFields): void {
    this.#emit('info', msg, fields)
  }
  warn(msg: string, fields?: LogFields): void {
    this.#emit('warn', msg, fields)
  }
  error(msg: string, fields?: LogFields): void {
    this.#emit('error', msg, fields)
  }
  child(p: string): Logger {
    return new PrefixLogger(this.sink, this.prefix ? `${this.prefix}: ${p}` : p)
  }
  #emit(lvl: LogLevel, msg: string, fields?: LogFields): void {
    const { sink, prefix } = this
    if (order[lvl] < sink.min) return
    const t = sink.now()
    if (sink.format === 'json') {
      if (this.#res === undefined) this.#res = resourceOf(prefix) ?? null
      sink.write(
        JSON.stringify({
          time: t.toISOString(),
          level: lvl,
          ...(prefix ? { source: prefix } : {}),
          ...this.#res,
          msg,
          ...fields,
        }),
        lvl,
      )
      return
    }
    const tag = lvl === 'info' ? '' : `${lvl}: `
    this.#head ??= prefix ? `${shown(prefix, CONTROL_IN_PREFIX)}: ` : ''
    const head = `${stamp(t, sink.dates)} ${this.#head}`
    const text = shown(msg, CONTROL)
    // Each line of a message carries the prefix, so that none of it reads as another's; without a
    // prefix, each is indented (a resource's name in a summary may hold a newline).
    const body = !text.includes('\n')
      ? text
      : prefix
        ? text.replaceAll('\n', `\n${head}`)
        : text.replace(/\n(?=[^\s])/g, '\n  ')
    const color = sink.color ? COLORS[lvl] : undefined
    sink.write(color ? `${color}${head}${tag}${body}${RESET}` : `${head}${tag}${body}`, lvl)
  }
}

/**
 * Control characters that a text line shows escaped: C0 but tab and newline, DEL, C1. A carriage
 * return before a newline (a command's CRLF output) does nothing on a terminal, and stays.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)/g
/** In a prefix (one line), newlines and tabs too. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL_IN_PREFIX = /[\x00-\x1f\x7f-\x9f]/g
const NAMED: Record<string, string> = { '\0': '\\0', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/** `s` with each character `re` matches escaped as `\r`, `\x1b`..., as a JavaScript string shows it. */
function shown(s: string, re: RegExp): string {
  re.lastIndex = 0
  if (!re.test(s)) return s
  return s.replace(re, c => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export function createLogger(level: LogLevel = 'info', opts: LoggerOptions = {}): Logger {
  return new PrefixLogger(
    {
      write: opts.write ?? ((line: string) => process.stderr.write(`${line}\n`)),
      now: opts.now ?? (() => new Date()),
      format: opts.format ?? 'text',
      min: order[level],
      color: opts.color ?? false,
      dates: opts.dates ?? false,
    },
    '',
  )
}

/** A logger that drops everything (library use without logs, and tests). */
export const silentLogger: Logger = createLogger('error', { write: () => {} })

/** A logger that keeps its lines in memory; tests read `lines`. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = createLogger(level, { write: l => lines.push(l.replace(/^\d\d:\d\d:\d\d\.\d{3} /gm, '')) })
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
  get structured(): boolean | undefined {
    return this.log.structured
  }
  debug(msg: string, fields?: LogFields): void {
    this.log.debug(this.#clean(msg), fields)
  }
  info(msg: string, fields?: LogFields): void {
    this.log.info(this.#clean(msg), fields)
  }
  warn(msg: string, fields?: LogFields): void {
    this.log.warn(this.#clean(msg), fields)
  }
  error(msg: string, fields?: LogFields): void {
    this.log.error(this.#clean(msg), fields)
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
