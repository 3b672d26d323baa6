/**
 * The `mgmt` command: parse, hand over to the subcommand, set the exit code. This is the entry of
 * the single-file bundle (`dist/mgmt.mjs`, scripts/bundle.ts), which is what runs, here and on
 * remote hosts; `main.ts` only loads it.
 *
 * What a command needs is loaded when it runs: the command tree here, each subcommand's machinery
 * in its action (a run does not load the language frontend, the cluster client or SSH).
 */
import { describeError, isMgmtError } from '../util/errors.js'
import { forgetMallocTuning } from '../util/malloc.js'
import { ignoreStraySignals } from '../util/straysignals.js'
import { sizeOptimizersToGraph } from '../util/v8flags.js'
import { version } from '../version.js'

/** `--detailed-exitcodes` asked for, even where the flags could not be parsed. */
const wantsDetailed = (argv: string[]): boolean =>
  argv.includes('--detailed-exitcodes') ||
  !['', '0', 'false', 'no', 'off'].includes((process.env.MGMT_DETAILED_EXITCODES ?? '').trim().toLowerCase())

/** `mgmt --version`, which needs nothing else. */
const justVersion = (argv: string[]): boolean =>
  argv.length === 3 && (argv[2] === '--version' || argv[2] === '-v')

export async function main(argv: string[]): Promise<number> {
  if (justVersion(argv)) {
    process.stdout.write(`${version}\n`)
    return 0
  }
  const [{ CommanderError }, { program }, { detailed, EXIT_FAILURE, EXIT_OK, EXIT_USAGE }] =
    await Promise.all([import('commander'), import('./program.js'), import('./run.js')])
  try {
    await program().parseAsync(argv)
    return process.exitCode === undefined ? EXIT_OK : Number(process.exitCode)
  } catch (err) {
    if (err instanceof CommanderError)
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed'
        ? EXIT_OK
        : detailed(EXIT_USAGE, wantsDetailed(argv))
    if (isMgmtError(err, 'ERR_USAGE')) {
      process.stderr.write(`mgmt: ${err.message}\n`)
      return detailed(EXIT_USAGE, wantsDetailed(argv))
    }
    process.stderr.write(`mgmt: ${describeError(err)}\n`)
    return EXIT_FAILURE
  }
}

/**
 * The ways out that skip an orderly stop leave no command running: whatever process group an exec
 * started and has not seen end is killed on exit, also after an internal error.
 */
async function guardProcess(): Promise<void> {
  const { killAllCommands } = await import('../resources/exec/run.js')
  process.on('exit', () => killAllCommands())
  const fatal = (err: unknown): void => {
    process.stderr.write(
      `mgmt: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
    process.exit(1)
  }
  process.on('uncaughtException', fatal)
  process.on('unhandledRejection', fatal)
  ignoreStraySignals(line => process.stderr.write(`mgmt: ${line}\n`))
}

/** Runs the command line `argv` (process.argv's shape) as the process's command. */
export async function runCli(argv: string[]): Promise<void> {
  // A closed stdout or stderr (`mgmt ... 2>&1 | head -1`) must not end the engine: what is
  // written to it is dropped.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  forgetMallocTuning()
  sizeOptimizersToGraph()
  if (!justVersion(argv)) await guardProcess()
  process.exitCode = await main(argv)
  // The command has stopped and closed what it started: once what it wrote has gone out, the
  // process exits. Left to end on its own, Node.js would first wait for anything a library still
  // holds (a gRPC stream to an etcd that stopped answering, which closing the client does not
  // end), then free the heap piece by piece: a one-shot run's whole heap, freed for nothing at
  // exit (a measurable part of a short run, see docs/benchmarks.md). Output that cannot go out
  // (a terminal stopped with ^S) holds it a second at most; the timer itself holds nothing.
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref()
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  process.exit()
}

/** How long a finished command may wait for its output to go out, before it exits. */
const EXIT_GRACE_MS = 1000

/** Resolves once what was written to `stream` has been handed to the system (or cannot be). */
const flushed = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise(resolve => {
    if (stream.destroyed || !stream.writable) resolve()
    else stream.write('', () => resolve())
  })
