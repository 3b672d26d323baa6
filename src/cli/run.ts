/** `mgmt run [flags] FRONTEND ...`: open a frontend, run its graphs, exit with a code a script can use. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { CompileCache, type Compiled } from '../engine/compile.js'
import type { Frontend, GraphStream } from '../frontends/frontend.js'
import { Graph } from '../lib/graph.js'
import { type RunHandle, start } from '../lib/run.js'
import { Progress } from '../observe/progress.js'
import type { Remotes } from '../remote/orchestrator.js'
import { builtinRegistry } from '../resources/index.js'
import { isMgmtError, MgmtError } from '../util/errors.js'
import { createLogger, type Logger } from '../util/logger.js'
import { addRunFlags, envSwitches, type RunFlags } from './flags.js'
import { frontendCommands } from './frontends.js'
import { type Observers, startObservers } from './observe.js'

/** Exit codes: 0 success or converged, 1 runtime failure, 2 usage or invalid graph. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function addRunCommand(program: Command): void {
  const run = program.command('run').description('run a graph and keep the system in its state')
  addRunFlags(run)
  for (const fc of frontendCommands) {
    const cmd = run.command(fc.name).description(fc.description)
    fc.configure?.(cmd)
    cmd.action(async (...a: unknown[]) => {
      const self = a[a.length - 1] as Command
      envSwitches(self)
      const opts = self.optsWithGlobals<RunFlags & Record<string, unknown>>()
      const other = fc.instead?.(self.args, opts)
      process.exitCode = other ? await other : await runGraphs(opts, fc.open(self.args, opts))
    })
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

function defaultPrefix(): string {
  if (process.getuid?.() === 0) return '/var/lib/mgmt/'
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mgmt')
}

async function* stream(s: GraphStream): AsyncGenerator<Compiled> {
  yield s.first
  if (s.later) yield* s.later
}

/** Progress on a terminal: only when both outputs are terminals, logs are text, and it is wanted. */
function terminalProgress(flags: RunFlags): Progress | undefined {
  if (!flags.progress || flags.logFormat === 'json' || !process.stderr.isTTY || !process.stdout.isTTY) return
  return new Progress(process.stderr)
}

export async function runGraphs(flags: RunFlags, frontend: Frontend | undefined): Promise<number> {
  if (flags.graphvizFilter && !flags.graphviz)
    throw new MgmtError('ERR_USAGE', { reason: '--graphviz-filter needs --graphviz FILE' })
  const progress = terminalProgress(flags)
  const log = createLogger(flags.debug ? 'debug' : 'info', {
    format: flags.logFormat,
    write: progress && (line => progress.writeLine(line)),
  })
  const stopWatching = new AbortController()
  let opened: GraphStream | undefined
  if (frontend) {
    try {
      opened = await frontend({
        registry: builtinRegistry(),
        // One cache for the source's reloads: an edit re-parses only the resources it touched.
        compile: { strict: flags.strict, noop: flags.noop, sema: flags.sema, cache: new CompileCache() },
        log,
        watch: flags.watch,
        signal: stopWatching.signal,
      })
    } catch (err) {
      if (!isMgmtError(err)) throw err
      log.error(err.message)
      return isMgmtError(err, 'ERR_FILE_READ') ? EXIT_FAILURE : EXIT_USAGE
    }
  }
  let observers: Observers
  try {
    observers = await startObservers(flags, log, progress)
  } catch (err) {
    stopWatching.abort()
    if (!isMgmtError(err, 'ERR_LISTEN')) throw err
    log.error(err.message)
    return EXIT_FAILURE
  }
  let remotes: Remotes | undefined
  try {
    // Loaded only for remote runs: SSH is a large module, and most runs never need it.
    if (flags.remote.length || flags.detach)
      remotes = await (await import('./remote.js')).openRemotes(flags, log)
  } catch (err) {
    stopWatching.abort()
    await observers.close()
    if (!isMgmtError(err) || isMgmtError(err, 'ERR_USAGE')) throw err
    log.error(err.message)
    return isMgmtError(err, 'ERR_FILE_READ') || isMgmtError(err, 'ERR_REMOTE_SETUP')
      ? EXIT_FAILURE
      : EXIT_USAGE
  }
  const prefix = flags.tmpPrefix
    ? await mkdtemp(join(tmpdir(), 'mgmt-'))
    : resolve(flags.prefix ?? defaultPrefix())
  await mkdir(prefix, { recursive: true, mode: 0o700 })
  const run = start(opened ? stream(opened) : new Graph('empty'), {
    hostname: flags.hostname,
    prefix,
    log,
    noop: flags.noop,
    convergedTimeout: flags.convergedTimeout,
    convergedTimeoutNoExit: flags.convergedTimeoutNoExit,
    convergedStatusFile: flags.convergedStatusFile,
    maxRuntime: flags.maxRuntime,
    // Remote hosts count for convergence; with no local graph, the run ends when they all have.
    attach: remotes && (register => remotes.start(register, () => !opened && run.shutdown())),
  })
  observers.attach(run)
  const stopSignals = handleSignals(run, log, () => remotes?.stop(true))
  // A remote run (started over SSH, depth > 0) has the connection as its standard input: when the
  // initiator goes away, even killed, the input ends, and so does the run.
  if (flags.depth > 0) process.stdin.once('end', () => run.shutdown()).resume()
  // Logged once ^C is handled, so that whoever waits for this line may signal.
  if (opened)
    log.info(
      `running graph \`${opened.first.name}\` (${plural(opened.first.graph.size, 'resource')})${flags.noop ? ', noop' : ''}`,
    )
  else log.info('running no local graph')
  const result = await run.done.finally(() => stopWatching.abort())
  const hosts = await remotes?.stop()
  stopSignals()
  await observers.close()
  if (flags.depth > 0) process.stdin.destroy()
  if (flags.tmpPrefix) await rm(prefix, { recursive: true, force: true })
  const verb = flags.noop ? 'would have changed' : 'changed'
  log.info(`done (${result.reason}): ${plural(result.checked, 'check')}, ${result.changed} ${verb}`)
  const failedHosts = hosts?.filter(h => h.error).map(h => h.hostname) ?? []
  if (failedHosts.length)
    log.error(`${plural(failedHosts.length, 'remote host')} failed: ${failedHosts.join(', ')}`)
  if (result.failed.length) {
    log.error(`${plural(result.failed.length, 'resource')} failed: ${result.failed.join(', ')}`)
    return EXIT_FAILURE
  }
  return failedHosts.length ? EXIT_FAILURE : EXIT_OK
}

/**
 * ^C once: orderly shutdown; twice: cancel running work (and kill remote runs at once); three
 * times: stop at once.
 */
function handleSignals(run: RunHandle, log: Logger, onCancel: () => void): () => void {
  let count = 0
  const onSignal = (sig: NodeJS.Signals): void => {
    count++
    if (count === 1) {
      log.info(`${sig}: shutting down (again to cancel running work)`)
      run.shutdown()
    } else if (count === 2) {
      log.warn(`${sig}: cancelling running work (again to stop at once)`)
      run.cancel()
      onCancel()
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
