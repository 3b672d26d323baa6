/**
 * glibc's malloc tuning for a long-running engine. glibc keeps what a busy moment (a cold converge:
 * the thread pool's buffers, the compiler's zones) freed, and raises its trim threshold as large
 * blocks come and go, up to 32 MB, so that memory stays resident for good. A fixed threshold of
 * 1 MiB gives it back: a long-running engine over 1,000 files settled at 65 MiB instead of
 * 70 MiB, and a one-shot run took no measurably longer.
 *
 * glibc reads the setting when the process starts, before any JavaScript runs, so it is set in the
 * environment by what starts Node.js: the command's launcher (the `#!/bin/sh` line of
 * `dist/mgmt.mjs`, unless the user set a threshold of their own) and a remote host's command line.
 * Both also set MGMT_MALLOC_TRIM, and the program then takes the two out of its environment
 * (`forgetMallocTuning`), so that the commands it starts do not inherit its tuning.
 */
export const MALLOC_TRIM_ENV = 'MALLOC_TRIM_THRESHOLD_'
export const MALLOC_TRIM_BYTES = 1 << 20
/** Says that MALLOC_TRIM_ENV was set for mgmt, not by the user. */
export const MALLOC_MARK_ENV = 'MGMT_MALLOC_TRIM'

/** The assignments for a shell command line that starts Node.js (`A=1 B=1 exec node ...`). */
export const mallocAssignments = (): string => `${MALLOC_TRIM_ENV}=${MALLOC_TRIM_BYTES} ${MALLOC_MARK_ENV}=1`

/** Takes mgmt's own malloc tuning out of `env` (it has been read). */
export function forgetMallocTuning(env: NodeJS.ProcessEnv = process.env): void {
  if (env[MALLOC_MARK_ENV] === undefined) return
  delete env[MALLOC_MARK_ENV]
  delete env[MALLOC_TRIM_ENV]
}
