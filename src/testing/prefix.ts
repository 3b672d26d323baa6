/**
 * A state directory of its own for a library run in a test (the library's default, like the CLI's,
 * is the persistent `/var/lib/mgmt/` or `~/.cache/mgmt/`, which tests must not share): made at
 * once, removed when the test process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []
process.once('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

export function tempPrefix(): string {
  const d = mkdtempSync(join(tmpdir(), 'mgmt-prefix-'))
  made.push(d)
  return d
}
