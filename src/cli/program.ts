/** The `mgmt` command's tree: every subcommand, registered explicitly. */
import { Command } from 'commander'
import { version } from '../version.js'
import { addCheckCommand } from './check.js'
import { addCompletionCommands } from './completion.js'
import { addDeployCommand } from './deploy.js'
import { addRunCommand } from './run.js'

export function program(): Command {
  const p = new Command('mgmt')
    .description('event-driven, parallel configuration management')
    .version(version, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  addRunCommand(p)
  addDeployCommand(p)
  addCheckCommand(p)
  addCompletionCommands(p)
  return p
}
