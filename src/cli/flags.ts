/** The flags of `mgmt run`, each also settable as `MGMT_<FLAG>` in the environment. */
import { type Command, Option } from 'commander'
import { GRAPHVIZ_FILTERS, type GraphvizFilter } from '../observe/graphviz.js'
import { type ListenAddress, parseListen } from '../observe/listen.js'
import { MgmtError } from '../util/errors.js'
import type { LogFormat } from '../util/logger.js'
import { MAX_TIMER_S } from '../util/timers.js'

export interface RunFlags {
  hostname?: string
  prefix?: string
  tmpPrefix?: boolean
  watch: boolean
  noop?: boolean
  /** Show what a real run changes, in detail (a file's content as a diff). */
  diff?: boolean
  /** Exit 0 nothing changed, 2 changes, 4 failures, 6 both (as Puppet's `--detailed-exitcodes`). */
  detailedExitcodes?: boolean
  /** Unknown keys are warnings (`--lenient`); obsolete keys are errors (`--strict`). */
  lenient?: boolean
  strict?: boolean
  sema: number
  convergedTimeout: number
  convergedTimeoutNoExit?: boolean
  convergedStatusFile?: string
  maxRuntime: number
  debug?: boolean
  logFormat: LogFormat
  /** Text timestamps with the date. */
  logDates?: boolean
  prometheus?: boolean
  prometheusListen: ListenAddress
  graphviz?: string
  graphvizFilter?: GraphvizFilter
  httpListen?: ListenAddress
  progress: boolean
  /** Remote execution (src/remote/). */
  remote: string[]
  cconns: number
  /** Seconds a lost remote host is tried again (-1: for ever); default by --converged-timeout. */
  reconnectTimeout?: number
  caching: boolean
  sshKey?: string
  allowInteractive?: boolean
  knownHosts?: string
  detach?: boolean
  /** This run was started detached by a remote run's initiator: its input's end does not stop it. */
  detached?: boolean
  /** How deep in a hierarchy of remote runs this one is (0: started by a person). */
  depth: number
  /** `--no-autoedges`, `--no-autogroup`. */
  autoedges: boolean
  autogroup: boolean
  /** The original's spellings (see `originalFlags`). */
  convergerTimeout?: number
  convergedExit?: boolean
  convergerStatusFile?: string
  pgp?: boolean
  yaml?: string
  file?: string
}

/** The flags of clustering (`mgmt run`; `mgmt deploy` takes `--seeds`). */
export interface ClusterFlags {
  seeds?: string[]
  clientUrls?: string[]
  serverUrls?: string[]
  /** False with `--no-server`. */
  server: boolean
  idealClusterSize: number
  etcdBinary: string
}

/**
 * A whole-number flag from `min` up to `max`. Durations end at the longest timer: a longer one would
 * fire at once.
 */
export const int =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`
      throw new MgmtError('ERR_USAGE', { reason: `${name} expects a whole number ${range}, not \`${v}\`` })
    }
    return n
  }

export const flag = (spec: string, desc: string, env: string): Option =>
  new Option(spec, desc).env(`MGMT_${env}`)

/** Words that turn a switch off when they are its environment variable's value. */
const OFF = new Set(['', '0', 'false', 'no', 'off'])

/**
 * Switches set from the environment read its value: `MGMT_NOOP=false` (or 0, no, off, empty) is
 * off, anything else on. (Commander alone would take any value as on.)
 */
export function envSwitches(cmd: Command): void {
  for (const c of [cmd, ...ancestors(cmd)])
    for (const o of c.options) {
      if (o.required || o.optional || !o.envVar) continue
      const key = o.attributeName()
      if (c.getOptionValueSource(key) !== 'env') continue
      const on = !OFF.has((process.env[o.envVar] ?? '').trim().toLowerCase())
      c.setOptionValueWithSource(key, o.negate ? !on : on, 'env')
    }
}

function ancestors(cmd: Command): Command[] {
  const out: Command[] = []
  for (let c = cmd.parent; c; c = c.parent) out.push(c)
  return out
}

/** `--lenient`: unknown keys in a graph are warnings (they are errors by default). */
export const lenientFlag = (): Option =>
  flag('--lenient', 'unknown keys in the graph are warnings (and ignored), not errors', 'LENIENT').conflicts(
    'strict',
  )

/** `--strict`: obsolete keys of the original are errors too (unknown keys always are, unless --lenient). */
export const strictFlag = (): Option =>
  flag('--strict', 'obsolete keys of the original are errors too, not warnings', 'STRICT')

/** A list of URLs (`http://host:port`), separated by commas, spaces or semicolons. */
export const urls =
  (name: string) =>
  (v: string): string[] => {
    const out = v.split(/[\s,;]+/).filter(Boolean)
    for (const u of out) {
      let ok = false
      try {
        const p = new URL(u)
        ok = (p.protocol === 'http:' || p.protocol === 'https:') && p.port !== '' && p.pathname === '/'
      } catch {}
      if (!ok)
        throw new MgmtError('ERR_USAGE', {
          reason: `${name} expects URLs like http://127.0.0.1:2379, not \`${u}\``,
        })
    }
    if (!out.length) throw new MgmtError('ERR_USAGE', { reason: `${name} expects at least one URL` })
    return out
  }

/** `--seeds`: the cluster to join (run) or to deploy to. */
export const seedsFlag = (desc: string): Option =>
  flag('--seeds <urls>', desc, 'SEEDS').argParser(urls('--seeds'))

/** Adds the cluster flags to `run`. */
export function addClusterFlags(run: Command): void {
  run
    .addOption(seedsFlag('client URLs of a cluster to join (default: none, no cluster)'))
    .addOption(
      flag(
        '--client-urls <urls>',
        "this host's etcd server: where it serves clients (default: http://127.0.0.1:2379)",
        'CLIENT_URLS',
      ).argParser(urls('--client-urls')),
    )
    .addOption(
      flag(
        '--server-urls <urls>',
        "this host's etcd server: where it meets its peers (default: http://127.0.0.1:2380)",
        'SERVER_URLS',
      ).argParser(urls('--server-urls')),
    )
    .addOption(
      flag(
        '--no-server',
        'join the cluster of --seeds as a client only, never as an etcd member',
        'NO_SERVER',
      ),
    )
    .addOption(
      flag(
        '--ideal-cluster-size <n>',
        'a joining host becomes an etcd member while the cluster has fewer members than this',
        'IDEAL_CLUSTER_SIZE',
      )
        .argParser(int('--ideal-cluster-size', 1))
        .default(5),
    )
    .addOption(
      flag(
        '--etcd-binary <path>',
        'the etcd server to run (Debian package etcd-server)',
        'ETCD_BINARY',
      ).default('etcd'),
    )
}

/** Adds the run flags to `run`. */
export function addRunFlags(run: Command): void {
  run
    .addOption(flag('--hostname <name>', "this host's name (default: the OS hostname)", 'HOSTNAME'))
    .addOption(
      flag(
        '--prefix <dir>',
        'state directory (default: /var/lib/mgmt/ as root, else ~/.cache/mgmt/)',
        'PREFIX',
      ),
    )
    .addOption(
      flag(
        '--tmp-prefix',
        'keep state in a fresh temporary directory, removed on exit',
        'TMP_PREFIX',
      ).conflicts('prefix'),
    )
    .addOption(flag('--no-watch', 'do not watch the graph file for changes', 'NO_WATCH'))
    .addOption(flag('--noop', 'change nothing; show what would change', 'NOOP'))
    .addOption(
      flag(
        '--diff',
        "show what a real run changes: a file's content as a unified diff (secrets hidden)",
        'DIFF',
      ),
    )
    .addOption(
      flag(
        '--detailed-exitcodes',
        'exit 0: nothing changed, 2: changes (with --noop: pending), 4: failures, 6: both; 1: the graph did not load',
        'DETAILED_EXITCODES',
      ),
    )
    .addOption(
      flag(
        '--sema <n>',
        'add a semaphore of size n to every resource: at most n check at once (0: no limit)',
        'SEMA',
      )
        .argParser(int('--sema', 0))
        .default(0),
    )
    .addOption(lenientFlag())
    .addOption(strictFlag())
    .addOption(
      flag(
        '--converged-timeout <s>',
        'exit once everything was idle this many seconds (-1: never)',
        'CONVERGED_TIMEOUT',
      )
        .argParser(int('--converged-timeout', -1, MAX_TIMER_S))
        .default(-1),
    )
    .addOption(
      flag('--converged-timeout-no-exit', 'report convergence but keep running', 'CONVERGED_TIMEOUT_NO_EXIT'),
    )
    .addOption(
      flag(
        '--converged-status-file <file>',
        'append true/false to this file on every change of the converged state',
        'CONVERGED_STATUS_FILE',
      ),
    )
    .addOption(
      flag('--max-runtime <s>', 'exit after this many seconds (0: never)', 'MAX_RUNTIME')
        .argParser(int('--max-runtime', 0, MAX_TIMER_S))
        .default(0),
    )
    .addOption(flag('--no-autoedges', 'do not add automatic edges', 'NO_AUTOEDGES'))
    .addOption(flag('--no-autogroup', 'do not group resources into one vertex', 'NO_AUTOGROUP'))
    .addOption(flag('--debug', 'verbose logs', 'DEBUG'))
    .addOption(
      flag('--remote <file>', 'configure the host named in this graph file over SSH (repeatable)', 'REMOTE')
        .argParser((v: string, prev: string[] = []) => [...prev, v])
        .default([]),
    )
    .addOption(
      flag('--cconns <n>', 'at most n SSH connections at once (0: no limit)', 'CCONNS')
        .argParser(int('--cconns', 0))
        .default(0),
    )
    .addOption(
      flag(
        '--reconnect-timeout <s>',
        'give a remote host whose connection was lost up after this many seconds (-1: never, 0: at once; default: never, 60 with --converged-timeout)',
        'RECONNECT_TIMEOUT',
      ).argParser(int('--reconnect-timeout', -1, MAX_TIMER_S)),
    )
    .addOption(
      flag(
        '--no-caching',
        'copy the program to a fresh temporary directory on each host, removed at the end',
        'NO_CACHING',
      ),
    )
    .addOption(
      flag(
        '--ssh-key <path>',
        'the private key to log in with (default: ~/.ssh/id_ed25519, ~/.ssh/id_rsa)',
        'SSH_KEY',
      ),
    )
    .addOption(
      flag(
        '--allow-interactive',
        'ask for a password at the terminal when nothing else logs in',
        'ALLOW_INTERACTIVE',
      ),
    )
    .addOption(
      flag(
        '--known-hosts <path>',
        'the known_hosts file host keys must be in (default: ~/.ssh/known_hosts)',
        'KNOWN_HOSTS',
      ),
    )
    .addOption(
      flag(
        '--detach',
        'at the end, leave the remote hosts running as an etcd cluster of their own (they join it as members)',
        'DETACH',
      ),
    )
    .addOption(new Option('--depth <n>').argParser(int('--depth', 0)).default(0).hideHelp())
    .addOption(new Option('--detached').hideHelp())
    .addOption(
      flag('--log-format <format>', 'log line format', 'LOG_FORMAT')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addOption(flag('--log-dates', 'text log lines start with the date, not only the time', 'LOG_DATES'))
  addObserveFlags(run)
}

/** The flags of the views: metrics, the graph picture, the web view, progress. */
function addObserveFlags(run: Command): void {
  run
    .addOption(flag('--prometheus', 'serve Prometheus metrics on /metrics', 'PROMETHEUS'))
    .addOption(
      flag(
        '--prometheus-listen <addr>',
        'where --prometheus listens (HOST:PORT; no host: loopback)',
        'PROMETHEUS_LISTEN',
      )
        .argParser(v => parseListen(v, '--prometheus-listen'))
        .default(parseListen('127.0.0.1:9233', '--prometheus-listen'), '127.0.0.1:9233'),
    )
    .addOption(
      flag('--graphviz <file>', 'write the graph as Graphviz DOT to this file, kept up to date', 'GRAPHVIZ'),
    )
    .addOption(
      flag(
        '--graphviz-filter <program>',
        'also render FILE.svg and FILE.png with this Graphviz program',
        'GRAPHVIZ_FILTER',
      ).choices(GRAPHVIZ_FILTERS),
    )
    .addOption(
      flag(
        '--http-listen <addr>',
        'serve the live web view here (HOST:PORT; no host: loopback)',
        'HTTP_LISTEN',
      ).argParser(v => parseListen(v, '--http-listen')),
    )
    .addOption(flag('--no-progress', 'never show progress on the terminal', 'NO_PROGRESS'))
}

/**
 * The original's spellings, so that its scripts and docs work: `--converger-timeout N` reports
 * convergence and exits only with `--converged-exit` (as the original's newer versions do),
 * `--converger-status-file`, `--no-pgp` (accepted, no effect), and the older `run --yaml FILE`
 * and `run --file FILE` (deprecated: a warning names the new form).
 */
export function addOriginalFlags(run: Command): void {
  run
    .addOption(
      flag(
        '--converger-timeout <s>',
        'like --converged-timeout, but exit only with --converged-exit',
        'CONVERGER_TIMEOUT',
      )
        .argParser(int('--converger-timeout', -1, MAX_TIMER_S))
        .conflicts('convergedTimeout'),
    )
    .addOption(flag('--converged-exit', 'exit once converged (with --converger-timeout)', 'CONVERGED_EXIT'))
    .addOption(
      flag(
        '--converger-status-file <file>',
        'the same as --converged-status-file',
        'CONVERGER_STATUS_FILE',
      ).conflicts('convergedStatusFile'),
    )
    .addOption(flag('--no-pgp', 'accepted for the original; no effect', 'NO_PGP'))
    .addOption(new Option('--yaml <file>', 'deprecated: use `mgmt run yaml FILE`').hideHelp())
    .addOption(new Option('--file <file>', 'deprecated: use `mgmt run yaml FILE`').hideHelp())
}

/** The run flags with the original's spellings folded into ours. */
export function resolveFlags<F extends RunFlags>(f: F): F {
  if (f.convergerTimeout === undefined && f.convergerStatusFile === undefined) return f
  return {
    ...f,
    ...(f.convergerTimeout !== undefined
      ? { convergedTimeout: f.convergerTimeout, convergedTimeoutNoExit: !f.convergedExit }
      : {}),
    convergedStatusFile: f.convergedStatusFile ?? f.convergerStatusFile,
  }
}
