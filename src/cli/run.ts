/** `mgmt run [flags] FRONTEND ...`: open a frontend, run its graphs, exit with a code a script can use. */
import { EventEmitter } from 'node:events'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { CompileCache, type Compiled } from '../engine/compile.js'
import type { Frontend, GraphStream } from '../frontends/frontend.js'
import { Graph } from '../lib/graph.js'
import { type RunHandle, start } from '../lib/run.js'
import { builtinRegistry } from '../resources/index.js'
import { isMgmtError } from '../util/errors.js'
import { createLogger, type Logger } from '../util/logger.js'
import { addOriginalFlags, addRunFlags, type RunFlags, resolveFlags } from './flags.js'
import { frontendCommands } from './frontends.js'

/** Exit codes: 0 success or converged, 1 runtime failure, 2 usage or invalid graph. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function addRunCommand(program: Command): void {
  const run = program.command('run').description('run a graph and keep the system in its state')
  addRunFlags(run)
  addOriginalFlags(run)
  for (const fc of frontendCommands) {
    const cmd = run.command(fc.name).description(fc.description)
    fc.configure?.(cmd)
    cmd.action(async (...a: unknown[]) => {
      const self = a[a.length - 1] as Command
      const opts = resolveFlags(self.optsWithGlobals<RunFlags & Record<string, unknown>>())
      process.exitCode = await runGraphs(opts, fc.open(self.args, opts))
    })
  }
  // The original's older form, `run --yaml FILE` (or `--file FILE`): the yaml frontend, with a warning.
  run.action(async (_opts: unknown, self: Command) => {
    const opts = resolveFlags(self.opts<RunFlags & Record<string, unknown>>())
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

function defaultPrefix(): string {
  if (process.getuid?.() === 0) return '/var/lib/mgmt/'
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mgmt')
}

async function* stream(s: GraphStream): AsyncGenerator<Compiled> {
  yield s.first
  if (s.later) yield* s.later
}

export async function runGraphs(flags: RunFlags, frontend: Frontend | undefined): Promise<number> {
  const log = createLogger(flags.debug ? 'debug' : 'info', { format: flags.logFormat })
  const stopWatching = new AbortController()
  const reloads = new EventEmitter()
  let opened: GraphStream | undefined
  if (frontend) {
    try {
      opened = await frontend({
        onReload: fn => {
          reloads.on('reload', fn)
          return () => reloads.off('reload', fn)
        },
        registry: builtinRegistry(),
        // One cache for the source's reloads: an edit re-parses only the resources it touched.
        compile: {
          strict: flags.strict,
          noop: flags.noop,
          sema: flags.sema,
          noAutoEdges: !flags.autoedges,
          noAutoGroup: !flags.autogroup,
          cache: new CompileCache(),
        },
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
  })
  const stopSignals = handleSignals(run, log, () => {
    if (!reloads.emit('reload')) log.info('SIGHUP: no graph to reload')
  })
  // Logged once ^C is handled, so that whoever waits for this line may signal.
  if (opened)
    log.info(
      `running graph \`${opened.first.name}\` (${plural(opened.first.graph.size, 'resource')})${flags.noop ? ', noop' : ''}`,
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

/**
 * ^C (or SIGTERM) once: orderly shutdown; twice: cancel running work; three times: stop at once.
 * SIGHUP reloads the graph, as daemons do, instead of ending the run.
 */
function handleSignals(run: RunHandle, log: Logger, reload: () => void): () => void {
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
  process.on('SIGHUP', reload)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.off('SIGHUP', reload)
  }
}
