/**
 * `mgmt check FRONTEND INPUT`: validate an input without running anything, one subcommand per
 * frontend that can be checked. Exit 0 when the input is valid, 2 (with the located error)
 * when it is not. A new checker adds its entry to `checkCommands`.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { isMgmtError, MgmtError } from '../util/errors.js'
import { createLogger } from '../util/logger.js'
import { compileFlags, puppetOptions } from './puppet.js'
import { EXIT_OK, EXIT_USAGE } from './run.js'

export interface CheckCommand {
  readonly name: string
  readonly description: string
  /** Adds the subcommand's arguments and own options. */
  configure?(cmd: Command): void
  /** Checks the input; resolves with a one-line summary, throws an `MgmtError` when invalid. */
  check(args: string[], opts: Record<string, unknown>): Promise<string>
}

export const checkCommands: readonly CheckCommand[] = [
  {
    name: 'yaml',
    description: 'load and compile a YAML graph: every problem, located; nothing runs',
    configure: cmd =>
      cmd
        .argument('<file>', 'the YAML graph (- reads it from standard input)')
        .option('--lenient', 'unknown keys are warnings, not errors')
        .option('--strict', 'obsolete keys of the original are errors too'),
    async check([file], opts) {
      const compile = { lenient: opts.lenient === true, strict: opts.strict === true }
      // Loaded only to check (or run) a YAML graph.
      const [{ readStdin, STDIN }, { loadYaml, loadYamlFile }, { builtinRegistry }] = await Promise.all([
        import('../frontends/yaml/index.js'),
        import('../frontends/yaml/parse.js'),
        import('../resources/index.js'),
      ])
      const g =
        file === '-'
          ? loadYaml(await readStdin(), STDIN, builtinRegistry(), compile)
          : await loadYamlFile(resolve(file!), builtinRegistry(), compile)
      for (const m of g.messages) process.stderr.write(`warning: ${m}\n`)
      const size = g.graph.size
      return `${file === '-' ? STDIN : file}: ok (${size} resource${size === 1 ? '' : 's'})`
    },
  },
  {
    name: 'lang',
    description: 'parse and type-check an mcl program (a .mcl file or a module directory); nothing runs',
    configure: cmd =>
      cmd.argument('<input>', 'the .mcl file, or a module directory (metadata.yaml or main.mcl)'),
    async check([input]) {
      if (!existsSync(input!))
        throw new MgmtError('ERR_FILE_READ', { file: input!, reason: 'no such file or directory' })
      // The language frontend is loaded only to check (or run) a program.
      const [{ checkLang }, { isLangError, toMgmtError }, { builtinRegistry }] = await Promise.all([
        import('../frontends/mcl/compile.js'),
        import('../frontends/mcl/errors.js'),
        import('../resources/index.js'),
      ])
      try {
        const p = checkLang(resolve(input!), { registry: builtinRegistry() })
        return `${input}: ok (${p.files.size} file${p.files.size === 1 ? '' : 's'} read)`
      } catch (err) {
        if (isLangError(err)) throw toMgmtError(err)
        throw err
      }
    },
  },
  {
    name: 'puppet',
    description: 'compile a Puppet manifest with Puppet and check the graph it becomes; nothing is applied',
    configure: compileFlags,
    async check(args, opts) {
      // Its usage first, before Puppet starts.
      const o = puppetOptions(args, opts, 'mgmt check puppet')
      const log = createLogger(opts.debug === true ? 'debug' : 'info', {
        format: opts.logFormat === 'json' ? 'json' : 'text',
      })
      // The Puppet frontend is loaded only to check (or run) a manifest.
      const [{ checkPuppet }, { builtinRegistry }] = await Promise.all([
        import('../frontends/puppet/index.js'),
        import('../resources/index.js'),
      ])
      return checkPuppet(o, builtinRegistry(), log)
    },
  },
]

export function addCheckCommand(program: Command): void {
  const check = program
    .command('check')
    .description('validate an input without running it (exit 0 if valid, 2 if not)')
  for (const c of checkCommands) {
    const cmd = check.command(c.name).description(c.description)
    c.configure?.(cmd)
    cmd.action(async (...a: unknown[]) => {
      const self = a[a.length - 1] as Command
      try {
        process.stdout.write(`${await c.check(self.args, self.optsWithGlobals())}\n`)
        process.exitCode = EXIT_OK
      } catch (err) {
        if (!isMgmtError(err)) throw err
        process.stderr.write(`${err.message}\n`)
        process.exitCode = EXIT_USAGE
      }
    })
  }
}
