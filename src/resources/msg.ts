/**
 * `msg`: logs its body once, at the level of its priority, and again on each notification.
 * Optionally it also sends the body to the systemd journal and to syslog, through the
 * `systemd-cat` and `logger` programs (Node cannot write the journal's native datagram protocol
 * nor to a unix datagram socket). A missing journal, syslog socket or program is a warning, logged
 * once, never a failure; a program that runs and fails is an error.
 */
import { spawn } from 'node:child_process'
import { access } from 'node:fs/promises'
import { z } from 'zod'
import { defineResource, untilAborted } from '../engine/resource.js'
import type { Logger } from '../util/logger.js'

/** The priorities, from the most to the least severe (syslog's order). */
export const PRIORITIES = ['Emerg', 'Alert', 'Crit', 'Err', 'Warning', 'Notice', 'Info', 'Debug'] as const
export type Priority = (typeof PRIORITIES)[number]

const FIELD_KEY = /^[A-Za-z0-9][A-Za-z0-9_]*$/
const JOURNAL_SOCKET = '/run/systemd/journal/socket'
const SYSLOG_SOCKET = '/dev/log'

/** The message for a missing or unknown priority, listing the allowed ones. */
function priorityProblem(input: unknown): string {
  const what =
    input === undefined || input === '' ? 'priority is required' : `invalid priority \`${String(input)}\``
  return `${what}: expected one of ${PRIORITIES.join(', ')}`
}

/** Params of `msg`. Keys are the YAML names, verbatim. */
export const MsgParams = z
  .object({
    /** The message. */
    body: z.string().default(''),
    /** Its severity; required. */
    priority: z.enum(PRIORITIES, { error: iss => priorityProblem(iss.input) }),
    /** Extra journal fields: keys of letters, digits and `_`, not starting with `_`. */
    fields: z
      .record(z.string(), z.string())
      .default({})
      .superRefine((fields, rc) => {
        for (const key of Object.keys(fields))
          if (!FIELD_KEY.test(key))
            rc.addIssue({
              code: 'custom',
              path: [key],
              message: `invalid field name \`${key}\`: letters, digits and _ only, not starting with _`,
            })
      }),
    /** Also send the body to the systemd journal. */
    journal: z.boolean().default(false),
    /** Also send the body to syslog. */
    syslog: z.boolean().default(false),
  })
  .strict()

/** Logs `body` at the logger level matching `priority`. */
export function logAt(log: Logger, priority: Priority, body: string): void {
  const i = PRIORITIES.indexOf(priority)
  if (i <= PRIORITIES.indexOf('Err')) log.error(body)
  else if (priority === 'Warning') log.warn(body)
  else if (priority === 'Debug') log.debug(body)
  else log.info(body)
}

/** A sink outside the process: where it is, and the command that writes `body` to it. */
export interface Sink {
  readonly name: 'journal' | 'syslog'
  /** The socket whose absence means the sink is unavailable. */
  readonly socket: string
  readonly cmd: string
  readonly args: readonly string[]
  /** Written to the command's stdin. */
  readonly input?: string
}

/** The command sending `body` to `name` at `priority` (syslog's lower-case names). */
export function sinkCommand(name: Sink['name'], priority: Priority, body: string): Sink {
  const prio = priority.toLowerCase()
  if (name === 'journal')
    return { name, socket: JOURNAL_SOCKET, cmd: 'systemd-cat', args: ['-p', prio, '-t', 'mgmt'], input: body }
  return {
    name,
    socket: SYSLOG_SOCKET,
    cmd: 'logger',
    args: ['-p', `user.${prio}`, '-t', 'mgmt', '--', body],
  }
}

/** Runs `sink`; resolves false when its program is not installed, throws when it fails. */
export function runSink(sink: Sink, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(sink.cmd, sink.args, { signal, stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s
    })
    child.stdin.on('error', () => {}) // EPIPE when the program exits early; its exit code tells
    child.stdin.end(sink.input ?? '')
    child.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? resolve(false) : reject(e)))
    child.on('close', (code, sig) => {
      if (code === 0) resolve(true)
      else
        reject(
          new Error(
            `${sink.name}: \`${sink.cmd}\` ${sig ? `was killed by ${sig}` : `exited with code ${code}`}` +
              (stderr.trim() ? `: ${stderr.trim()}` : ''),
          ),
        )
    })
  })
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  )

export const msg = defineResource({
  kind: 'msg',
  params: MsgParams,
  anyText: ['body', 'fields'],
  traits: { refreshable: true },
  init(params, ctx) {
    /** What is already done since the last notification: the log line and each external sink. */
    const done = { log: false, journal: !params.journal, syslog: !params.syslog }
    /** Sinks already warned about, so a missing one is said once. */
    const warned = new Set<string>()

    const warnOnce = (key: string, text: string): void => {
      if (warned.has(key)) return
      warned.add(key)
      ctx.log.warn(text)
    }

    /** Sends the body to one external sink; unavailability is a warning, not a failure. */
    const deliver = async (name: Sink['name'], signal: AbortSignal): Promise<void> => {
      const sink = sinkCommand(name, params.priority, params.body)
      if (!(await exists(sink.socket))) warnOnce(name, `${name} unavailable (no ${sink.socket}): not sent`)
      else if (!(await runSink(sink, signal)))
        warnOnce(name, `${name} unavailable (no \`${sink.cmd}\`): not sent`)
      else if (name === 'journal' && Object.keys(params.fields).length)
        warnOnce('fields', '`fields` are not sent: systemd-cat cannot carry journal fields')
    }

    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply, signal) {
        if (ctx.refresh()) {
          done.log = false
          done.journal = !params.journal
          done.syslog = !params.syslog
        }
        if (done.log && done.journal && done.syslog) return true
        if (!apply) {
          ctx.log.info(`would log: ${params.body}`)
          return false
        }
        if (!done.log) logAt(ctx.log, params.priority, params.body)
        done.log = true
        for (const name of ['journal', 'syslog'] as const) {
          if (done[name]) continue
          await deliver(name, signal)
          done[name] = true
        }
        return false
      },
    }
  },
})
