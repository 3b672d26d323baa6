/** `mgmt run [flags] yaml FILE` and `mgmt run [flags] empty`. */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type Command, Option } from 'commander'
import { describeError, isMgmtError, MgmtError } from '../engine/errors.js'
import { createLogger, type LogFormat, type Logger } from '../engine/logger.js'
import { CompileCache } from '../engine/spec.js'
import { loadYaml, type YamlGraph } from '../frontends/yaml/parse.js'
import { watchYamlFile } from '../frontends/yaml/watch.js'
import { Graph } from '../lib/graph.js'
import { type RunHandle, start } from '../lib/run.js'
import { builtinRegistry } from '../resources/index.js'

/** Exit codes: 0 success or converged, 1 runtime failure, 2 usage or invalid graph. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

interface RunFlags {
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
}

const int =
  (name: string) =>
  (v: string): number => {
    const n = Number(v)
    if (!Number.isInteger(n))
      throw new MgmtError('ERR_USAGE', { reason: `${name} expects a whole number, not \`${v}\`` })
    return n
  }

const flag = (spec: string, desc: string, env: string): Option => new Option(spec, desc).env(`MGMT_${env}`)

export function addRunCommand(program: Command): void {
  const run = program
    .command('run')
    .description('run a graph and keep the system in its state')
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
    .addOption(flag('--debug', 'verbose logs', 'DEBUG'))
    .addOption(
      flag('--log-format <format>', 'log line format', 'LOG_FORMAT')
        .choices(['text', 'json'])
        .default('text'),
    )
  run
    .command('yaml')
    .description('run the graph in a YAML file')
    .argument('<file>', 'the YAML graph')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      process.exitCode = await runCommand(cmd.optsWithGlobals<RunFlags>(), resolve(file))
    })
  run
    .command('empty')
    .description('run no local graph')
    .action(async (_o: unknown, cmd: Command) => {
      process.exitCode = await runCommand(cmd.optsWithGlobals<RunFlags>(), undefined)
    })
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

function defaultPrefix(): string {
  if (process.getuid?.() === 0) return '/var/lib/mgmt/'
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mgmt')
}

async function runCommand(flags: RunFlags, file: string | undefined): Promise<number> {
  const log = createLogger(flags.debug ? 'debug' : 'info', { format: flags.logFormat })
  const registry = builtinRegistry()
  // One cache for the file's reloads: an edit re-parses only the resources it touched.
  const cache = new CompileCache()
  const load = (text: string): YamlGraph =>
    loadYaml(text, file!, registry, { strict: flags.strict, noop: flags.noop, sema: flags.sema, cache })
  let first: YamlGraph | undefined
  let firstText = ''
  if (file) {
    try {
      firstText = await readFile(file, 'utf8').catch(err => {
        throw new MgmtError('ERR_FILE_READ', { file, reason: describeError(err) })
      })
      first = load(firstText)
    } catch (err) {
      if (!isMgmtError(err)) throw err
      log.error(err.message)
      return isMgmtError(err, 'ERR_FILE_READ') ? EXIT_FAILURE : EXIT_USAGE
    }
    for (const m of first.messages) log.warn(m)
  }
  const prefix = flags.tmpPrefix
    ? await mkdtemp(join(tmpdir(), 'mgmt-'))
    : resolve(flags.prefix ?? defaultPrefix())
  await mkdir(prefix, { recursive: true, mode: 0o700 })
  const stopWatching = new AbortController()
  const graphs =
    first && flags.watch
      ? watchYamlFile(file!, first, firstText, load, log, stopWatching.signal)
      : (first ?? new Graph('empty'))
  const run = start(graphs, {
    hostname: flags.hostname,
    prefix,
    log,
    noop: flags.noop,
    convergedTimeout: flags.convergedTimeout,
    convergedTimeoutNoExit: flags.convergedTimeoutNoExit,
    convergedStatusFile: flags.convergedStatusFile,
    maxRuntime: flags.maxRuntime,
  })
  const stopSignals = handleSignals(run, log)
  // Logged once ^C is handled, so that whoever waits for this line may signal.
  if (first)
    log.info(
      `running graph \`${first.name}\` (${plural(first.graph.size, 'resource')})${flags.noop ? ', noop' : ''}`,
    )
  else log.info('running no local graph')
  const result = await run.done.finally(() => {
    stopWatching.abort()
    stopSignals()
  })
  if (flags.tmpPrefix) await rm(prefix, { recursive: true, force: true })
  const verb = flags.noop ? 'would have changed' : 'changed'
  log.info(`done (${result.reason}): ${plural(result.checked, 'check')}, ${result.changed} ${verb}`)
  if (result.failed.length) {
    log.error(`${plural(result.failed.length, 'resource')} failed: ${result.failed.join(', ')}`)
    return EXIT_FAILURE
  }
  return EXIT_OK
}

/** ^C once: orderly shutdown; twice: cancel running work; three times: stop at once. */
function handleSignals(run: RunHandle, log: Logger): () => void {
  let count = 0
  const onSignal = (sig: NodeJS.Signals): void => {
    count++
    if (count === 1) {
      log.info(`${sig}: shutting down (again to cancel running work)`)
      run.shutdown()
    } else if (count === 2) {
      log.warn(`${sig}: cancelling running work (again to stop at once)`)
      run.cancel()
    } else {
      log.warn(`${sig}: stopping now`)
      run.interrupt()
      process.exit(EXIT_FAILURE)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
