/**
 * `kmsg`: `dmesg --follow` as a resource. It follows the kernel log (`/dev/kmsg`) from now on, or
 * from the oldest record still in the kernel's buffer with `since: boot`, and for each record whose
 * message matches `match` it reports a change: it sends the message as `message` and notifies its
 * downstream resources. Records that arrive while the resource has not run yet count together: one
 * change, carrying the last one. It changes nothing on the system. Reading the kernel log needs
 * root (or `kernel.dmesg_restrict=0`).
 *
 * Node.js cannot wait for a character device without blocking one of its few I/O threads, and a
 * blocked read could not be interrupted at stop, so a `cat /dev/kmsg` child turns the device into
 * a pipe that the event loop waits on (no polling); the child is killed by its PID at stop. Each
 * read of `/dev/kmsg` is one record, `priority,sequence,microseconds,flags;message`, the message
 * with unprintable bytes escaped as `\xNN`. "From now on" is every record whose sequence number is
 * above the last one in the buffer when the watch started. When the kernel overwrote records before
 * they were read, `cat` stops on EPIPE; the resource warns that some were missed and reads on.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { createRequire } from 'node:module'
import type * as Readline from 'node:readline'
import { z } from 'zod'
import { defineResource, type ResourceContext } from '../engine/resource.js'
import type { Issue } from '../util/errors.js'

/** node:readline, loaded when a kmsg resource first reads (a run without one never loads it). */
const readlineModule = (): typeof Readline => createRequire(import.meta.url)('node:readline')

/** Params of `kmsg`. Keys are the YAML names, verbatim. */
export const KmsgParams = z
  .object({
    /** A regular expression (JavaScript syntax) that a message must match; empty: every message. */
    match: z.string().default(''),
    /** `now`: records from the start of the watch on; `boot`: also those still in the kernel's buffer. */
    since: z.enum(['now', 'boot']).default('now'),
  })
  .strict()

type Params = z.output<typeof KmsgParams>

export const KMSG = '/dev/kmsg'

function validate(p: Params): Issue[] {
  try {
    new RegExp(p.match)
    return []
  } catch (e) {
    return [{ path: ['match'], message: `not a regular expression: ${(e as Error).message}` }]
  }
}

/** One record of /dev/kmsg. */
export interface KmsgRecord {
  readonly priority: number
  readonly seq: number
  /** Microseconds since boot. */
  readonly usec: number
  readonly message: string
}

/** Parses a record's first line; undefined for a continuation line (` KEY=value`) or noise. */
export function parseRecord(line: string): KmsgRecord | undefined {
  const semi = line.indexOf(';')
  if (semi < 0 || line.startsWith(' ')) return undefined
  const [priority, seq, usec] = line.slice(0, semi).split(',').map(Number)
  if (priority === undefined || seq === undefined || usec === undefined || Number.isNaN(seq)) return undefined
  return { priority, seq, usec, message: unescapeMessage(line.slice(semi + 1)) }
}

/** The kernel writes unprintable bytes (and `\`) as `\xNN`: back to the bytes, read as UTF-8. */
export function unescapeMessage(s: string): string {
  if (!s.includes('\\x')) return s
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const hex = s[i] === '\\' && s[i + 1] === 'x' ? s.slice(i + 2, i + 4) : ''
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16))
      i += 3
    } else bytes.push(...Buffer.from(s[i]!))
  }
  return Buffer.from(bytes).toString()
}

/** The sequence number of the newest record in the kernel's buffer now (-1 when it is empty). */
export function lastSequence(): number {
  let fd: number
  try {
    fd = openSync(KMSG, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    throw new Error(
      `cannot read ${KMSG}: ${(e as Error).message} (the kernel log needs root, or sysctl kernel.dmesg_restrict=0)`,
    )
  }
  const buf = Buffer.alloc(16 * 1024)
  let last = -1
  try {
    for (;;) {
      let n: number
      try {
        n = readSync(fd, buf, 0, buf.length, null)
      } catch (e) {
        const code = (e as { code?: unknown }).code
        if (code === 'EAGAIN') return last
        if (code === 'EPIPE') continue // records overwritten while reading: read on
        throw e
      }
      const seq = parseRecord(buf.subarray(0, n).toString())?.seq
      if (seq !== undefined) last = seq
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Reads records through a `cat` child until `signal` aborts, calling `onRecord` for those above
 * `after`; returns the last sequence number seen when the child stopped on EPIPE (read on), throws
 * on any other end.
 */
async function follow(
  after: number,
  signal: AbortSignal,
  onStart: () => void,
  onRecord: (r: KmsgRecord) => void,
): Promise<number> {
  let last = after
  const child: ChildProcess = spawn('cat', [KMSG], { stdio: ['ignore', 'pipe', 'pipe'] })
  const kill = (): void => {
    child.kill('SIGTERM')
  }
  signal.addEventListener('abort', kill, { once: true })
  let stderr = ''
  child.stderr!.on('data', d => {
    stderr += d
  })
  const exited = new Promise<{ code: number | null; err?: Error }>(resolve => {
    child.on('error', err => resolve({ code: null, err }))
    child.on('close', code => resolve({ code }))
  })
  const lines = readlineModule().createInterface({
    input: child.stdout!,
    crlfDelay: Number.POSITIVE_INFINITY,
  })
  lines.on('line', line => {
    const r = parseRecord(line)
    if (!r || r.seq <= last) return
    last = r.seq
    onRecord(r)
  })
  child.on('spawn', onStart)
  try {
    const { code, err } = await exited
    if (signal.aborted) return last
    if (err) throw new Error(`cannot start cat ${KMSG}: ${err.message}`)
    if (/Broken pipe/.test(stderr)) return last
    throw new Error(`cat ${KMSG} ended (exit code ${code})${stderr.trim() ? `: ${stderr.trim()}` : ''}`)
  } finally {
    signal.removeEventListener('abort', kill)
    lines.close()
  }
}

export const kmsg = defineResource({
  kind: 'kmsg',
  params: KmsgParams,
  validate,
  sends: { message: z.string() },
  init(p, ctx: ResourceContext) {
    const re = new RegExp(p.match)
    /** Matches since the last checkApply: how many, and the last one. */
    let pending: { count: number; message: string } | undefined
    /** The message sent last ('' before the first match). */
    let sent = ''
    return {
      async watch(signal) {
        let after = p.since === 'boot' ? -1 : lastSequence()
        let ready = false
        if (ctx.debug) ctx.log.debug(`following ${KMSG} after record ${after}`)
        while (!signal.aborted) {
          after = await follow(
            after,
            signal,
            () => {
              if (ready) return
              ready = true
              ctx.event()
            },
            r => {
              if (!re.test(r.message)) return
              pending = { count: (pending?.count ?? 0) + 1, message: r.message }
              ctx.event()
            },
          )
          if (!signal.aborted)
            ctx.log.warn(`the kernel overwrote records before they were read: some were missed`)
        }
      },
      async checkApply(apply) {
        const now = pending
        if (!now) {
          ctx.send({ message: sent })
          return true
        }
        pending = undefined
        sent = now.message
        const more = now.count > 1 ? ` (the last of ${now.count})` : ''
        ctx.log.info(`${apply ? 'matched' : 'would notify of'}${more}: ${now.message}`)
        ctx.send({ message: now.message })
        return false
      },
    }
  },
})
