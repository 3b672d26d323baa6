/**
 * `exec`: runs a command. It has no state of its own: it runs once at startup, again on every
 * watch event (a `watchcmd` output line, a change of `creates`, `watchfiles` or `mtimes`) and on a
 * notification, unless a guard (`creates`, `ifcmd`, `nifcmd`, `refreshonly`) says to skip it; a
 * file of `mtimes` modified since the last run overrides the guards but `refreshonly`. A non-zero
 * exit is an error. It sends the command's `output`, `stdout` and `stderr`, the last ones again
 * when a guard skips it (`send_output`, ... while it never ran).
 *
 * No shell is involved unless one is named: `cmd: touch /tmp/a b` runs `touch` with two
 * arguments, split on whitespace with no quoting. The environment is empty unless `env` is given.
 * Every command runs in its own process group, which is what a stop signal, a `timeout` and
 * `interrupt()` kill.
 */
import { lstat, stat } from 'node:fs/promises'
import { constants } from 'node:os'
import { isAbsolute } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { defineResource, type ResourceContext, type StateFiles, untilAborted } from '../engine/resource.js'
import { type Issue, MgmtError } from '../util/errors.js'
import { idProblem, MAX_SPAWN_ID } from '../util/ids.js'
import { MAX_TIMER_S } from '../util/timers.js'
import { type ExecOutputs, noOutputs, readOutputs, writeOutputs } from './exec/cache.js'
import { resolveCredentials } from './exec/credentials.js'
import {
  type Command,
  type CommandResult,
  ProcessGroups,
  type Running,
  runCommand,
  startCommand,
} from './exec/run.js'
import { programCandidates } from './pkg/files.js'

/** Params of `exec`. Keys are the YAML names, verbatim. */
export const ExecParams = z
  .object({
    /** The command; the resource's name when empty. Split on whitespace unless `shell` is set. */
    cmd: z.string().default(''),
    /** Arguments of a one-word `cmd`, passed verbatim (no splitting, no quoting); not with `shell`. */
    args: z.array(z.string()).default([]),
    /** Working directory of `cmd`; empty: mgmt's own. */
    cwd: z.string().default(''),
    /** A shell to run `cmd` with, as `shell -c cmd` (e.g. `/bin/bash`); empty: no shell. */
    shell: z.string().default(''),
    /** The whole environment of every command; without it they run with an empty environment. */
    env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
    /** Seconds after which a command is stopped and fails; 0: never. */
    timeout: z.number().int().min(0).max(MAX_TIMER_S).default(0),
    /** The signal that stops a command's process group (SIGKILL follows after 5 s). */
    sig: z.string().default('SIGTERM'),
    /** A long-running command whose every output line is a watch event; its exit is a watch error. */
    watchcmd: z.string().default(''),
    /** Working directory of `watchcmd`. */
    watchcwd: z.string().default(''),
    /** Shell of `watchcmd` (see `shell`). */
    watchshell: z.string().default(''),
    /** Run `cmd` only if this exits 0. */
    ifcmd: z.string().default(''),
    /** Working directory of `ifcmd`. */
    ifcwd: z.string().default(''),
    /** Shell of `ifcmd` (see `shell`). */
    ifshell: z.string().default(''),
    /** Skip `cmd` when `ifcmd` succeeded and printed exactly this (stdout and stderr). */
    ifequals: z.string().optional(),
    /** Skip `cmd` when `ifcmd` succeeded and printed exactly this on stdout. */
    ifequals_stdout: z.string().optional(),
    /** Skip `cmd` if this exits 0. */
    nifcmd: z.string().default(''),
    /** Working directory of `nifcmd`. */
    nifcwd: z.string().default(''),
    /** Shell of `nifcmd` (see `shell`). */
    nifshell: z.string().default(''),
    /** Skip `cmd` if this absolute path exists; a change of it is a watch event. */
    creates: z.string().default(''),
    /** Absolute paths whose every change is a watch event (a trailing `/`: a directory, recursively). */
    watchfiles: z.array(z.string()).default([]),
    /**
     * Absolute paths: `cmd` runs when one was modified after its last successful run, whatever
     * `creates`, `ifcmd` and `nifcmd` say; each is watched, and a missing one is an error.
     */
    mtimes: z.array(z.string()).default([]),
    /** Run after `cmd` succeeded; its failure is an error. */
    donecmd: z.string().default(''),
    /** Working directory of `donecmd`. */
    donecwd: z.string().default(''),
    /** Shell of `donecmd` (see `shell`). */
    doneshell: z.string().default(''),
    /** Run every command as this user (name or uid); with no `group`, in the user's primary group. */
    user: z.string().default(''),
    /** Run every command with this group (name or gid). */
    group: z.string().default(''),
    /** Run `cmd` only on a notification (and never just because mgmt started). */
    refreshonly: z.boolean().default(false),
    /** Sent as `output` while the command has never run (no output kept from an earlier run). */
    send_output: z.string().optional(),
    /** Sent as `stdout` while the command has never run. */
    send_stdout: z.string().optional(),
    /** Sent as `stderr` while the command has never run. */
    send_stderr: z.string().optional(),
  })
  .strict()

export type ExecParams = z.output<typeof ExecParams>

/** `SIGTERM` for `sigterm`, `TERM` or `15`; undefined for no signal. */
export function signalName(s: string): NodeJS.Signals | undefined {
  const names = constants.signals as Record<string, number>
  if (/^\d+$/.test(s))
    return Object.keys(names).find(k => names[k] === Number(s)) as NodeJS.Signals | undefined
  const up = s.toUpperCase()
  const name = up.startsWith('SIG') ? up : `SIG${up}`
  return name in names ? (name as NodeJS.Signals) : undefined
}

/** Lines of a command's output shown at the normal log level: the last ones, each cut short. */
const OUTPUT_LINES = 20
const OUTPUT_LINE_MAX = 300

/** `, output:` and the last lines of `output` (as the original logs it), or `` when there is none. */
export function outputTail(output: string): string {
  const lines = output.replace(/\n$/, '').split('\n')
  if (lines.length === 1 && lines[0] === '') return ''
  const shown = lines
    .slice(-OUTPUT_LINES)
    .map(l => `  ${l.length > OUTPUT_LINE_MAX ? `${l.slice(0, OUTPUT_LINE_MAX)}...` : l}`)
  const head =
    lines.length > OUTPUT_LINES ? `, output (the last ${OUTPUT_LINES} of ${lines.length} lines)` : ', output'
  return `${head}:\n${shown.join('\n')}`
}

/** The argv-free description of one of the resource's commands: its text, shell and directory. */
interface CommandText {
  readonly cmd: string
  readonly shell: string
  readonly cwd: string
  readonly args?: readonly string[]
}

/** What `text` runs: `shell -c cmd`, or cmd split on whitespace (with `args` after a one-word cmd). */
export function commandOf(text: CommandText, env: Readonly<Record<string, string>>): Command {
  if (text.shell) return { display: text.cmd, file: text.shell, args: ['-c', text.cmd], cwd: text.cwd, env }
  const words = text.cmd.split(/\s+/).filter(Boolean)
  const args = text.args?.length ? text.args : words.slice(1)
  const shown = text.args?.length
    ? [words[0], ...args.map(a => (/[\s'"]/.test(a) ? JSON.stringify(a) : a))]
    : words
  return { display: shown.join(' '), file: words[0] ?? '', args, cwd: text.cwd, env }
}

const commandKeys = ['cmd', 'watchcmd', 'ifcmd', 'nifcmd', 'donecmd'] as const

function validateExec(p: Readonly<ExecParams>): Issue[] {
  const issues: Issue[] = []
  for (const k of commandKeys)
    if (p[k] !== '' && p[k].trim() === '') issues.push({ path: [k], message: 'the command is blank' })
  if (p.cmd.trim() === '') issues.push({ path: ['cmd'], message: 'the command is empty' })
  if (p.args.length && p.shell) issues.push({ path: ['args'], message: 'args cannot be used with a shell' })
  if (p.args.length && p.cmd.trim().split(/\s+/).length > 1)
    issues.push({ path: ['args'], message: 'args cannot be used when cmd has arguments' })
  for (const k of ['ifequals', 'ifequals_stdout'] as const)
    if (p[k] !== undefined && !p.ifcmd) issues.push({ path: [k], message: `${k} needs ifcmd` })
  for (const k of ['watchfiles', 'mtimes'] as const)
    for (const [i, f] of p[k].entries())
      if (!isAbsolute(f)) issues.push({ path: [k, i], message: 'must be an absolute path' })
  if (p.creates && !isAbsolute(p.creates))
    issues.push({ path: ['creates'], message: 'must be an absolute path' })
  if (!signalName(p.sig)) issues.push({ path: ['sig'], message: `unknown signal \`${p.sig}\`` })
  for (const k of ['user', 'group'] as const) {
    const problem = idProblem(p[k], MAX_SPAWN_ID)
    if (problem) issues.push({ path: [k], message: problem })
  }
  return issues
}

export const exec = defineResource({
  kind: 'exec',
  params: ExecParams,
  obsolete: {
    pollint: 'use meta poll',
    state: 'exec has no state',
  },
  traits: { refreshable: true },
  sends: { output: z.string(), stdout: z.string(), stderr: z.string() },
  normalize(p, name) {
    return { ...p, cmd: p.cmd || name, sig: signalName(p.sig) ?? p.sig }
  },
  validate: validateExec,
  /**
   * Each command needs the file resource of its program (or of its shell) when one manages it, and
   * the package that ships it; every command needs the user and the group it runs as.
   */
  autoEdges(p) {
    const programs = (
      [
        [p.cmd, p.shell],
        [p.watchcmd, p.watchshell],
        [p.ifcmd, p.ifshell],
        [p.nifcmd, p.nifshell],
        [p.donecmd, p.doneshell],
      ] as const
    )
      .map(([cmd, shell]) => (shell || cmd.trim().split(/\s+/)[0]) ?? '')
      .filter(Boolean)
    return [
      ...programs.filter(bin => bin.startsWith('/')).map(bin => [`file:${bin}`]),
      ...programs.map(bin => programCandidates(bin, p.env.PATH).map(f => `pkgfile:${f}`)),
      ...(p.user && !/^\d+$/.test(p.user) ? [[`user:${p.user}`]] : []),
      ...(p.group && !/^\d+$/.test(p.group) ? [[`group:${p.group}`]] : []),
    ]
  },
  init(p, ctx) {
    // Without a shell a command is split on spaces: quotes reach the program as they are.
    for (const k of commandKeys) {
      const shell = p[k === 'cmd' ? 'shell' : (`${k.slice(0, -3)}shell` as 'shell')]
      if (p[k] && !shell && /["']/.test(p[k]))
        ctx.log.warn(
          `\`${k}\` has quotes but no shell is set: it is split on spaces and the quotes are passed on as they are ` +
            `(set \`${k === 'cmd' ? 'shell' : `${k.slice(0, -3)}shell`}: /bin/sh\` to have a shell read them)`,
        )
    }
    const commands = new Commands(p, ctx)
    const fallback: ExecOutputs = {
      output: p.send_output ?? noOutputs.output,
      stdout: p.send_stdout ?? noOutputs.stdout,
      stderr: p.send_stderr ?? noOutputs.stderr,
    }
    const main = { cmd: p.cmd, shell: p.shell, cwd: p.cwd, args: p.args }
    const display = commandOf(main, p.env).display
    let last: Promise<ExecOutputs> | undefined
    const cached = (): Promise<ExecOutputs> => {
      last ??= readOutputs(ctx.state, display)
        .then(o => o ?? fallback)
        .catch(e => {
          last = undefined
          throw e
        })
      return last
    }
    return {
      async watch(signal) {
        await watchExec(p, ctx, commands, signal)
      },
      async checkApply(apply, signal) {
        const skip = await skipReason(p, ctx, commands, signal)
        if (skip !== undefined) {
          if (ctx.debug) ctx.log.debug(`not running: ${skip}`)
          ctx.send({ ...(await cached()) })
          return true
        }
        if (!apply) {
          ctx.log.info(`would run: ${display}`)
          ctx.send({ ...(await cached()) })
          return false
        }
        ctx.log.info(`running: ${display}`)
        const r = await commands.mustSucceed(main, signal)
        ctx.log.info(`exited 0${outputTail(r.output)}`)
        const out: ExecOutputs = { output: r.output, stdout: r.stdout, stderr: r.stderr }
        last = Promise.resolve(out)
        await writeOutputs(ctx.state, display, out)
        if (p.donecmd) {
          ctx.log.info(`running donecmd: ${p.donecmd}`)
          await commands.mustSucceed({ cmd: p.donecmd, shell: p.doneshell, cwd: p.donecwd }, signal)
        }
        if (p.mtimes.length) await markRun(ctx.state)
        ctx.send({ ...out })
        return false
      },
      interrupt() {
        commands.groups.killAll()
      },
    }
  },
})

/** Runs the resource's commands with its environment, credentials, timeout and stop signal. */
class Commands {
  readonly groups = new ProcessGroups()
  constructor(
    readonly p: Readonly<ExecParams>,
    readonly ctx: ResourceContext,
  ) {}

  /** `text` as a runnable command, with the resource's environment and credentials. */
  async command(text: CommandText): Promise<Command> {
    const cred = await resolveCredentials(this.p.user, this.p.group)
    return { ...commandOf(text, this.p.env), ...cred }
  }

  get killSignal(): NodeJS.Signals {
    return signalName(this.p.sig) ?? 'SIGTERM'
  }

  /** Debug logging of every output line, prefixed with the pid. */
  get onLine(): ((line: string, stream: string, pid: number) => void) | undefined {
    const log = this.ctx.log
    return this.ctx.debug ? (line, _stream, pid) => log.debug(`[${pid}] ${line}`) : undefined
  }

  /** Runs `text` to its end; throws when it was aborted, timed out or killed. */
  async run(text: CommandText, signal: AbortSignal): Promise<CommandResult> {
    const r = await runCommand(await this.command(text), {
      signal,
      timeoutMs: this.p.timeout * 1000,
      killSignal: this.killSignal,
      onLine: this.onLine,
      groups: this.groups,
    })
    if (r.aborted || (r.signal && !r.timedOut && (await stoppedWithin(signal)))) signal.throwIfAborted()
    if (r.timedOut || r.signal) throw this.failure(text, r)
    return r
  }

  /** Like `run`, and a non-zero exit is an error too. */
  async mustSucceed(text: CommandText, signal: AbortSignal): Promise<CommandResult> {
    const r = await this.run(text, signal)
    if (r.exitCode !== 0) throw this.failure(text, r)
    return r
  }

  failure(text: CommandText, r: CommandResult): MgmtError<'ERR_EXEC_FAILED'> {
    return new MgmtError('ERR_EXEC_FAILED', {
      command: commandOf(text, {}).display,
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      ...(r.timedOut ? { timeout: this.p.timeout } : {}),
      stderr: r.stderr,
    })
  }
}

/** Why `cmd` should not run now, or undefined when it should. Guards run in noop mode too. */
async function skipReason(
  p: Readonly<ExecParams>,
  ctx: ResourceContext,
  commands: Commands,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (p.refreshonly && !ctx.refresh()) return 'refreshonly and no notification'
  const newer = p.mtimes.length ? await newerThanLastRun(p.mtimes, ctx.state) : undefined
  if (newer) {
    if (ctx.debug) ctx.log.debug(`${newer} changed since the last run`)
    return undefined
  }
  if (p.creates && (await exists(p.creates))) return `${p.creates} exists`
  if (p.ifcmd) {
    const r = await commands.run({ cmd: p.ifcmd, shell: p.ifshell, cwd: p.ifcwd }, signal)
    if (r.exitCode !== 0) return `ifcmd exited ${r.exitCode}`
    if (p.ifequals !== undefined && r.output === p.ifequals) return 'the output of ifcmd equals ifequals'
    if (p.ifequals_stdout !== undefined && r.stdout === p.ifequals_stdout)
      return 'the stdout of ifcmd equals ifequals_stdout'
  }
  if (p.nifcmd) {
    const r = await commands.run({ cmd: p.nifcmd, shell: p.nifshell, cwd: p.nifcwd }, signal)
    if (r.exitCode === 0) return 'nifcmd exited 0'
  }
  return undefined
}

/** When `cmd` last succeeded, for `mtimes`: the modification time of a stamp file. */
const STAMP = 'mtimes'

async function markRun(state: StateFiles): Promise<void> {
  await state.write(STAMP, `${new Date().toISOString()}\n`)
}

/** The first of `files` modified after the last run (every one, when it never ran); a missing one is an error. */
async function newerThanLastRun(files: readonly string[], state: StateFiles): Promise<string | undefined> {
  if (!files.length) return undefined
  const last = (await stat(await state.path(STAMP)).catch(() => undefined))?.mtimeMs ?? -1
  for (const f of files) {
    const st = await stat(f).catch(() => undefined)
    if (!st) throw new Error(`${f} (in mtimes) does not exist`)
    // The same time counts as later: file times are coarse, and a run too many is the safe mistake.
    if (st.mtimeMs >= last) return f
  }
  return undefined
}

function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  )
}

/**
 * Watches `creates` and runs `watchcmd`, one event per output line. Ready once both are in place;
 * returns when `signal` aborts (the watch command's group is stopped first); throws when the watch
 * command exits on its own.
 */
async function watchExec(
  p: Readonly<ExecParams>,
  ctx: ResourceContext,
  commands: Commands,
  signal: AbortSignal,
): Promise<void> {
  let ready = false
  const fire = (): void => {
    if (ready) ctx.event()
  }
  if (p.creates) await ctx.watchPath(p.creates, signal, fire)
  for (const f of [...p.watchfiles, ...p.mtimes])
    await ctx.watchPath(f, signal, fire, { recursive: f.endsWith('/') })
  if (!p.watchcmd || signal.aborted) {
    ready = true
    ctx.event()
    await untilAborted(signal)
    return
  }
  const text = { cmd: p.watchcmd, shell: p.watchshell, cwd: p.watchcwd }
  const debugLine = commands.onLine
  let running: Running
  try {
    running = await startCommand(await commands.command(text), {
      signal,
      killSignal: commands.killSignal,
      collect: false,
      groups: commands.groups,
      onLine(line, stream, pid) {
        debugLine?.(line, stream, pid)
        if (stream === 'stdout') fire()
      },
    })
  } catch (e) {
    if (signal.aborted) return
    throw e
  }
  ready = true
  ctx.event()
  const r = await running.done
  if (r.aborted || (r.signal && (await stoppedWithin(signal)))) return
  throw commands.failure(text, r)
}

/**
 * How long a command killed by a signal that mgmt did not send waits for the engine's stop before
 * it counts as a failure. systemd stops a service (KillMode=control-group) by signalling its main
 * process and then every other process of its cgroup at once: mgmt may see its commands die of
 * that signal before it sees its own, and their deaths are the stop, not failures.
 */
const STOP_GRACE_MS = 250

/** Whether `signal` aborts within STOP_GRACE_MS (resolves at once when it does). */
const stoppedWithin = (signal: AbortSignal): Promise<boolean> =>
  sleep(STOP_GRACE_MS, undefined, { signal }).then(
    () => false,
    () => true,
  )
