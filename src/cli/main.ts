#!/usr/bin/env node
/** The `mgmt` command: parse, hand over to the subcommand, set the exit code. */
import { CommanderError } from 'commander'
import { describeError, isMgmtError } from '../util/errors.js'
import { program } from './program.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './run.js'

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv)
    return process.exitCode === undefined ? EXIT_OK : Number(process.exitCode)
  } catch (err) {
    if (err instanceof CommanderError)
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' ? EXIT_OK : EXIT_USAGE
    if (isMgmtError(err, 'ERR_USAGE')) {
      process.stderr.write(`mgmt: ${err.message}\n`)
      return EXIT_USAGE
    }
    process.stderr.write(`mgmt: ${describeError(err)}\n`)
    return EXIT_FAILURE
  }
}

process.exitCode = await main(process.argv)
