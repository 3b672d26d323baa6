/**
 * A remote run's output, shown here line by line under the host's name. The remote's own time
 * stamp is dropped (the line gets ours), so a relayed line reads like a local one:
 * `12:00:00.123 h1: file[/etc/motd]: content changed`.
 */
import type { Logger } from '../util/logger.js'

const STAMP = /^\d\d:\d\d:\d\d\.\d{3} /
/** Longer lines (a minified stack frame...) are cut. */
const MAX_LINE = 2000

/** Splits a byte stream into lines; `flush` hands over a last unterminated line. */
export function lineSplitter(onLine: (line: string) => void): {
  push(d: Buffer | string): void
  flush(): void
} {
  let rest = ''
  return {
    push(d) {
      const parts = (rest + d.toString()).split('\n')
      rest = parts.pop()!
      for (const l of parts) onLine(l)
    },
    flush() {
      if (rest) onLine(rest)
      rest = ''
    },
  }
}

/** A sink for a remote run's output lines, logged through `log` (the host's child logger). */
export function relay(log: Logger): { push(d: Buffer | string): void; flush(): void } {
  return lineSplitter(line => {
    if (line.trim() === '') return
    const l = line.replace(STAMP, '')
    log.info(l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}… (${l.length - MAX_LINE} more characters)` : l)
  })
}
