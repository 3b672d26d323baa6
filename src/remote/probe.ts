/**
 * The first command on a remote host, one round trip: it makes the working directory (the cached
 * `<prefix>/remote/`, or a fresh 0700 temporary one), clears what a killed run or an interrupted
 * copy left there (`run-<host>/`, `.*.part`), and reports the system, the Node.js and the etcd on
 * the PATH, the address the host was reached at (`$SSH_CONNECTION`), and the hashes of the cached
 * program files. A detached run of this host still going in `run-<host>/` (its `mgmt.pid`) is
 * left alone, and said.
 *
 * Probing again after a lost connection (`again`), it goes back to the same working directory (a
 * temporary one too, when it is still there: the run's state is in it), and first stops the run
 * the lost connection had started, if it is still going (the connection's end may not have reached
 * it yet): INT, then KILL after `STOP_GRACE_S` seconds. The new run would otherwise find its prefix
 * held, or both would manage the host at once.
 *
 * The remote prefix is the one mgmt would use there: `$MGMT_PREFIX` if set in the session, else
 * `/var/lib/mgmt` for root, else `${XDG_CACHE_HOME:-~/.cache}/mgmt`. Needs only a POSIX shell,
 * `id`, `uname`, `mkdir`, `mktemp` and `rm`; `sha256sum` when present (without it, files are copied).
 */
import type { Client } from 'ssh2'
import { MgmtError } from '../util/errors.js'
import { execCapture, shq } from './exec.js'

export interface Probe {
  /** The working directory, absolute. */
  readonly wd: string
  readonly os: string
  /** `uname -m`: x86_64, aarch64... */
  readonly machine: string
  /** The Node.js on the PATH and its version, when there is one. */
  readonly node?: { readonly path: string; readonly version: string }
  /** The etcd server on the PATH, when there is one. */
  readonly etcd?: string
  /** The address its sshd was reached at. */
  readonly addr?: string
  /** sha256 of the program files already in the working directory, by name. */
  readonly hashes: ReadonlyMap<string, string>
  /** The pid of a detached run still going in the run directory: nothing was cleared. */
  readonly detached?: number
  /** A reconnection's previous run, still going: stopped by INT, or killed after the grace. */
  readonly previous?: { readonly pid: number; readonly killed: boolean }
}

/** How long a previous run may take to stop after INT, on a reconnection, before it is killed. */
export const STOP_GRACE_S = 10

/** What a reconnection's probe knows of the lost connection's run. */
export interface Again {
  /** The working directory it ran in. */
  readonly wd: string
  /** Its pid, when it was said. */
  readonly pid?: number
}

export function probeScript(caching: boolean, runDir: string, again?: Again): string {
  const fresh = caching
    ? 'wd=$p/remote && mkdir -p "$wd" || exit 1'
    : `wd=$(mktemp -d "\${TMPDIR:-/tmp}/mgmt-remote.XXXXXXXXXX") || exit 1`
  const makeWd = again && !caching ? `wd=${shq(again.wd)}; [ -d "$wd" ] || { ${fresh}; }` : fresh
  return `umask 077
p=\${MGMT_PREFIX:-}
if [ -z "$p" ]; then if [ "$(id -u)" = 0 ]; then p=/var/lib/mgmt; else p=\${XDG_CACHE_HOME:-$HOME/.cache}/mgmt; fi; fi
${makeWd}
cd "$wd" || exit 1
echo "wd=$(pwd)"
d=$(cat ${shq(`${runDir}/mgmt.pid`)} 2>/dev/null)
if [ -n "$d" ] && grep -qs mgmt.mjs "/proc/$d/cmdline"; then echo "detached=$d"; exit 0; fi
${again?.pid ? stopPrevious(again.pid, runDir) : ''}rm -rf ${shq(runDir)} .*.part || exit 1
echo "os=$(uname -s)"
echo "machine=$(uname -m)"
set -- $SSH_CONNECTION
echo "addr=$3"
if n=$(command -v node 2>/dev/null); then echo "node=$n"; echo "nodeversion=$("$n" -p process.versions.node 2>/dev/null)"; fi
if e=$(command -v etcd 2>/dev/null); then echo "etcd=$e"; fi
for f in mgmt.mjs node etcd; do [ -f "$f" ] && echo "sha256=$(sha256sum "$f" 2>/dev/null)"; done
exit 0`
}

/**
 * Stops a previous run of this host: the pid is checked to be mgmt running in the run directory
 * (a pid may have been reused); no tool but the shell and `sleep` (without it, KILL at once).
 */
function stopPrevious(pid: number, runDir: string): string {
  // Its command line is read, not `kill -0`: a run that has exited has none, even while it waits,
  // a zombie, for a parent that does not reap it (the lost connection's sshd, itself stuck).
  return `o=${pid}
if grep -qs mgmt.mjs "/proc/$o/cmdline" && [ "$(cd "/proc/$o/cwd" 2>/dev/null && pwd -P)" = "$(pwd -P)/"${shq(runDir)} ]; then
  kill -INT "$o" 2>/dev/null; i=0
  while grep -qs mgmt.mjs "/proc/$o/cmdline" && [ "$i" -lt ${STOP_GRACE_S * 10} ]; do sleep 0.1 2>/dev/null || break; i=$((i+1)); done
  if grep -qs mgmt.mjs "/proc/$o/cmdline" && kill -KILL "$o" 2>/dev/null; then echo "killed=$o"; else echo "stopped=$o"; fi
fi
`
}

export function parseProbe(stdout: string): Probe {
  const kv = new Map<string, string>()
  const hashes = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=')
    if (i < 0) continue
    const [k, v] = [line.slice(0, i), line.slice(i + 1)]
    if (k === 'sha256') {
      const m = /^([0-9a-f]{64})\s+(\S+)$/.exec(v)
      if (m) hashes.set(m[2]!, m[1]!)
    } else kv.set(k, v)
  }
  const wd = kv.get('wd')
  if (!wd?.startsWith('/')) throw new Error(`unexpected answer: ${JSON.stringify(stdout.slice(0, 200))}`)
  const node = kv.get('node')
  const version = kv.get('nodeversion')
  const etcd = kv.get('etcd')
  const addr = kv.get('addr')
  const detached = Number(kv.get('detached'))
  const stopped = Number(kv.get('stopped') ?? kv.get('killed'))
  return {
    wd,
    os: kv.get('os') ?? '',
    machine: kv.get('machine') ?? '',
    ...(node && version ? { node: { path: node, version } } : {}),
    ...(etcd ? { etcd } : {}),
    ...(addr ? { addr } : {}),
    hashes,
    ...(detached > 0 ? { detached } : {}),
    ...(stopped > 0 ? { previous: { pid: stopped, killed: kv.has('killed') } } : {}),
  }
}

export async function probe(
  conn: Client,
  remote: string,
  caching: boolean,
  runDir: string,
  again?: Again,
): Promise<Probe> {
  const r = await execCapture(conn, probeScript(caching, runDir, again))
  if (r.code !== 0)
    throw new MgmtError('ERR_REMOTE_SETUP', {
      remote,
      step: 'make its working directory',
      reason: r.stderr.trim() || `the shell exited with code ${r.code}`,
    })
  try {
    return parseProbe(r.stdout)
  } catch (err) {
    throw new MgmtError('ERR_REMOTE_SETUP', {
      remote,
      step: 'probe the system',
      reason: (err as Error).message,
    })
  }
}
