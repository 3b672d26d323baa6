/**
 * The world a command runs with, from its flags: the local world under the prefix, or, when
 * clustering is asked for (`--seeds`, `--client-urls`, `--server-urls`, or `--remote`: the hosts
 * configured over SSH exchange exports through it), the etcd world of a managed server or of the
 * cluster that the seeds name. The etcd client (gRPC) takes a fifth of a
 * second to load: it is loaded only for a cluster.
 */
import { join } from 'node:path'
import { isMgmtError, MgmtError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { LocalWorld } from '../world/local.js'
import { validHostname, type World } from '../world/world.js'
import type { ClusterFlags } from './flags.js'

/** The defaults of the managed server's URLs. */
export const DEFAULT_CLIENT_URLS = ['http://127.0.0.1:2379']
export const DEFAULT_SERVER_URLS = ['http://127.0.0.1:2380']

/** The errors of a world that cannot be had (a managed server that cannot start, a join refused). */
export const isClusterError = (e: unknown): boolean =>
  isMgmtError(e, 'ERR_ETCD_MISSING') ||
  isMgmtError(e, 'ERR_ETCD_SERVER') ||
  isMgmtError(e, 'ERR_CLUSTER_JOIN') ||
  isMgmtError(e, 'ERR_HOSTNAME_TAKEN')

/** Is clustering asked for? */
export const clustered = (f: ClusterFlags & { remote?: readonly string[] }): boolean =>
  !!(f.seeds || f.clientUrls || f.serverUrls || f.remote?.length)

/** Checks the cluster flags together; a usage error names what is wrong. */
export function checkClusterFlags(f: ClusterFlags, hostname: string): void {
  const usage = (reason: string): never => {
    throw new MgmtError('ERR_USAGE', { reason })
  }
  if (!validHostname(hostname))
    usage(`--hostname \`${hostname}\` cannot be a host name in a cluster (no / allowed)`)
  if (!f.server && !f.seeds) usage('--no-server needs --seeds: the cluster to join as a client')
  if (!f.server && (f.clientUrls || f.serverUrls))
    usage('--no-server runs no etcd server: --client-urls and --server-urls do not apply')
  if (f.idealClusterSize < 1) usage('--ideal-cluster-size must be at least 1')
  const client = new Set((f.clientUrls ?? DEFAULT_CLIENT_URLS).map(u => new URL(u).host))
  for (const u of f.serverUrls ?? DEFAULT_SERVER_URLS)
    if (client.has(new URL(u).host)) usage(`--client-urls and --server-urls cannot share ${new URL(u).host}`)
}

export async function openWorld(
  f: ClusterFlags & { remote?: readonly string[]; detach?: boolean },
  hostname: string,
  prefix: string,
  log: Logger,
): Promise<World> {
  if (!clustered(f)) {
    // Read before anything runs: a state file that is not one stops the run before it applies.
    const local = new LocalWorld(hostname, join(prefix, 'world'))
    await local.ready()
    return local
  }
  checkClusterFlags(f, hostname)
  const { clusterWorld } = await import('../world/etcd/cluster.js')
  return clusterWorld({
    hostname,
    prefix,
    log,
    seeds: f.seeds ?? [],
    clientUrls: f.clientUrls ?? DEFAULT_CLIENT_URLS,
    serverUrls: f.serverUrls ?? DEFAULT_SERVER_URLS,
    server: f.server,
    idealClusterSize: f.idealClusterSize,
    etcdBinary: f.etcdBinary,
    // Remote hosts that detach join as members, from their own addresses.
    spansHosts: !!f.detach && !!f.remote?.length,
  })
}
