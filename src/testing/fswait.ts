/**
 * Waiting, in tests, for something to become true of a directory's contents: the condition is
 * checked now and again on every inotify event of the directory (no polling), with a timeout that
 * fails the wait.
 */
import { watch } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { deadline } from './deadline.js'

export function whenInDir(
  dir: string,
  cond: () => Promise<boolean>,
  what: string,
  ms = 15_000,
  opts: { recursive?: boolean; found?: () => Promise<string> } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false
    const check = async (): Promise<void> => {
      if (!finished && (await cond().catch(() => false))) done(resolve)
    }
    const w = watch(dir, { recursive: opts.recursive ?? false }, () => void check())
    // Checked once more at the deadline: events of a paused machine may not have been read yet.
    const timer = deadline(ms, async () => {
      await check()
      if (finished) return
      const found = opts.found ? ` (found ${await opts.found().catch(() => '?')})` : ''
      done(() => reject(new Error(`${what}: not within ${ms} ms${found}`)))
    })
    const done = (fn: () => void): void => {
      if (finished) return
      finished = true
      timer.cancel()
      w.close()
      fn()
    }
    void check()
  })
}

const read = (path: string): Promise<string> => readFile(path, 'utf8').catch(() => '')

/** Resolves once `path` holds exactly `want`. */
export const whenContent = (path: string, want: string, ms?: number): Promise<void> =>
  whenInDir(
    dirname(path),
    async () => (await read(path)) === want,
    `${path} holding ${JSON.stringify(want)}`,
    ms,
    { found: async () => JSON.stringify(await read(path)) },
  )

/** Resolves once `path` exists and is not empty. */
export const whenWritten = (path: string, ms?: number): Promise<void> =>
  whenInDir(dirname(path), async () => (await read(path)).length > 0, `${path} written`, ms)

/** Resolves once `dir` has an entry ending in `suffix`. */
export const whenEntry = (dir: string, suffix: string, ms?: number): Promise<void> =>
  whenInDir(dir, async () => (await readdir(dir)).some(f => f.endsWith(suffix)), `a *${suffix} in ${dir}`, ms)
