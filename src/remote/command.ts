/**
 * The command that runs mgmt on a remote host, and the flags it passes along.
 *
 * `cd RUNDIR && echo pid=$$ && exec NODE WD/mgmt.mjs run --hostname H --depth D+1 [flags] yaml FILE
 * 3>&1 1>&2`: the run's own output (stdout and stderr) comes back on the channel's stderr; the
 * channel's stdout carries only machine-read lines: `pid=N` (the shell's pid, which `exec` hands to
 * mgmt: what `kill` stops) and the run's converged status (`true`/`false`, its
 * `--converged-status-file` on descriptor 3).
 *
 * Detached (`--detach`), mgmt runs in a session of its own (`setsid`), its input `/dev/null` and its
 * output in `RUNDIR/mgmt.log`, so that it outlives the SSH connection; its pid goes to
 * `RUNDIR/mgmt.pid` and to the channel (`pid=N`), and the channel relays the log (`tail`, whose own
 * pid is `relay=N`) until the initiator lets go.
 */
import { posix } from 'node:path'
import { mallocAssignments } from '../util/malloc.js'
import { V8_FLAGS } from '../util/v8flags.js'
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
   * The remote run reports converged only once idle for `convergedTimeout` seconds, and is stopped
   * then, freeing its connection for the next host (`--cconns` below the number of hosts);
   * otherwise it reports converged as soon as it is idle (this run counts the seconds, for the
   * whole cluster) and keeps running until stopped.
   */
  readonly exitWhenConverged: boolean
  readonly caching: boolean
  /** For hosts that configure hosts of their own. */
  readonly cconns: number
  /** The run outlives the connection, as a member of the cluster it joins (`--detach`). */
  readonly detach?: boolean
  /** `--reconnect-timeout`, when given: seconds a lost host is tried again (reconnect.ts). */
  readonly reconnectTimeout?: number
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
  /** The etcd server to run, when it was copied along (a detached member without one). */
  readonly etcdBinary?: string
  /** More arguments before the frontend: the world's (`--seeds` and the rest). */
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
  if (f.detach) a.push('--detached')
  // A detached run's state is its key in the world, for whoever follows the cluster.
  if (f.convergedTimeout >= 0 || f.detach) {
    if (!f.detach) a.push('--converged-status-file', '/dev/fd/3')
    a.push('--converged-timeout', f.exitWhenConverged ? String(f.convergedTimeout) : '0')
    a.push('--converged-timeout-no-exit')
  }
  if (r.etcdBinary) a.push('--etcd-binary', r.etcdBinary)
  if (r.children.length) {
    for (const c of r.children) a.push('--remote', c)
    if (f.cconns) a.push('--cconns', String(f.cconns))
    if (f.reconnectTimeout !== undefined) a.push('--reconnect-timeout', String(f.reconnectTimeout))
    if (r.knownHosts) a.push('--known-hosts', r.knownHosts)
  }
  a.push(...(r.extra ?? []), 'yaml', r.graph)
  return a
}

export function remoteCommand(r: RemoteRun): string {
  // V8's flags as the command's own launcher gives them (see util/v8flags.ts).
  const argv = [r.node, ...V8_FLAGS, posix.join(r.wd, 'mgmt.mjs'), ...runArgs(r)].map(shq).join(' ')
  // glibc reads its tuning as the process starts (see util/malloc.ts).
  const env = mallocAssignments()
  if (!r.flags.detach) return `cd ${shq(r.runDir)} && echo "pid=$$" && ${env} exec ${argv} 3>&1 1>&2`
  return [
    `cd ${shq(r.runDir)} || exit 1`,
    ': >mgmt.log',
    // Not a process group leader (no job control here): setsid makes mgmt's own session in place.
    `${env} setsid ${argv} </dev/null >>mgmt.log 2>&1 &`,
    'pid=$!',
    'echo "$pid" >mgmt.pid',
    'echo "pid=$pid"',
    'echo "relay=$$"',
    'exec tail -n +1 -f --pid="$pid" mgmt.log 1>&2 2>/dev/null',
  ].join('\n')
}

/** Where a detached run keeps its pid and its output, in its run directory. */
export const DETACHED_PID = 'mgmt.pid'
export const DETACHED_LOG = 'mgmt.log'
