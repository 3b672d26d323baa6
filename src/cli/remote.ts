/**
 * `mgmt run --remote FILE ...`: the flags checked, the remote graph files loaded (all of them valid
 * before any host is contacted), the keys read, and the hosts handed to src/remote/, linked to
 * this run's world (etcd: its managed server, or the cluster of its seeds).
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { CompileOptions } from '../engine/compiled.js'
import { loadYamlFile } from '../frontends/yaml/parse.js'
import { loadCredentials } from '../remote/auth.js'
import { loadRemoteFiles } from '../remote/files.js'
import { type LinkedWorld, worldLink } from '../remote/link.js'
import { Remotes } from '../remote/orchestrator.js'
import { programBundle } from '../remote/program.js'
import { terminalProgress } from '../remote/progress.js'
import { terminalPrompter } from '../remote/prompt.js'
import { builtinRegistry } from '../resources/index.js'
import { MgmtError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { World } from '../world/world.js'
import type { ClusterFlags, RunFlags } from './flags.js'

/** Deeper than this, a hierarchy of remote runs is taken for a loop. */
const MAX_DEPTH = 16

/** Checks and loads everything about the remote hosts; resolves with how to start them with the world. */
export async function openRemotes(
  flags: RunFlags & ClusterFlags,
  log: Logger,
): Promise<(world: World) => Remotes> {
  if (flags.remote.length === 0)
    throw new MgmtError('ERR_USAGE', { reason: '--detach leaves remote hosts running: it needs --remote' })
  if (flags.depth >= MAX_DEPTH)
    throw new MgmtError('ERR_USAGE', {
      reason: `remote runs nested ${flags.depth} deep: is a host listed under itself?`,
    })
  const compile: CompileOptions = {
    strict: flags.strict,
    lenient: flags.lenient,
    noop: flags.noop,
    sema: flags.sema,
  }
  const registry = builtinRegistry()
  const plans = await loadRemoteFiles(flags.remote, registry, compile)
  await programBundle()
  const waves = flags.cconns > 0 && flags.cconns < plans.length
  if (waves && flags.convergedTimeout < 0)
    throw new MgmtError('ERR_USAGE', {
      reason:
        `--cconns ${flags.cconns} with ${plans.length} hosts: a host's connection is only freed when its run ends, ` +
        'so give --converged-timeout (each run then ends once converged), or raise --cconns',
    })
  if (waves && flags.detach)
    throw new MgmtError('ERR_USAGE', {
      reason:
        `--detach with --cconns ${flags.cconns} and ${plans.length} hosts: detached hosts join their cluster ` +
        'together, each over its own connection; raise --cconns',
    })
  const home = homedir()
  const interactive = flags.allowInteractive && process.stdin.isTTY && flags.depth === 0
  if (flags.allowInteractive && !interactive)
    log.warn('--allow-interactive: no terminal to ask at; not prompting')
  const credentials = await loadCredentials({
    ...(flags.sshKey ? { explicit: resolve(flags.sshKey) } : {}),
    home,
    ...(process.env.SSH_AUTH_SOCK ? { agent: process.env.SSH_AUTH_SOCK } : {}),
    ...(interactive ? { prompter: terminalPrompter() } : {}),
    log,
  })
  const progress = terminalProgress()
  return world => {
    // openWorld gives the etcd world whenever there are remote hosts.
    if (!('endpoints' in world)) throw new Error('remote hosts need the etcd world')
    return new Remotes({
      plans,
      cconns: flags.cconns,
      depth: flags.depth,
      flags: {
        noop: flags.noop,
        strict: flags.strict,
        lenient: flags.lenient,
        sema: flags.sema,
        debug: flags.debug,
        watch: flags.watch,
        convergedTimeout: flags.convergedTimeout,
        caching: flags.caching && !flags.tmpPrefix,
        cconns: flags.cconns,
        ...(flags.detach ? { detach: true } : {}),
        ...(flags.reconnectTimeout !== undefined ? { reconnectTimeout: flags.reconnectTimeout } : {}),
      },
      credentials,
      knownHosts: flags.knownHosts ? resolve(flags.knownHosts) : join(home, '.ssh', 'known_hosts'),
      log,
      ...(progress ? { progress } : {}),
      world: worldLink(world as LinkedWorld, {
        detach: !!flags.detach,
        hosts: plans.length,
        idealClusterSize: flags.idealClusterSize,
      }),
      etcdBinary: flags.etcdBinary,
      check: async file => (await loadYamlFile(file, registry, compile)).remote,
    })
  }
}
