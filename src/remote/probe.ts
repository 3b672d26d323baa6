/**
 * The first command on a remote host, one round trip: it makes the working directory (the cached
 * `<prefix>/remote/`, or a fresh 0700 temporary one), clears what a killed run or an interrupted
 * copy left there (`run-<host>/`, `.*.part`), and reports the system, the Node.js and the etcd on
 * the PATH, the address the host was reached at (`$SSH_CONNECTION`), and the hashes of the cached
 * program files. A detached run of this host still going in `run-<host>/` (its `mgmt.pid`) is
 * left alone, and said.
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
}

export function probeScript(caching: boolean, runDir: string): string {
  const makeWd = caching
    ? 'wd=$p/remote && mkdir -p "$wd" || exit 1'
    : `wd=$(mktemp -d "\${TMPDIR:-/tmp}/mgmt-remote.XXXXXXXXXX") || exit 1`
  return `umask 077
p=\${MGMT_PREFIX:-}
if [ -z "$p" ]; then if [ "$(id -u)" = 0 ]; then p=/var/lib/mgmt; else p=\${XDG_CACHE_HOME:-$HOME/.cache}/mgmt; fi; fi
${makeWd}
cd "$wd" || exit 1
echo "wd=$(pwd)"
d=$(cat ${shq(`${runDir}/mgmt.pid`)} 2>/dev/null)
if [ -n "$d" ] && grep -qs mgmt.mjs "/proc/$d/cmdline"; then echo "detached=$d"; exit 0; fi
rm -rf ${shq(runDir)} .*.part || exit 1
echo "os=$(uname -s)"
echo "machine=$(uname -m)"
set -- $SSH_CONNECTION
echo "addr=$3"
if n=$(command -v node 2>/dev/null); then echo "node=$n"; echo "nodeversion=$("$n" -p process.versions.node 2>/dev/null)"; fi
if e=$(command -v etcd 2>/dev/null); then echo "etcd=$e"; fi
for f in mgmt.mjs node etcd; do [ -f "$f" ] && echo "sha256=$(sha256sum "$f" 2>/dev/null)"; done
exit 0`
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
  return {
    wd,
    os: kv.get('os') ?? '',
    machine: kv.get('machine') ?? '',
    ...(node && version ? { node: { path: node, version } } : {}),
    ...(etcd ? { etcd } : {}),
    ...(addr ? { addr } : {}),
    hashes,
    ...(detached > 0 ? { detached } : {}),
  }
}

export async function probe(conn: Client, remote: string, caching: boolean, runDir: string): Promise<Probe> {
  const r = await execCapture(conn, probeScript(caching, runDir))
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
