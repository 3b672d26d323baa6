/**
 * Commands on a remote host over an SSH connection: short ones whose output is collected, and the
 * quoting that makes any string one word for the remote POSIX shell.
 */
import type { Client } from 'ssh2'

export interface Captured {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
  readonly signal: string | null
}

/** `'...'`, with embedded quotes closed and escaped: one shell word whatever the contents. */
export const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`

/** Runs a short command and collects its output. */
export function execCapture(conn: Client, command: string): Promise<Captured> {
  return new Promise((resolve, reject) => {
    conn.exec(command, (err, ch) => {
      if (err) return reject(err)
      let stdout = ''
      let stderr = ''
      let code: number | null = null
      let signal: string | null = null
      ch.on('data', (d: Buffer) => {
        stdout += d.toString()
      })
      ch.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      ch.on('exit', (c: number | null, s?: string) => {
        code = c
        signal = s ?? null
      })
      ch.on('close', () => resolve({ stdout, stderr, code, signal }))
    })
  })
}
