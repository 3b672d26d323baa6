/**
 * Copy progress on a terminal: one line, redrawn in place at most ten times a second, naming each
 * host's current file and percentage; cleared when the copies are done. Off when stderr is not a
 * terminal (logs and CI keep only the summary each host logs).
 */
export interface CopyProgress {
  update(host: string, file: string, done: number, total: number): void
  finish(host: string): void
}

const MiB = 1024 * 1024

export function terminalProgress(out: NodeJS.WriteStream = process.stderr): CopyProgress | undefined {
  if (!out.isTTY) return undefined
  const state = new Map<string, string>()
  let timer: NodeJS.Timeout | undefined
  let shown = false
  const draw = (): void => {
    timer = undefined
    const text = [...state].map(([h, s]) => `${h} ${s}`).join(' · ')
    out.write(`\r\x1b[K${text ? `copying: ${text}`.slice(0, (out.columns || 80) - 1) : ''}`)
    shown = text !== ''
  }
  const schedule = (): void => {
    timer ??= setTimeout(draw, 100)
  }
  return {
    update(host, file, done, total) {
      state.set(host, `${file} ${Math.floor((done / total) * 100)}% of ${(total / MiB).toFixed(1)} MiB`)
      schedule()
    },
    finish(host) {
      if (!state.delete(host)) return
      if (state.size === 0) {
        clearTimeout(timer)
        timer = undefined
        if (shown) draw()
      } else schedule()
    },
  }
}
