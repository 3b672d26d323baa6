/**
 * The subcommands of `mgmt run`: one per frontend. Each names its input and opens a `Frontend`;
 * a new frontend adds its entry here.
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { Frontend } from '../frontends/frontend.js'
import { puppetCommand } from './puppet.js'

export interface FrontendCommand {
  readonly name: string
  readonly description: string
  /** Adds the subcommand's arguments and own options. */
  configure?(cmd: Command): void
  /** The frontend for the parsed arguments and options; undefined runs no local graph. */
  open(args: string[], opts: Record<string, unknown>): Frontend | undefined
  /** Does something else than run for some options (`--print-graph`): the exit code; undefined runs. */
  instead?(args: string[], opts: Record<string, unknown>): Promise<number> | undefined
}

export const frontendCommands: readonly FrontendCommand[] = [
  {
    name: 'yaml',
    description: 'run the graph in a YAML file, and re-apply it whenever the file changes',
    configure: cmd => cmd.argument('<file>', 'the YAML graph (- reads it from standard input)'),
    open:
      ([file]) =>
      async ctx =>
        (await import('../frontends/yaml/index.js')).yamlFrontend(file === '-' ? file : resolve(file!))(ctx),
  },
  {
    name: 'lang',
    description:
      'run an mcl program (a .mcl file or a module directory), and re-run it whenever its files change',
    configure: cmd =>
      cmd.argument('<input>', 'the .mcl file, or a module directory (metadata.yaml or main.mcl)'),
    open:
      ([input], opts) =>
      async ctx =>
        (await import('../frontends/mcl/index.js')).langFrontend(resolve(input!), {
          hostname: opts.hostname as string | undefined,
        })(ctx),
  },
  puppetCommand,
  {
    name: 'empty',
    description: 'run no local graph: only the newest deploy of the cluster (mgmt deploy), followed live',
    open: () => async ctx => (await import('../frontends/deploy.js')).deployFrontend()(ctx),
  },
]
