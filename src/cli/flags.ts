/** The flags of `mgmt run`, each also settable as `MGMT_<FLAG>` in the environment. */
import { type Command, Option } from 'commander'
import { MgmtError } from '../util/errors.js'
import type { LogFormat } from '../util/logger.js'

export interface RunFlags {
  hostname?: string
  prefix?: string
  tmpPrefix?: boolean
  watch: boolean
  noop?: boolean
  strict?: boolean
  sema: number
  convergedTimeout: number
  convergedTimeoutNoExit?: boolean
  convergedStatusFile?: string
  maxRuntime: number
  debug?: boolean
  logFormat: LogFormat
  /** `--no-autoedges`, `--no-autogroup`. */
  autoedges: boolean
  autogroup: boolean
  /** The original's spellings (see `originalFlags`). */
  convergerTimeout?: number
  convergedExit?: boolean
  convergerStatusFile?: string
  pgp?: boolean
  yaml?: string
  file?: string
}

export const int =
  (name: string) =>
  (v: string): number => {
    const n = Number(v)
    if (!Number.isInteger(n))
      throw new MgmtError('ERR_USAGE', { reason: `${name} expects a whole number, not \`${v}\`` })
    return n
  }

export const flag = (spec: string, desc: string, env: string): Option =>
  new Option(spec, desc).env(`MGMT_${env}`)

/** Adds the run flags to `run`. */
export function addRunFlags(run: Command): void {
  run
    .addOption(flag('--hostname <name>', "this host's name (default: the OS hostname)", 'HOSTNAME'))
    .addOption(
      flag(
        '--prefix <dir>',
        'state directory (default: /var/lib/mgmt/ as root, else ~/.cache/mgmt/)',
        'PREFIX',
      ),
    )
    .addOption(
      flag(
        '--tmp-prefix',
        'keep state in a fresh temporary directory, removed on exit',
        'TMP_PREFIX',
      ).conflicts('prefix'),
    )
    .addOption(flag('--no-watch', 'do not watch the graph file for changes', 'NO_WATCH'))
    .addOption(flag('--noop', 'change nothing; show what would change', 'NOOP'))
    .addOption(
      flag(
        '--sema <n>',
        'add a semaphore of size n to every resource: at most n check at once (0: no limit)',
        'SEMA',
      )
        .argParser(int('--sema'))
        .default(0),
    )
    .addOption(flag('--strict', 'unknown or obsolete keys are errors, not warnings', 'STRICT'))
    .addOption(
      flag(
        '--converged-timeout <s>',
        'exit once everything was idle this many seconds (-1: never)',
        'CONVERGED_TIMEOUT',
      )
        .argParser(int('--converged-timeout'))
        .default(-1),
    )
    .addOption(
      flag('--converged-timeout-no-exit', 'report convergence but keep running', 'CONVERGED_TIMEOUT_NO_EXIT'),
    )
    .addOption(
      flag(
        '--converged-status-file <file>',
        'append true/false to this file on every change of the converged state',
        'CONVERGED_STATUS_FILE',
      ),
    )
    .addOption(
      flag('--max-runtime <s>', 'exit after this many seconds (0: never)', 'MAX_RUNTIME')
        .argParser(int('--max-runtime'))
        .default(0),
    )
    .addOption(flag('--no-autoedges', 'do not add automatic edges', 'NO_AUTOEDGES'))
    .addOption(flag('--no-autogroup', 'do not group resources into one vertex', 'NO_AUTOGROUP'))
    .addOption(flag('--debug', 'verbose logs', 'DEBUG'))
    .addOption(
      flag('--log-format <format>', 'log line format', 'LOG_FORMAT')
        .choices(['text', 'json'])
        .default('text'),
    )
}

/**
 * The original's spellings, so that its scripts and docs work: `--converger-timeout N` reports
 * convergence and exits only with `--converged-exit` (as the original's newer versions do),
 * `--converger-status-file`, `--no-pgp` (accepted, no effect), and the older `run --yaml FILE`
 * and `run --file FILE` (deprecated: a warning names the new form).
 */
export function addOriginalFlags(run: Command): void {
  run
    .addOption(
      flag(
        '--converger-timeout <s>',
        'like --converged-timeout, but exit only with --converged-exit',
        'CONVERGER_TIMEOUT',
      )
        .argParser(int('--converger-timeout'))
        .conflicts('convergedTimeout'),
    )
    .addOption(flag('--converged-exit', 'exit once converged (with --converger-timeout)', 'CONVERGED_EXIT'))
    .addOption(
      flag(
        '--converger-status-file <file>',
        'the same as --converged-status-file',
        'CONVERGER_STATUS_FILE',
      ).conflicts('convergedStatusFile'),
    )
    .addOption(flag('--no-pgp', 'accepted for the original; no effect', 'NO_PGP'))
    .addOption(new Option('--yaml <file>', 'deprecated: use `mgmt run yaml FILE`').hideHelp())
    .addOption(new Option('--file <file>', 'deprecated: use `mgmt run yaml FILE`').hideHelp())
}

/** The run flags with the original's spellings folded into ours. */
export function resolveFlags<F extends RunFlags>(f: F): F {
  if (f.convergerTimeout === undefined && f.convergerStatusFile === undefined) return f
  return {
    ...f,
    ...(f.convergerTimeout !== undefined
      ? { convergedTimeout: f.convergerTimeout, convergedTimeoutNoExit: !f.convergedExit }
      : {}),
    convergedStatusFile: f.convergedStatusFile ?? f.convergerStatusFile,
  }
}
