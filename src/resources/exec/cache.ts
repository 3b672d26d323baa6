/**
 * The last outputs of an `exec` command, kept in the resource's state directory so that they can
 * be sent again when a guard skips the command, also after a restart. The file is replaced
 * atomically: a crash leaves the old outputs or the new ones, never half of them.
 */
import type { StateFiles } from '../../engine/resource.js'

/** What `exec` sends. */
export interface ExecOutputs {
  /** stdout and stderr, interleaved. */
  readonly output: string
  readonly stdout: string
  readonly stderr: string
}

/** Sent before the command has ever run. */
export const noOutputs: ExecOutputs = { output: '', stdout: '', stderr: '' }

const FILE = 'outputs.json'

/**
 * The outputs cached for `command`; undefined when there are none, they are unreadable, or they
 * belong to another command (the resource's `cmd` was changed since).
 */
export async function readOutputs(state: StateFiles, command: string): Promise<ExecOutputs | undefined> {
  const v = await state.readJson(FILE).catch(() => undefined)
  if (!v || typeof v !== 'object') return undefined
  const { command: cached, output, stdout, stderr } = v as Record<string, unknown>
  if (cached !== command) return undefined
  if (typeof output !== 'string' || typeof stdout !== 'string' || typeof stderr !== 'string') return undefined
  return { output, stdout, stderr }
}

/** Replaces the cached outputs (temporary file, fsync, rename, fsync of the directory). */
export async function writeOutputs(state: StateFiles, command: string, o: ExecOutputs): Promise<void> {
  await state.write(FILE, JSON.stringify({ command, output: o.output, stdout: o.stdout, stderr: o.stderr }))
}
