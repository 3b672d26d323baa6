/** The shape of one subcommand of `mgmt run`, as frontends.ts lists them. */
import type { Command } from 'commander'
import type { Frontend } from '../frontends/frontend.js'

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
