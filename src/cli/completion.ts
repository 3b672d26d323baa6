/**
 * `mgmt completion bash|zsh|fish` prints a shell completion script, and `mgmt manpage` (hidden) a
 * man page in roff; both are generated from the command tree itself, so they never fall behind
 * the flags. `npm run build` writes the man page to `dist/mgmt.1`.
 */
import { Argument, type Command, type Option } from 'commander'
import { version } from '../version.js'

/** A command of the tree, flattened: its path of names, subcommands and options. */
interface Node {
  readonly path: readonly string[]
  readonly cmd: Command
  readonly subs: readonly string[]
  readonly options: readonly Option[]
}

function walk(cmd: Command, path: string[] = []): Node[] {
  const visible = cmd.commands.filter(c => !(c as unknown as { _hidden?: boolean })._hidden)
  const here: Node = {
    path,
    cmd,
    subs: visible.map(c => c.name()),
    options: cmd.options.filter(o => !o.hidden),
  }
  return [here, ...visible.flatMap(c => walk(c, [...path, c.name()]))]
}

/** Options that take a path get file completion. */
const takesPath = (o: Option): boolean => /<(file|dir|path)[^>]*>/.test(o.flags)
const takesValue = (o: Option): boolean => o.required || o.optional
const names = (o: Option): string[] => [o.long, o.short].filter((n): n is string => !!n)

function bash(root: Command): string {
  const nodes = walk(root)
  const cases = nodes
    .map(n => {
      const args = n.cmd.registeredArguments.flatMap(a => a.argChoices ?? [])
      const words = [...n.subs, ...args, ...n.options.flatMap(names), '--help'].join(' ')
      const valued = n.options.filter(takesValue)
      const files = valued.filter(takesPath).flatMap(names)
      const choices = valued
        .filter(o => o.argChoices?.length)
        .map(
          o =>
            `      ${names(o).join('|')}) COMPREPLY=($(compgen -W "${o.argChoices!.join(' ')}" -- "$cur")); return;;`,
        )
      const others = valued.filter(o => !takesPath(o) && !o.argChoices?.length).flatMap(names)
      return [
        `    "${n.path.join(' ')}")`,
        '      case "$prev" in',
        ...(files.length ? [`      ${files.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return;;`] : []),
        ...choices,
        ...(others.length ? [`      ${others.join('|')}) return;;`] : []),
        '      esac',
        n.subs.length === 0 && n.cmd.registeredArguments.length && !args.length
          ? `      COMPREPLY=($(compgen -W "${words}" -- "$cur") $(compgen -f -- "$cur"));;`
          : `      COMPREPLY=($(compgen -W "${words}" -- "$cur"));;`,
      ].join('\n')
    })
    .join('\n')
  const subcommands = nodes.flatMap(n => n.subs.map(s => `${n.path.join(' ')}|${s}`)).join(' ')
  return `# mgmt ${version} bash completion: source <(mgmt completion bash)
_mgmt() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path="" w i
  local subs="${subcommands}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case " $subs " in *" \${path}|\${w} "*) path="\${path:+$path }$w";; esac
  done
  case "$path" in
${cases}
  esac
}
complete -o filenames -F _mgmt mgmt
`
}

function zsh(root: Command): string {
  return `#compdef mgmt
# mgmt ${version} zsh completion: source <(mgmt completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(root).split('\n').slice(1).join('\n')}`
}

const fishQuote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

function fish(root: Command): string {
  const lines = [`# mgmt ${version} fish completion: mgmt completion fish | source`, 'complete -c mgmt -f']
  for (const n of walk(root)) {
    const cond = n.path.length
      ? `-n ${fishQuote(`__fish_seen_subcommand_from ${n.path.at(-1)}`)}`
      : "-n '__fish_use_subcommand'"
    for (const s of n.cmd.commands.filter(c => n.subs.includes(c.name())))
      lines.push(`complete -c mgmt ${cond} -a ${s.name()} -d ${fishQuote(s.description())}`)
    for (const o of n.options) {
      const l = o.long ? ` -l ${o.long.slice(2)}` : ''
      const sh = o.short ? ` -s ${o.short.slice(1)}` : ''
      const arg = takesValue(o) ? (takesPath(o) ? ' -r -F' : ' -r') : ''
      const ch = o.argChoices?.length ? ` -a ${fishQuote(o.argChoices.join(' '))}` : ''
      lines.push(`complete -c mgmt ${cond}${l}${sh}${arg}${ch} -d ${fishQuote(o.description)}`)
    }
  }
  return `${lines.join('\n')}\n`
}

const roff = (s: string): string => s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^\./gm, '\\&.')

/** The man page: NAME, SYNOPSIS, and each command with its options, from the tree. */
export function manpage(root: Command): string {
  const out = [
    `.TH MGMT 1 "" "mgmt ${version}" "User Commands"`,
    '.SH NAME',
    `mgmt \\- ${roff(root.description())}`,
    '.SH SYNOPSIS',
  ]
  const nodes = walk(root).filter(n => n.path.length > 0)
  for (const n of nodes)
    if (n.subs.length === 0) out.push(`.B mgmt ${roff(n.path.join(' '))}`, `${roff(n.cmd.usage())}`, '.br')
  out.push('.SH DESCRIPTION', roff(root.description()))
  for (const n of [walk(root)[0]!, ...nodes]) {
    out.push(`.SH ${n.path.length ? roff(`mgmt ${n.path.join(' ')}`).toUpperCase() : 'GLOBAL OPTIONS'}`)
    if (n.path.length) out.push(roff(n.cmd.description()))
    for (const o of n.options) {
      out.push('.TP', `.B ${roff(o.flags)}`, roff(o.description))
      const extra = [
        o.envVar ? `environment: ${o.envVar}` : '',
        o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean'
          ? `default: ${String(o.defaultValue)}`
          : '',
        o.argChoices?.length ? `one of: ${o.argChoices.join(', ')}` : '',
      ].filter(Boolean)
      if (extra.length) out.push(`(${roff(extra.join('; '))})`)
    }
  }
  out.push(
    '.SH EXIT STATUS',
    '0 success or converged; 1 a resource failed or a runtime error; 2 a usage error or an invalid graph.',
    '.SH SEE ALSO',
    'The README and docs/ of the mgmt package.',
  )
  return `${out.join('\n')}\n`
}

const shells = { bash, zsh, fish } as const

export function addCompletionCommands(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash: source <(mgmt completion bash))')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(shells)))
    .action((shell: string) => {
      process.stdout.write(shells[shell as keyof typeof shells](program))
    })
  program
    .command('manpage', { hidden: true })
    .description('print the man page (roff)')
    .action(() => {
      process.stdout.write(manpage(program))
    })
}
