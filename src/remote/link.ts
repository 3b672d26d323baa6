/**
 * How the remote hosts of a run reach its world (etcd), given where this host reaches it:
 *
 * - each host gets a reverse tunnel to the etcd this host talks to: its own managed server, or its
 *   seeds (a middle host's seeds are its own tunnel, so the hosts it configures go through it);
 * - attached (the default), the remote run joins as a client of the tunnel:
 *   `--no-server --seeds http://127.0.0.1:PORT`;
 * - with `--detach`, it joins as an etcd member from its own address (the one its sshd was reached
 *   at), so that the members reach each other without this host: `--seeds http://127.0.0.1:PORT
 *   --client-urls http://ADDR:2379 --server-urls http://ADDR:2380`. This host's own server, when its
 *   peer URL is on loopback, is reached by them through a second tunnel on the same port of their
 *   loopback, until it leaves;
 * - each host's converged state is read from its key in the world (`/_mgmt/converged/<host>`), with
 *   one watch for all of them.
 *
 * `openTunnels` opens a host's tunnels over its SSH connection, each time it connects.
 */
import type { Client } from 'ssh2'
import { describeError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { World } from '../world/world.js'
import { reverseTunnel, type Tunnel, type TunnelTarget } from './tunnel.js'

/** How a remote run reaches the cluster's world (etcd): given by the world (worldLink below). */
export interface WorldLink {
  /** Where the tunnel's connections go, as seen from here (asked when the tunnel opens). */
  target(): Promise<TunnelTarget>
  /**
   * With `--detach`: this host's etcd peer port, when the remote's new member must reach it through
   * a tunnel (bound to the same port on the remote's loopback); undefined when it need not.
   */
  peer?(): Promise<TunnelTarget | undefined>
  /**
   * The arguments that point the remote run at the tunnel's port on its loopback; `addr` is the
   * address the host was reached at. Throws an Error saying why when they cannot be made.
   */
  args(remotePort: number, addr: string | undefined): string[]
  /** Follows a host's converged state in the world; returns the unfollow. */
  converged?(hostname: string, fn: (converged: boolean) => void): () => void
}

/** What the link needs of the world: its hosts' states, and where this host reaches etcd. */
export interface LinkedWorld extends World {
  endpoints(): Promise<{ readonly clientUrls: readonly string[]; readonly peerUrls?: readonly string[] }>
}

/** The ports a detached host's etcd member serves on, on its own address. */
export const MEMBER_CLIENT_PORT = 2379
export const MEMBER_PEER_PORT = 2380

export interface LinkOptions {
  /** The remote runs join as etcd members (`--detach`). */
  readonly detach: boolean
  /** With `detach`: how many hosts join, so that each becomes a member. */
  readonly hosts: number
  /** This run's `--ideal-cluster-size`. */
  readonly idealClusterSize: number
}

export function worldLink(world: LinkedWorld, o: LinkOptions): WorldLink {
  const convergence = new Convergence(world)
  return {
    target: async () => tunnelTarget((await world.endpoints()).clientUrls[0]!),
    ...(o.detach
      ? {
          peer: async () => {
            const peer = (await world.endpoints()).peerUrls?.[0]
            return peer && isLoopback(new URL(peer).hostname) ? tunnelTarget(peer) : undefined
          },
        }
      : {}),
    args: (port, addr) => {
      const seeds = ['--seeds', `http://127.0.0.1:${port}`]
      if (!o.detach) return ['--no-server', ...seeds]
      if (!addr) throw new Error('its sshd does not say which address it was reached at ($SSH_CONNECTION)')
      const a = addr.includes(':') ? `[${addr}]` : addr
      return [
        ...seeds,
        '--client-urls',
        `http://${a}:${MEMBER_CLIENT_PORT}`,
        '--server-urls',
        `http://${a}:${MEMBER_PEER_PORT}`,
        // Every detached host is a member: a client would be left talking to a closed tunnel.
        '--ideal-cluster-size',
        String(Math.max(o.idealClusterSize, o.hosts + 1)),
      ]
    },
    converged: (hostname, fn) => convergence.follow(hostname, fn),
  }
}

/**
 * Opens a host's tunnel to the world, and with `detach` the one to this host's etcd peer port if
 * needed; `fail` makes the error of a tunnel that cannot be opened (all closed again then).
 */
export async function openTunnels(
  conn: Client,
  link: WorldLink | undefined,
  detach: boolean,
  log: Logger,
  fail: (reason: string) => Error,
): Promise<Tunnel[]> {
  if (!link) return []
  const out: Tunnel[] = []
  const open = async (target: TunnelTarget, port = 0): Promise<Tunnel> => {
    const t = await reverseTunnel(conn, target, port).catch(err => {
      throw fail(`${describeError(err)}${port ? ` (port ${port} on its loopback must be free)` : ''}`)
    })
    out.push(t)
    return t
  }
  try {
    const target = await link.target()
    const t = await open(target)
    log.info(`tunnel: port ${t.remotePort} on its loopback leads to ${target.host}:${target.port} here`)
    const peer = detach ? await link.peer?.() : undefined
    if (peer) {
      await open(peer, peer.port)
      log.info(`tunnel: port ${peer.port} on its loopback leads to etcd's peers port here`)
    }
    return out
  } catch (err) {
    for (const t of out) await t.close().catch(() => {})
    throw err
  }
}

/** A client URL as a tunnel's target: an unspecified address (listen on all) is reached on loopback. */
function tunnelTarget(url: string): TunnelTarget {
  const u = new URL(url)
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  return {
    host: host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host,
    port: Number(u.port),
  }
}

const isLoopback = (h: string): boolean => h === 'localhost' || h.startsWith('127.')

/** Every followed host's converged state, from one watch of the world's hosts. */
class Convergence {
  readonly #world: World
  readonly #followers = new Map<string, Set<(c: boolean) => void>>()
  readonly #last = new Map<string, boolean>()
  #watch: AbortController | undefined
  #reading: Promise<void> = Promise.resolve()

  constructor(world: World) {
    this.#world = world
  }

  /** Calls `fn` on each change of the host's state (it starts as not converged); returns the unfollow. */
  follow(hostname: string, fn: (c: boolean) => void): () => void {
    const set = this.#followers.get(hostname) ?? new Set()
    this.#followers.set(hostname, set)
    set.add(fn)
    if (this.#last.get(hostname)) fn(true)
    if (!this.#watch) {
      const watch = new AbortController()
      this.#watch = watch
      this.#world.convergedWatch(watch.signal, () => this.#read()).catch(() => {})
    }
    return () => {
      set.delete(fn)
      if (!set.size) {
        this.#followers.delete(hostname)
        this.#last.delete(hostname)
      }
      if (!this.#followers.size) {
        this.#watch?.abort()
        this.#watch = undefined
      }
    }
  }

  /** Reads every host's state once per change, in order; an unreachable world changes nothing. */
  #read(): void {
    this.#reading = this.#reading.then(async () => {
      const states = await this.#world.convergedGet().catch(() => undefined)
      if (!states) return
      for (const [host, fns] of this.#followers) {
        const c = states.get(host) === true
        if (c === (this.#last.get(host) ?? false)) continue
        this.#last.set(host, c)
        for (const fn of [...fns]) fn(c)
      }
    })
  }
}
