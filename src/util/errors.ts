/**
 * The one error catalog. Every error a caller or a test may branch on has a code here, a message
 * built from its details, and a line in docs/errors.md (a test keeps the two in step).
 * Inside a resource kind a plain Error is fine: the engine logs it, retries per the metaparams, and
 * keeps the last one as the `cause` of ERR_RES_FAILED when the resource gives up.
 */

/** One located validation problem: where (a key path) and what was expected. */
export interface Issue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

/** Renders an issue path as `a.b[0].c`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`
  return out
}

const issueLines = (issues: readonly Issue[]): string =>
  issues.map(i => `\n  ${i.path.length ? `${formatPath(i.path)}: ` : ''}${i.message}`).join('')

/** An mcl program's error: the stage that failed, where, why, and the rendering with the source line. */
interface LangErrorDetails {
  stage: string
  file: string
  line: number
  col: number
  reason: string
  text: string
}

const messages = {
  ERR_RES_KIND_EMPTY: (_d: Record<string, never>) => 'a resource kind must have a non-empty name',
  ERR_RES_KIND_DUPLICATE: (d: { kind: string }) => `resource kind \`${d.kind}\` is registered twice`,
  ERR_RES_KIND_UNKNOWN: (d: { kind: string }) => `no resource kind \`${d.kind}\` available`,
  ERR_RES_PARAMS_INVALID: (d: { res: string; issues: readonly Issue[] }) =>
    `${d.res}: invalid params${issueLines(d.issues)}`,
  ERR_RES_INIT: (d: { res: string }) => `${d.res}: init failed`,
  ERR_RES_CHECKAPPLY_TIMEOUT: (d: { res: string; ms: number }) =>
    `${d.res}: checkApply timed out after ${d.ms} ms`,
  ERR_RES_WAITING: (d: { on: string; reason: string }) => `waiting for ${d.on}: ${d.reason}`,
  ERR_STATE_WRITE: (d: { what: string; reason: string }) => `cannot record ${d.what}: ${d.reason}`,
  ERR_PREFIX: (d: { prefix: string; reason: string }) =>
    `cannot use ${d.prefix} as the state directory: ${d.reason}`,
  ERR_PREFIX_BUSY: (d: { prefix: string; pid?: number }) =>
    `another run${d.pid ? ` (pid ${d.pid})` : ''} uses the state directory ${d.prefix}: ` +
    'wait for it to end, or give another --prefix',
  ERR_RES_FAILED: (d: { res: string; attempts: number }) =>
    `${d.res}: failed permanently after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`,
  ERR_GRAPH_CYCLE: (d: { cycle: readonly string[] }) =>
    `the graph has a cycle: ${[...d.cycle, d.cycle[0]].join(' -> ')}`,
  ERR_GRAPH_INVALID: (d: { issues: readonly string[] }) =>
    `invalid graph:${d.issues.map(i => `\n  ${i}`).join('')}`,
  ERR_YAML_SYNTAX: (d: { file: string; line: number; col: number; reason: string }) =>
    `${d.file}:${d.line}:${d.col}: ${d.reason}`,
  ERR_YAML_TOO_LARGE: (d: { file: string; reason: string }) => `${d.file}: refused: ${d.reason}`,
  ERR_YAML_INVALID: (d: {
    file: string
    problems: readonly string[]
    /** The same problems with their line and column apart, for JSON logs. */
    located?: readonly {
      file: string
      line?: number
      col?: number
      path: string
      message: string
    }[]
  }) => `${d.file}: invalid graph${d.problems.map(p => `\n  ${p}`).join('')}`,
  /** `errno`: the system's code when the system refused (`ENOENT`), for code that tells them apart. */
  ERR_FILE_READ: (d: { file: string; reason: string; errno?: string }) =>
    `cannot read ${d.file}: ${d.reason}`,
  ERR_INOTIFY_LIMIT: (d: {
    path: string
    what: string
    sysctl: string
    value: string
    more: number
    code: string
  }) =>
    `cannot watch ${d.path}: no inotify ${d.what} is left (${d.sysctl} = ${d.value}); raise the limit with ` +
    `\`sysctl -w ${d.sysctl}=${d.more}\` (and in /etc/sysctl.d/ to keep it)` +
    (d.code === 'EMFILE'
      ? ', or, if it is not that, the process ran out of file descriptors (ulimit -n)'
      : ''),
  ERR_EXEC_FAILED: (d: {
    command: string
    exitCode: number | null
    signal: string | null
    /** It ran past its `timeout` (seconds) and was killed. */
    timedOut: boolean
    timeout?: number
    stderr: string
  }) =>
    `command \`${d.command}\` ${
      d.timedOut
        ? `timed out after ${d.timeout} s${d.signal ? ` and was killed by ${d.signal}` : ''}`
        : d.signal
          ? `was killed by ${d.signal}`
          : `exited with code ${d.exitCode}`
    }` + (d.stderr.trim() ? `: ${d.stderr.trim().split('\n').slice(-5).join('\n')}` : ''),
  ERR_ID_UNKNOWN: (d: { kind: 'user' | 'group'; name: string }) => `unknown ${d.kind} \`${d.name}\``,
  ERR_FILE_NEEDS_FORCE: (d: { path: string; have: string; want: string }) =>
    `${d.path} is ${d.have}; set \`force: true\` to replace it with ${d.want}`,
  ERR_LISTEN: (d: { what: string; address: string; reason: string }) =>
    `cannot listen on ${d.address} for ${d.what}: ${d.reason}`,
  ERR_REMOTE_FILES: (d: { problems: readonly string[] }) =>
    `the remote graph files do not name a valid set of hosts:${d.problems.map(p => `\n  ${p}`).join('')}`,
  ERR_REMOTE_CONNECT: (d: { remote: string; reason: string }) => `cannot reach ${d.remote}: ${d.reason}`,
  ERR_REMOTE_HOSTKEY_UNKNOWN: (d: {
    remote: string
    keyType: string
    fingerprint: string
    knownHosts: string
    trust: string
  }) =>
    `${d.remote}: host key not known (${d.keyType} ${d.fingerprint} is not in ${d.knownHosts}); ` +
    `if that is the host's key, trust it with: ${d.trust}`,
  ERR_REMOTE_HOSTKEY_CHANGED: (d: {
    remote: string
    keyType: string
    fingerprint: string
    knownHosts: string
    line: number
    revoked: boolean
    forget: string
  }) =>
    d.revoked
      ? `${d.remote}: host key ${d.keyType} ${d.fingerprint} is revoked (${d.knownHosts}:${d.line}); refused`
      : `${d.remote}: HOST KEY CHANGED: it offers ${d.keyType} ${d.fingerprint}, which does not match ` +
        `${d.knownHosts}:${d.line}; someone may be intercepting the connection. If the host was ` +
        `reinstalled, remove the old key with \`${d.forget}\` and trust the new one`,
  ERR_REMOTE_AUTH: (d: { remote: string; tried: readonly string[] }) =>
    `${d.remote}: authentication refused (tried: ${d.tried.length ? d.tried.join(', ') : 'nothing: no password, key, agent or prompt available'})`,
  ERR_REMOTE_SETUP: (d: { remote: string; step: string; reason: string }) =>
    `${d.remote}: cannot ${d.step}: ${d.reason}`,
  ERR_REMOTE_RUN: (d: { host: string; exitCode: number | null; signal: string | null; log?: string }) =>
    d.log
      ? `the detached run on ${d.host} ended (its output: ${d.log} there)`
      : `the run on ${d.host} ${d.signal ? `was killed by ${d.signal}` : `exited with code ${d.exitCode}`}`,
  ERR_ETCD_MISSING: (d: { binary: string }) =>
    `cannot run the etcd server \`${d.binary}\`: it is not installed (Debian: apt-get install etcd-server), or name it with --etcd-binary`,
  ERR_ETCD_SERVER: (d: { reason: string }) => `the managed etcd server failed: ${d.reason}`,
  ERR_CLUSTER_JOIN: (d: { seeds: readonly string[]; reason: string }) =>
    `cannot join the cluster at ${d.seeds.join(', ')}: ${d.reason}`,
  ERR_HOSTNAME_TAKEN: (d: { hostname: string }) =>
    `the host name \`${d.hostname}\` is in use by another running mgmt of this cluster; give this one another --hostname`,
  ERR_DEPLOY_FILE: (d: { file: string; reason: string }) => `cannot deploy ${d.file}: ${d.reason}`,
  ERR_USAGE: (d: { reason: string }) => d.reason,
  ERR_LANG_PARSE: (d: LangErrorDetails) => d.text,
  ERR_LANG_SCOPE: (d: LangErrorDetails) => d.text,
  ERR_LANG_TYPE: (d: LangErrorDetails) => d.text,
  ERR_LANG_RUN: (d: LangErrorDetails) => d.text,
  ERR_LANG_INTERPRET: (d: LangErrorDetails) => d.text,
  ERR_PUPPET_MISSING: (d: { reason: string }) =>
    `Puppet is not available (${d.reason}): install the Debian package \`puppet\` (apt-get install puppet)`,
  ERR_PUPPET_COMPILE: (d: { source: string; error: string }) =>
    `${d.source}: Puppet failed to compile: ${d.error}`,
} satisfies Record<string, (d: never) => string>

export type ErrorCode = keyof typeof messages
export type ErrorDetails<C extends ErrorCode> = Parameters<(typeof messages)[C]>[0]

/** The project's error: a stable `code`, structured `details`, and the original as `cause`. */
export class MgmtError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'MgmtError'
  readonly code: C
  readonly details: ErrorDetails<C>
  constructor(code: C, details: ErrorDetails<C>, options?: ErrorOptions) {
    super((messages[code] as (d: ErrorDetails<C>) => string)(details), options)
    this.code = code
    this.details = details
  }
}

/** Brand check (not instanceof), so errors from another copy of the module are recognized. */
export const isMgmtError = <C extends ErrorCode>(e: unknown, code?: C): e is MgmtError<C> =>
  typeof e === 'object' &&
  e !== null &&
  (e as { name?: unknown }).name === 'MgmtError' &&
  (code === undefined || (e as { code?: unknown }).code === code)

/** Every code in the catalog, for the docs test. */
export const errorCodes = Object.keys(messages) as ErrorCode[]

/** The `code` of a Node.js system error (`ENOENT`, `EACCES`...), or undefined. */
export const errCode = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * What a system error says, without the paths Node puts in its message (`no space left on device
 * (ENOSPC)`), for messages that name the path the user knows instead of a temporary one.
 */
export function sysReason(e: unknown): string {
  // What V8 says of a file read as text that is larger than a string can hold (/dev/zero).
  if (e instanceof RangeError && e.message === 'Invalid string length') return 'too large to read as text'
  const code = errCode(e)
  const msg = e instanceof Error ? e.message : String(e)
  const m = /^[A-Z0-9_]+: (.*?)(?:, \w+(?: '.*)?)?$/s.exec(msg)
  if (code && m) return `${m[1]} (${code})`
  return msg
}

/**
 * An I/O error about `path`, the managed path, whatever temporary name the failing call used: the
 * system error's reason and code, and no cause (whose message would show the temporary name).
 */
export function ioError(action: string, path: string, e: unknown): Error {
  if (isMgmtError(e) || (e as { mgmtPath?: unknown } | null)?.mgmtPath !== undefined) return e as Error
  return Object.assign(new Error(`cannot ${action} ${path}: ${sysReason(e)}`), {
    code: errCode(e),
    mgmtPath: path,
  })
}

/** True for the error an aborted signal produces: a normal shutdown, never a failure. */
export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError'
}

/**
 * Logs an error with its code and location apart (for JSON logs); an invalid graph gives one message
 * per problem there, each with its file, line and column. `suffix` ends the message (text) or the
 * last one (JSON).
 */
export function logError(
  log: {
    readonly structured?: boolean
    error(
      msg: string,
      fields?: { code?: string; file?: string; line?: number; col?: number; path?: string },
    ): void
  },
  err: unknown,
  suffix = '',
): void {
  if (isMgmtError(err, 'ERR_YAML_INVALID') && log.structured && err.details.located?.length) {
    for (const { message, ...at } of err.details.located) log.error(message, { code: err.code, ...at })
    if (suffix) log.error(suffix.trim(), { code: err.code, file: err.details.file })
    return
  }
  const msg = `${describeError(err)}${suffix}`
  if (isMgmtError(err, 'ERR_YAML_SYNTAX')) {
    const { file, line, col } = err.details
    log.error(msg, { code: err.code, file, line, col })
  } else log.error(msg, errCode(err) ? { code: errCode(err) } : undefined)
}

/** A one-line-per-cause description of an error chain, for logs. */
export function describeError(e: unknown): string {
  const parts: string[] = []
  let cur: unknown = e
  for (let depth = 0; cur !== undefined && depth < 5; depth++) {
    if (cur instanceof Error) {
      // A cause that an outer message already quotes (`cannot read x: <the cause>`) is said once.
      const said = cur.message
      if (!parts.some(p => p.includes(said))) parts.push(said)
      cur = cur.cause
    } else {
      parts.push(String(cur))
      break
    }
  }
  return parts.join(': ')
}
