/**
 * Puppet's `exec` → mgmt's `exec`. Puppet runs a command with the agent's environment and checks
 * for a qualified command or a `path`; mgmt runs it through `/bin/sh -c` with `path` and
 * `environment` as its environment, so quoting and pipes behave as they do under Puppet's shell.
 */
import { flag, invalid, list, str, type TypeMapping, unmapped } from './common.js'

const SHELL = '/bin/sh'
/** Puppet's default `timeout`, in seconds. */
const PUPPET_TIMEOUT = 300

/** `environment` (`K=V` strings) and `path` (a list or a `:`-joined string) as one map. */
function envOf(p: Readonly<Record<string, unknown>>): Record<string, string> | string {
  const env: Record<string, string> = {}
  // An empty entry of PATH is the working directory, to the shell: never where Puppet looks.
  const dirs = list(p.path)
    .flatMap(d => String(d).split(':'))
    .filter(Boolean)
  if (dirs.length) env.PATH = dirs.join(':')
  for (const kv of list(p.environment).map(String)) {
    const eq = kv.indexOf('=')
    if (eq <= 0) return `environment entry \`${kv}\` is not NAME=value`
    env[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  return env
}

/**
 * Several commands as one: each in a subshell of its own, as Puppet runs each alone, so that its
 * own `&&`, `||`, `;`, `exit` or `# comment` (ended by the newline) stays its own.
 */
function joined(commands: readonly string[], op: '&&' | '||'): string {
  return commands.length === 1 ? commands[0]! : commands.map(c => `( ${c}\n)`).join(` ${op} `)
}

/** A number, or a string of one; undefined for anything else (`Number('')` would be 0). */
function numberOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : Number.NaN
  return Number.isFinite(n) ? n : undefined
}

export const execMapping: TypeMapping = {
  kind: 'exec',
  params: [
    'command',
    'creates',
    'cwd',
    'environment',
    'group',
    'onlyif',
    'path',
    'provider',
    'refreshonly',
    'returns',
    'timeout',
    'tries',
    'try_sleep',
    'unless',
    'user',
  ],
  ignored: ['logoutput'],
  lists: ['command', 'onlyif', 'unless', 'creates', 'environment', 'path', 'returns'],
  map(r, p) {
    if (p.returns !== undefined && list(p.returns).some(v => Number(v) !== 0))
      return unmapped('returns other than 0')
    const provider = str(p.provider)
    if (provider && provider !== 'posix' && provider !== 'shell') return unmapped(`provider => ${provider}`)
    // Puppet runs a command given as a list of words without a shell; mgmt's commands are strings.
    if ([p.command, ...list(p.onlyif), ...list(p.unless)].some(Array.isArray))
      return unmapped('a command as a list')
    const creates = list(p.creates).map(String)
    if (creates.length > 1) return unmapped('several creates')
    const env = envOf(p)
    if (typeof env === 'string') return unmapped(env)
    const timeout = p.timeout === undefined ? PUPPET_TIMEOUT : Math.ceil(Number(p.timeout))
    if (!Number.isFinite(timeout) || timeout < 0) return unmapped(`timeout => ${String(p.timeout)}`)
    const cwd = str(p.cwd)
    // Puppet refuses these when it applies them: a relative cwd would be mgmt's own.
    if (cwd !== undefined && !cwd.startsWith('/'))
      return invalid('cwd', `must be an absolute path, got \`${cwd}\``)
    const cmd = str(p.command) ?? r.title
    if (!cmd.trim()) return invalid('command', 'an empty command')
    const tries = p.tries === undefined ? 1 : numberOf(p.tries)
    if (tries === undefined || !Number.isInteger(tries) || tries < 1)
      return invalid('tries', `expected a whole number, at least 1, got ${JSON.stringify(p.tries)}`)
    const sleep = p.try_sleep === undefined ? 0 : numberOf(p.try_sleep)
    if (sleep === undefined || sleep < 0)
      return invalid(
        'try_sleep',
        `expected a number of seconds, at least 0, got ${JSON.stringify(p.try_sleep)}`,
      )
    const out: Record<string, unknown> = { cmd, shell: SHELL, timeout }
    if (Object.keys(env).length) out.env = env
    if (cwd) out.cwd = cwd
    for (const k of ['user', 'group'] as const) if (p[k] !== undefined) out[k] = String(p[k])
    if (creates.length) out.creates = creates[0]
    // onlyif: every command must succeed; unless: any success skips.
    const onlyif = list(p.onlyif).map(String)
    if (onlyif.length)
      Object.assign(out, { ifcmd: joined(onlyif, '&&'), ifshell: SHELL }, cwd ? { ifcwd: cwd } : {})
    const unless = list(p.unless).map(String)
    if (unless.length)
      Object.assign(out, { nifcmd: joined(unless, '||'), nifshell: SHELL }, cwd ? { nifcwd: cwd } : {})
    const refreshonly = flag(p.refreshonly)
    if (refreshonly !== undefined && refreshonly !== false) out.refreshonly = refreshonly
    const meta: Record<string, unknown> = {}
    if (tries > 1) meta.retry = tries - 1
    if (p.try_sleep !== undefined) meta.delay = Math.round(sleep * 1000)
    return { kind: 'exec', name: r.title, params: out, ...(Object.keys(meta).length ? { meta } : {}) }
  },
}
