/** `mgmt run [flags] FRONTEND ...`: open a frontend, run its graphs, exit with a code a script can use. */
import { EventEmitter } from 'node:events'
import { rmSync } from 'node:fs'
import { hostname as osHostname } from 'node:os'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { CompileCache, type Compiled } from '../engine/compiled.js'
import type { RunResult } from '../engine/runner.js'
import type { Frontend, FrontendContext, GraphStream } from '../frontends/frontend.js'
import { Graph } from '../lib/graph.js'
import { defaultPrefix, type RunHandle, start } from '../lib/run.js'
import { Progress } from '../observe/progress.js'
import type { HostOutcome } from '../remote/host.js'
import type { Remotes } from '../remote/orchestrator.js'
import { builtinRegistry } from '../resources/index.js'
import { type Collection, exposedGc, SettledCollector } from '../util/collect.js'
import { isMgmtError, logError, MgmtError } from '../util/errors.js'
import { createLogger, type Logger } from '../util/logger.js'
import { type HeldPrefix, holdPrefix, tempPrefix } from '../util/prefix.js'
import type { World } from '../world/world.js'
import {
  addClusterFlags,
  addOriginalFlags,
  addRunFlags,
  type ClusterFlags,
  envSwitches,
  type RunFlags,
  resolveFlags,
} from './flags.js'
import { frontendCommands } from './frontends.js'
import { type Observers, startObservers } from './observe.js'
import { checkClusterFlags, clustered, isClusterError, openWorld } from './world.js'

/** Exit codes: 0 success or converged, 1 runtime failure, 2 usage or invalid graph. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
/** With `--detailed-exitcodes` (as Puppet): bits for changes and failures; 1 when nothing ran. */
export const EXIT_CHANGES = 2
export const EXIT_FAILURES = 4

/**
 * The exit code of a usage error or an invalid graph (`code`, EXIT_USAGE) with `--detailed-exitcodes`:
 * 1 there (2 means "changes"); any other code is returned as it is.
 */
export const detailed = (code: number, on: boolean | undefined): number =>
  on && code === EXIT_USAGE ? EXIT_FAILURE : code

export function addRunCommand(program: Command): void {
  const run = program.command('run').description('run a graph and keep the system in its state')
  addRunFlags(run)
  addClusterFlags(run)
  addOriginalFlags(run)
  for (const fc of frontendCommands) {
    const cmd = run.command(fc.name).description(fc.description)
    fc.configure?.(cmd)
    cmd.action(async (...a: unknown[]) => {
      const self = a[a.length - 1] as Command
      envSwitches(self)
      const opts = resolveFlags(self.optsWithGlobals<RunFlags & ClusterFlags & Record<string, unknown>>())
      const other = fc.instead?.(self.args, opts)
      process.exitCode = other ? await other : await runGraphs(opts, fc.open(self.args, opts))
    })
  }
  // The original's older form, `run --yaml FILE` (or `--file FILE`): the yaml frontend, with a warning.
  run.action(async (_opts: unknown, self: Command) => {
    envSwitches(self)
    const opts = resolveFlags(self.opts<RunFlags & ClusterFlags & Record<string, unknown>>())
    const file = opts.yaml ?? opts.file
    if (file === undefined) {
      self.help({ error: true })
      return
    }
    const spelled = opts.yaml !== undefined ? '--yaml' : '--file'
    process.stderr.write(`mgmt: \`run ${spelled} FILE\` is deprecated: use \`mgmt run yaml ${file}\`\n`)
    const yaml = frontendCommands.find(f => f.name === 'yaml')!
    process.exitCode = await runGraphs(opts, yaml.open([file], opts))
  })
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

async function* stream(s: GraphStream): AsyncGenerator<Compiled> {
  yield s.first
  if (s.later) yield* s.later
}

/**
 * A graph may come again (a save, SIGHUP, a deploy) before the run ends: not when it ends at its
 * first convergence (`--converged-timeout 0`), which is the one-shot run a cron job starts.
 */
const takesReloads = (flags: RunFlags): boolean =>
  flags.convergedTimeout !== 0 || flags.convergedTimeoutNoExit === true

/** A long-running engine collects its garbage once it settles after a commit (util/collect.ts). */
function collectWhenSettled(run: RunHandle, collector: SettledCollector, log: Logger): void {
  run.on('idle', e => {
    if (e.afterCommit) logCollection(log, 'once settled', collector.settled())
  })
}

function logCollection(log: Logger, when: string, c: Collection | undefined): void {
  const mb = (b: number): string => (b / 1048576).toFixed(1)
  if (c && log.isDebug)
    log.debug(
      `collected garbage ${when}: ${mb(c.beforeBytes)} → ${mb(c.afterBytes)} MB in ${c.ms.toFixed(1)} ms`,
    )
}

/** Progress on a terminal: only when both outputs are terminals, logs are text, and it is wanted. */
function terminalProgress(flags: RunFlags): Progress | undefined {
  if (!flags.progress || flags.logFormat === 'json' || !process.stderr.isTTY || !process.stdout.isTTY) return
  return new Progress(process.stderr)
}

export async function runGraphs(
  flags: RunFlags & ClusterFlags,
  frontend: Frontend | undefined,
): Promise<number> {
  if (flags.graphvizFilter && !flags.graphviz)
    throw new MgmtError('ERR_USAGE', { reason: '--graphviz-filter needs --graphviz FILE' })
  const hostname = flags.hostname ?? osHostname()
  if (clustered(flags) || !flags.server) checkClusterFlags(flags, hostname)
  const progress = terminalProgress(flags)
  const log = createLogger(flags.debug ? 'debug' : 'info', {
    format: flags.logFormat,
    dates: flags.logDates,
    color: flags.logFormat !== 'json' && process.stderr.isTTY === true && !process.env.NO_COLOR,
    write: progress && ((line, level) => progress.writeLine(line, level)),
  })
  // Remote hosts are checked first (every graph file, the keys): a problem stops the run before
  // anything starts, the world's etcd included.
  const remotes = flags.remote.length || flags.detach ? await planRemotes(flags, log) : undefined
  if (typeof remotes === 'number') return remotes
  // A throwaway prefix is this run's alone; another one is held for the run (util/prefix.ts).
  const held = flags.tmpPrefix
    ? await tempPrefix()
    : await holdPrefix(resolve(flags.prefix ?? defaultPrefix()), log)
  const prefix = held.path
  // A throwaway prefix goes whichever way the run ends, the third ^C's immediate exit included.
  const removeTmp = flags.tmpPrefix ? () => rmSync(prefix, { recursive: true, force: true }) : undefined
  if (removeTmp) process.once('exit', removeTmp)
  const world = await openWorld(flags, hostname, prefix, log)
  const stopWatching = new AbortController()
  const reloads = new EventEmitter()
  // Made before the first graph is read: its growth counts from here.
  const gc = takesReloads(flags) ? exposedGc() : undefined
  const collector = gc && new SettledCollector(gc)
  // ^C before the run starts (while a frontend waits for the world): stop waiting, exit 0.
  const early = (): void => stopWatching.abort()
  process.on('SIGINT', early)
  process.on('SIGTERM', early)
  try {
    const opened = frontend
      ? await openFrontend(frontend, {
          registry: builtinRegistry(),
          // One cache for the source's reloads: an edit re-parses only the resources it touched. A
          // one-shot run keeps none (about 1 KB a resource, and 6% of a cold load's time).
          compile: {
            strict: flags.strict,
            lenient: flags.lenient,
            noop: flags.noop,
            sema: flags.sema,
            noAutoEdges: !flags.autoedges,
            noAutoGroup: !flags.autogroup,
            cache: takesReloads(flags) ? new CompileCache() : undefined,
          },
          log,
          watch: flags.watch,
          signal: stopWatching.signal,
          world,
          prefix,
          onReload: fn => {
            reloads.on('reload', fn)
            return () => reloads.off('reload', fn)
          },
        })
      : undefined
    if (typeof opened === 'number') return detailed(opened, flags.detailedExitcodes)
    if (stopWatching.signal.aborted) return EXIT_OK
    return await runOpened(flags, {
      opened,
      world,
      hostname,
      prefix: held,
      log,
      progress,
      early,
      stopWatching,
      reloads,
      remotes: remotes?.(world),
      collector,
    })
  } catch (err) {
    // The world could not be had (a managed server that cannot start, a join refused): exit 1.
    if (!isClusterError(err)) throw err
    log.error((err as Error).message)
    return EXIT_FAILURE
  } finally {
    process.off('SIGINT', early)
    process.off('SIGTERM', early)
    stopWatching.abort()
    await world.close()
    if (removeTmp) {
      // In one go: a few files, and no turn of the event loop that the exit does not need.
      process.off('exit', removeTmp)
      removeTmp()
    }
    held.release()
  }
}

interface Opened {
  readonly opened: GraphStream | undefined
  readonly world: World
  readonly hostname: string
  readonly prefix: HeldPrefix
  readonly log: Logger
  readonly progress: Progress | undefined
  /** The ^C handler of the start, replaced by the run's own. */
  readonly early: () => void
  readonly stopWatching: AbortController
  /** Emits `reload` on SIGHUP, for the frontend. */
  readonly reloads: EventEmitter
  readonly remotes: Remotes | undefined
  /** Collects the garbage of a long-running engine once it settles after a commit. */
  readonly collector: SettledCollector | undefined
}

/** The remote hosts, ready to start with the world; or the exit code of a problem with them. */
async function planRemotes(
  flags: RunFlags & ClusterFlags,
  log: Logger,
): Promise<((world: World) => Remotes) | number> {
  try {
    // Loaded only for remote runs: SSH is a large module, and most runs never need it.
    return await (await import('./remote.js')).openRemotes(flags, log)
  } catch (err) {
    if (!isMgmtError(err) || isMgmtError(err, 'ERR_USAGE')) throw err
    log.error(err.message)
    return isMgmtError(err, 'ERR_FILE_READ') || isMgmtError(err, 'ERR_REMOTE_SETUP')
      ? EXIT_FAILURE
      : detailed(EXIT_USAGE, flags.detailedExitcodes)
  }
}

/** Runs the opened frontend's graphs with the observers and the remote hosts asked for. */
async function runOpened(flags: RunFlags & ClusterFlags, o: Opened): Promise<number> {
  const { opened, log } = o
  let observers: Observers
  try {
    observers = await startObservers(flags, log, o.progress)
  } catch (err) {
    if (!isMgmtError(err, 'ERR_LISTEN')) throw err
    log.error(err.message)
    return EXIT_FAILURE
  }
  const { remotes } = o
  if (o.collector) logCollection(log, 'before the first graph starts', o.collector.collect())
  const run = start(opened ? stream(opened) : new Graph('empty'), {
    hostname: o.hostname,
    prefix: o.prefix,
    world: o.world,
    log,
    noop: flags.noop,
    diff: flags.diff,
    convergedTimeout: flags.convergedTimeout,
    convergedTimeoutNoExit: flags.convergedTimeoutNoExit,
    convergedStatusFile: flags.convergedStatusFile,
    maxRuntime: flags.maxRuntime,
    // Remote hosts count for convergence; with no local graph (`empty` and no deploy), the run
    // ends when they all have.
    attach: remotes && (register => remotes.start(register, () => !opened?.first.name && run.shutdown())),
  })
  observers.attach(run)
  if (o.collector) collectWhenSettled(run, o.collector, log)
  process.off('SIGINT', o.early)
  process.off('SIGTERM', o.early)
  // A second ^C kills the remote runs at once; detached ones are left alone.
  const stopSignals = handleSignals(
    run,
    log,
    () => !flags.detach && remotes?.stop(true),
    () => {
      if (!o.reloads.emit('reload')) log.info('SIGHUP: no graph to reload')
    },
  )
  // A remote run (started over SSH, depth > 0) has the connection as its standard input: when the
  // initiator goes away, even killed, the input ends, and so does the run. A detached one stays.
  if (flags.depth > 0 && !flags.detached) process.stdin.once('end', () => run.shutdown()).resume()
  // Logged once ^C is handled, so that whoever waits for this line may signal.
  if (opened && opened.first.name !== '')
    log.info(
      `running graph \`${opened.first.name}\` (${plural(opened.first.graph.size, 'resource')})${flags.noop ? ', noop' : ''}`,
    )
  else log.info('running no local graph')
  try {
    const result = await run.done.finally(() => o.stopWatching.abort())
    const hosts = flags.detach ? await detach(remotes, o.world) : await remotes?.stop()
    const failedHosts = hosts?.filter(h => h.error).map(h => h.hostname) ?? []
    return report(result, flags, log, failedHosts)
  } finally {
    stopSignals()
    await observers.close()
    if (flags.depth > 0) process.stdin.destroy()
  }
}

/**
 * `--detach`: this host leaves the cluster first, while the tunnels still carry the remote
 * members' traffic to its etcd, then lets the remote hosts go, their runs left going.
 */
async function detach(remotes: Remotes | undefined, world: World): Promise<HostOutcome[] | undefined> {
  await world.close()
  return remotes?.detach()
}

/** The frontend's stream, or the exit code of an input that does not load. */
async function openFrontend(frontend: Frontend, ctx: FrontendContext): Promise<GraphStream | number> {
  try {
    return await frontend(ctx)
  } catch (err) {
    if (!isMgmtError(err) || isClusterError(err)) throw err
    logError(ctx.log, err)
    return isMgmtError(err, 'ERR_FILE_READ') ? EXIT_FAILURE : EXIT_USAGE
  }
}

/**
 * The exit code of a run (the engine logged the recap line): 1 when a resource or a remote host
 * failed or running work was cancelled, else 0; with `--detailed-exitcodes`, 2 for changes (with
 * --noop: pending changes), 4 for failures, 6 for both.
 */
function report(result: RunResult, flags: RunFlags, log: Logger, failedHosts: readonly string[]): number {
  if (failedHosts.length)
    log.error(`${plural(failedHosts.length, 'remote host')} failed: ${failedHosts.join(', ')}`)
  const failed = result.failed.length > 0 || failedHosts.length > 0 || result.cancelled > 0
  if (flags.detailedExitcodes) return (result.changed > 0 ? EXIT_CHANGES : 0) | (failed ? EXIT_FAILURES : 0)
  return failed ? EXIT_FAILURE : EXIT_OK
}

/**
 * ^C (or SIGTERM) once: orderly shutdown; twice: cancel running work (and kill remote runs at
 * once); three times: stop at once. SIGHUP reloads the graph, as daemons do, instead of ending the
 * run.
 */
function handleSignals(run: RunHandle, log: Logger, onCancel: () => void, reload: () => void): () => void {
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
  process.on('SIGHUP', reload)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.off('SIGHUP', reload)
  }
}
