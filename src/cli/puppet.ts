/** `mgmt run puppet [FILE.pp] [--code CODE]`: a Puppet manifest, run as a live graph. */
import { resolve } from 'node:path'
import { type Command, Option } from 'commander'
import type { Frontend } from '../frontends/frontend.js'
import type { PuppetOptions } from '../frontends/puppet/index.js'
import { builtinRegistry } from '../resources/index.js'
import { isMgmtError, MgmtError } from '../util/errors.js'
import { createLogger } from '../util/logger.js'
import { MAX_TIMER_S } from '../util/timers.js'
import type { FrontendCommand } from './command.js'
import { flag, int } from './flags.js'

interface PuppetFlags {
  code?: string
  modulepath?: string
  certname?: string
  facts?: string
  puppetConf?: string
  /** Absent for `mgmt check puppet`, which compiles once. */
  puppetInterval?: number
  puppetTimeout: number
  printGraph?: boolean
  debug?: boolean
  logFormat?: 'text' | 'json'
}

/** Puppet's `runinterval` default, in seconds. */
const RUNINTERVAL = 1800
/**
 * How long a compile may take, in seconds, by default: a manifest that loops for ever (or a
 * function that waits on something that never comes) fails the compile instead of holding the
 * run for good. Node-sized catalogs compile in seconds; Puppet's own start and Facter's are in it.
 */
const COMPILE_TIMEOUT = 600

/** The frontend's options from the command's argument and flags; ERR_USAGE when they do not go together. */
export function puppetOptions(
  [file]: string[],
  opts: Record<string, unknown>,
  command = 'mgmt run puppet',
): PuppetOptions {
  const o = opts as unknown as PuppetFlags
  if ((file === undefined) === (o.code === undefined))
    throw new MgmtError('ERR_USAGE', { reason: `${command} needs a manifest file or --code, not both` })
  if (o.puppetInterval !== undefined && o.puppetInterval < 0)
    throw new MgmtError('ERR_USAGE', { reason: '--puppet-interval expects 0 or more seconds' })
  return {
    source: {
      ...(file !== undefined ? { manifest: resolve(file) } : { code: o.code }),
      ...(o.facts ? { factsFile: resolve(o.facts) } : {}),
    },
    settings: {
      ...(o.modulepath
        ? {
            modulepath: o.modulepath
              .split(':')
              .map(d => resolve(d))
              .join(':'),
          }
        : {}),
      ...(o.certname ? { certname: o.certname } : {}),
      ...(o.puppetConf ? { config: resolve(o.puppetConf) } : {}),
    },
    interval: o.puppetInterval ?? 0,
    timeout: o.puppetTimeout,
  }
}

/** What to compile, and how: the flags `mgmt run puppet` and `mgmt check puppet` share. */
export function compileFlags(cmd: Command): Command {
  return cmd
    .argument('[file]', 'the manifest: a .pp file, or a directory of them')
    .addOption(flag('--code <code>', 'Puppet code instead of a manifest file', 'CODE'))
    .addOption(flag('--modulepath <dirs>', 'directories of modules, separated by `:`', 'MODULEPATH'))
    .addOption(flag('--certname <name>', "the node's name (default: Puppet's, the host's FQDN)", 'CERTNAME'))
    .addOption(flag('--facts <file.json>', "facts from this JSON object instead of Facter's", 'FACTS'))
    .addOption(flag('--puppet-conf <file>', 'the puppet.conf to read', 'PUPPET_CONF'))
    .addOption(
      flag(
        '--puppet-timeout <s>',
        'stop a compile that has not finished after this many seconds, and fail it (0: no limit)',
        'PUPPET_TIMEOUT',
      )
        .argParser(int('--puppet-timeout', 0, MAX_TIMER_S))
        .default(COMPILE_TIMEOUT),
    )
}

export const puppetCommand: FrontendCommand = {
  name: 'puppet',
  description: 'run a Puppet manifest as a live graph, and re-apply it whenever it changes',
  configure: cmd =>
    compileFlags(cmd)
      .addOption(
        flag(
          '--puppet-interval <s>',
          'compile again (with fresh facts) and check what Puppet applies every this many seconds (0: never)',
          'PUPPET_INTERVAL',
        )
          .argParser(int('--puppet-interval', 0, MAX_TIMER_S))
          .default(RUNINTERVAL),
      )
      .addOption(
        new Option('--print-graph', 'print the translated graph as YAML (for `mgmt run yaml`) and exit').env(
          'MGMT_PRINT_GRAPH',
        ),
      ),
  open(args, opts): Frontend {
    // Its usage is checked now, before the run takes the state directory; the Puppet frontend
    // itself is loaded only to run a manifest.
    const o = puppetOptions(args, opts)
    return async ctx => (await import('../frontends/puppet/index.js')).puppetFrontend(o)(ctx)
  },
  instead(args, opts) {
    const o = opts as unknown as PuppetFlags
    if (!o.printGraph) return undefined
    return (async () => {
      const log = createLogger(o.debug ? 'debug' : 'info', { format: o.logFormat })
      try {
        const { printGraph } = await import('../frontends/puppet/index.js')
        await printGraph(puppetOptions(args, opts), builtinRegistry(), log, t => process.stdout.write(t))
        return 0
      } catch (err) {
        if (!isMgmtError(err)) throw err
        log.error(err.message)
        return isMgmtError(err, 'ERR_FILE_READ') ? 1 : 2
      }
    })()
  },
}
