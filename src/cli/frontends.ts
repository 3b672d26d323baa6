/**
 * The subcommands of `mgmt run`: one per frontend. Each names its input and opens a `Frontend`;
 * a new frontend adds its entry here.
 */
import { resolve } from 'node:path'
import type { FrontendCommand } from './command.js'
import { puppetCommand } from './puppet.js'

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
