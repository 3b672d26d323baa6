#!/usr/bin/env node
/** The `mgmt` command: parse, hand over to the subcommand, set the exit code. */
import { CommanderError } from 'commander'
import { killAllCommands } from '../resources/exec/run.js'
import { describeError, isMgmtError } from '../util/errors.js'
import { program } from './program.js'
import { detailed, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './run.js'

/** `--detailed-exitcodes` asked for, even where the flags could not be parsed. */
const wantsDetailed = (argv: string[]): boolean =>
  argv.includes('--detailed-exitcodes') ||
  !['', '0', 'false', 'no', 'off'].includes((process.env.MGMT_DETAILED_EXITCODES ?? '').trim().toLowerCase())

async function main(argv: string[]): Promise<number> {
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
function guardProcess(): void {
  // A closed stdout or stderr (`mgmt ... 2>&1 | head -1`) must not end the engine: what is
  // written to it is dropped.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  process.on('exit', () => killAllCommands())
  const fatal = (err: unknown): void => {
    process.stderr.write(
      `mgmt: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
    process.exit(EXIT_FAILURE)
  }
  process.on('uncaughtException', fatal)
  process.on('unhandledRejection', fatal)
}

guardProcess()
process.exitCode = await main(process.argv)
