/**
 * A logger for tests that run the engine in-process: it keeps its lines (without timestamps) and
 * lets a test wait for a line, checked on every new line (no polling).
 */
import { createLogger, type Logger, type LogLevel } from '../util/logger.js'
import { deadline } from './deadline.js'

export interface WaitingLogger extends Logger {
  readonly lines: string[]
  /** Resolves with the match of the first line (already logged or to come) that matches `re`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>
}

export function waitingLogger(level: LogLevel = 'info'): WaitingLogger {
  const lines: string[] = []
  const waiters = new Set<() => void>()
  const log = createLogger(level, {
    write: l => {
      lines.push(l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, ''))
      for (const w of [...waiters]) w()
    },
  })
  const waitFor = (re: RegExp, ms = 15_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      let seen = 0
      const check = (): void => {
        for (; seen < lines.length; seen++) {
          const m = re.exec(lines[seen]!)
          if (m) {
            done(() => resolve(m))
            return
          }
        }
      }
      const timer = deadline(ms, () =>
        done(() => reject(new Error(`no log line matching ${re} within ${ms} ms:\n${lines.join('\n')}`))),
      )
      const done = (fn: () => void): void => {
        timer.cancel()
        waiters.delete(check)
        fn()
      }
      waiters.add(check)
      check()
    })
  return Object.assign(log, { lines, waitFor })
}
