/**
 * A logger for tests that keeps its lines (without timestamps) and lets a test wait for a line:
 * the wait is checked on every new line, never by polling, and fails after a timeout.
 */
import { createLogger, type Logger, type LogLevel } from '../util/logger.js'

export interface WatchedLogger extends Logger {
  readonly lines: string[]
  /** Resolves once a line matches `re` (already there, or to come). */
  waitFor(re: RegExp, ms?: number): Promise<string>
}

export function watchedLogger(level: LogLevel = 'debug'): WatchedLogger {
  const lines: string[] = []
  const waiters = new Set<() => void>()
  const log = createLogger(level, {
    write: l => {
      lines.push(l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, ''))
      for (const w of [...waiters]) w()
    },
  })
  return Object.assign(log, {
    lines,
    waitFor(re: RegExp, ms = 15_000): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(l => re.test(l))
          if (hit === undefined) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(hit)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no log line matching ${re} within ${ms} ms:\n${lines.join('\n')}`))
        }, ms)
        waiters.add(check)
        check()
      })
    },
  })
}
