/**
 * The command that runs mgmt on a remote host, and the flags it passes along.
 *
 * `cd RUNDIR && echo pid=$$ && exec NODE WD/mgmt.mjs run --hostname H --depth D+1 [flags] yaml FILE
 * 3>&1 1>&2`: the run's own output (stdout and stderr) comes back on the channel's stderr; the
 * channel's stdout carries only machine-read lines: `pid=N` (the shell's pid, which `exec` hands to
 * mgmt: what `kill` stops) and the run's converged status (`true`/`false`, its
 * `--converged-status-file` on descriptor 3).
 */
import { posix } from 'node:path'
import { shq } from './exec.js'

/** What the initiator's own flags say about the remote runs. */
export interface PassedFlags {
  readonly noop?: boolean
  readonly strict?: boolean
  readonly lenient?: boolean
  readonly sema?: number
  readonly debug?: boolean
  /** Follow graph file changes (the initiator copies them). */
  readonly watch: boolean
  /** The initiator's --converged-timeout (-1: none). */
  readonly convergedTimeout: number
  /**
   * The remote run exits by itself once converged for `convergedTimeout` seconds, freeing its
   * connection for the next host (`--cconns` below the number of hosts); otherwise it reports each
   * change of its converged state and keeps running until stopped.
   */
  readonly exitWhenConverged: boolean
  readonly caching: boolean
  /** For hosts that configure hosts of their own. */
  readonly cconns: number
}

export interface RemoteRun {
  readonly node: string
  /** The working directory, where the program is. */
  readonly wd: string
  /** This run's directory: the graph files (and known_hosts) are in it. */
  readonly runDir: string
  /** The host's graph file, relative to runDir. */
  readonly graph: string
  readonly hostname: string
  readonly depth: number
  /** Its children's graph files, relative to runDir. */
  readonly children: readonly string[]
  /** A known_hosts file for the children, relative to runDir. */
  readonly knownHosts?: string
  /** More arguments before the frontend (the world's, in a later version: --seeds...). */
  readonly extra?: readonly string[]
  readonly flags: PassedFlags
}

/** The arguments of `mgmt run` on the remote host. */
export function runArgs(r: RemoteRun): string[] {
  const f = r.flags
  const a = ['run', '--hostname', r.hostname, '--depth', String(r.depth)]
  if (!f.caching) a.push('--prefix', posix.join(r.wd, 'prefix'), '--no-caching')
  if (f.noop) a.push('--noop')
  if (f.strict) a.push('--strict')
  if (f.lenient) a.push('--lenient')
  if (f.sema) a.push('--sema', String(f.sema))
  if (f.debug) a.push('--debug')
  if (!f.watch) a.push('--no-watch')
  if (f.convergedTimeout >= 0) {
    a.push('--converged-status-file', '/dev/fd/3')
    if (f.exitWhenConverged) a.push('--converged-timeout', String(f.convergedTimeout))
    else a.push('--converged-timeout', '0', '--converged-timeout-no-exit')
  }
  if (r.children.length) {
    for (const c of r.children) a.push('--remote', c)
    if (f.cconns) a.push('--cconns', String(f.cconns))
    if (r.knownHosts) a.push('--known-hosts', r.knownHosts)
  }
  a.push(...(r.extra ?? []), 'yaml', r.graph)
  return a
}

export function remoteCommand(r: RemoteRun): string {
  const argv = [r.node, posix.join(r.wd, 'mgmt.mjs'), ...runArgs(r)].map(shq).join(' ')
  return `cd ${shq(r.runDir)} && echo "pid=$$" && exec ${argv} 3>&1 1>&2`
}
