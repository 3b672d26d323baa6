/**
 * All the remote hosts of a run: started together, at most `cconns` connections at once (0: no
 * limit), each one a converger component of the run (busy until the host says it has converged),
 * each failure named and the others carrying on.
 *
 * A host's convergence is its key in the world, when the world is linked (link.ts): a host counts
 * from the moment it waits for a connection until its own run says, through the cluster, that it is
 * converged; this run then counts the seconds for every host at once. Without a link (tests of
 * this module alone), it is the remote run's own status.
 *
 * With fewer connections than hosts, a host's slot is freed when its run ends: each remote run
 * then reports converged only once idle for `--converged-timeout` seconds (its own status, on the
 * channel), is stopped then, and the next host starts.
 *
 * A host whose connection is lost while it runs is connected again (host.ts, reconnect.ts); it
 * counts as busy from the loss until its new run says it has converged, since the world may still
 * hold its lost run's state for a while. A host given up fails as any other.
 *
 * At the end, the hosts are stopped, or with `--detach` let go: their runs keep going.
 */
import type { ConvergerHandle } from '../engine/converger.js'
import { describeError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { Credentials } from './auth.js'
import type { PassedFlags } from './command.js'
import type { HostPlan } from './files.js'
import { type HostOptions, type HostOutcome, RemoteHost } from './host.js'
import type { WorldLink } from './link.js'
import type { CopyProgress } from './progress.js'

export interface RemotesOptions {
  readonly plans: readonly HostPlan[]
  /** At most this many hosts connected at once; 0: no limit. */
  readonly cconns: number
  readonly depth: number
  readonly flags: Omit<PassedFlags, 'exitWhenConverged'>
  readonly credentials: Credentials
  readonly knownHosts: string
  readonly log: Logger
  readonly progress?: CopyProgress
  readonly world?: WorldLink
  /** The etcd server to copy to detached hosts that have none. */
  readonly etcdBinary?: string
  readonly check: HostOptions['check']
}

/** Registers a busy component with the run's converger. */
export type Register = () => ConvergerHandle

export class Remotes {
  readonly #o: RemotesOptions
  readonly #hosts: RemoteHost[]
  #outcomes: Promise<HostOutcome[]> | undefined
  #stopped = false

  constructor(o: RemotesOptions) {
    this.#o = o
    const waves = o.cconns > 0 && o.cconns < o.plans.length
    this.#hosts = o.plans.map(
      plan =>
        new RemoteHost({
          plan,
          depth: o.depth,
          flags: { ...o.flags, exitWhenConverged: waves },
          credentials: o.credentials,
          knownHosts: o.knownHosts,
          log: o.log.child(plan.remote.hostname),
          check: o.check,
          ...(o.progress ? { progress: o.progress } : {}),
          ...(o.world ? { world: o.world } : {}),
          ...(o.etcdBinary ? { etcdBinary: o.etcdBinary } : {}),
        }),
    )
  }

  get hostnames(): string[] {
    return this.#hosts.map(h => h.hostname)
  }

  /**
   * Starts every host (each waits for a connection slot). `register` adds a component to the run's
   * converger; `onAllEnded` is called once every host has ended by itself.
   */
  start(register: Register, onAllEnded: () => void): void {
    const slots = new Slots(this.#o.cconns)
    const waves = this.#o.cconns > 0 && this.#o.cconns < this.#hosts.length
    const link = this.#o.world
    this.#outcomes = Promise.all(
      this.#hosts.map(async host => {
        const handle = register()
        // A host whose connection was lost is busy until it is back and converged again.
        let converged = false
        let reconnecting = false
        const update = (): void => handle.setBusy(reconnecting || !converged)
        host.onReconnecting(r => {
          reconnecting = r
          update()
        })
        let unfollow: (() => void) | undefined
        if (link?.converged && !waves)
          unfollow = link.converged(host.hostname, c => {
            converged = c
            update()
          })
        else
          host.onConverged(c => {
            converged = c
            update()
            if (c && waves) host.finish()
          })
        try {
          await slots.acquire()
          if (this.#stopped) {
            slots.release()
            return { hostname: host.hostname, copied: { program: 0, node: 0, etcd: 0, graphs: 0 } }
          }
          const outcome = await host.run().finally(() => slots.release())
          if (outcome.error) this.#o.log.error(`${host.hostname}: ${describeError(outcome.error)}`)
          return outcome
        } finally {
          unfollow?.()
          handle.remove()
        }
      }),
    )
    void this.#outcomes.then(() => {
      if (!this.#stopped) onAllEnded()
    })
  }

  /** Stops every host (INT, then KILL after 10 s; `force`: KILL now) and resolves with the outcomes. */
  async stop(force = false): Promise<HostOutcome[]> {
    this.#stopped = true
    for (const h of this.#hosts) h.stop(force)
    return this.#outcomes ?? []
  }

  /** Lets every running host go, its run left going (`--detach`); the others are dropped. */
  async detach(): Promise<HostOutcome[]> {
    this.#stopped = true
    for (const h of this.#hosts) h.detach()
    return this.#outcomes ?? []
  }
}

/** A counting semaphore; 0 places: no limit. */
class Slots {
  #free: number
  readonly #waiting: (() => void)[] = []
  constructor(places: number) {
    this.#free = places > 0 ? places : Number.POSITIVE_INFINITY
  }
  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--
      return Promise.resolve()
    }
    return new Promise(r => this.#waiting.push(r))
  }
  release(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#free++
  }
}
