/**
 * A namespace for one test, held open by a sleeping process: its own mount namespace (always) and,
 * when asked, its own hostname (uts) and network; `/etc` may be a copy-on-write overlay of the
 * host's, so that what the test writes there (fstab, hostname, machine-info) stays inside. Commands
 * run in it through `nsenter`; `stop()` kills the holder (the namespace ends with its last process)
 * and removes the test's directory.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, run, startDaemon } from './proc.js'

export interface NamespaceOptions {
  /** A hostname of its own. */
  readonly uts?: boolean
  /** A network of its own (loopback only). */
  readonly net?: boolean
  /** `/etc` as an overlay of the host's: writes land in `etcUpper`. */
  readonly overlayEtc?: boolean
  /** More shell lines run inside before it is ready (mounts). */
  readonly setup?: readonly string[]
  /** The test directory to use (else a new one, removed by `stop()`). */
  readonly dir?: string
}

export class Namespace {
  readonly #holder: Daemon
  readonly #ownDir: boolean
  private constructor(
    readonly dir: string,
    holder: Daemon,
    readonly flags: string[],
    ownDir: boolean,
  ) {
    this.#holder = holder
    this.#ownDir = ownDir
  }

  static async start(opts: NamespaceOptions = {}): Promise<Namespace> {
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'mgmt-t13-ns-')))
    const flags = ['-m', ...(opts.uts ? ['-u'] : []), ...(opts.net ? ['-n'] : [])]
    const lines = ['set -e']
    if (opts.overlayEtc) {
      await mkdir(join(dir, 'etc-upper'), { recursive: true })
      await mkdir(join(dir, 'etc-work'), { recursive: true })
      lines.push(
        `mount -t overlay mgmt-t13-etc -o 'lowerdir=/etc,upperdir=${dir}/etc-upper,workdir=${dir}/etc-work' /etc`,
      )
    }
    lines.push(...(opts.setup ?? []), 'echo ready', 'exec sleep infinity')
    const unshare = [
      '--mount',
      '--propagation',
      'private',
      ...(opts.uts ? ['--uts'] : []),
      ...(opts.net ? ['--net'] : []),
    ]
    const holder = startDaemon('unshare', [...unshare, 'sh', '-c', lines.join('\n')])
    const ns = new Namespace(dir, holder, flags, opts.dir === undefined)
    try {
      await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (holder.output().includes('ready')) resolve()
        }
        holder.child.stdout?.on('data', check)
        void holder.exited.then(code =>
          reject(new Error(`the namespace's holder exited (${code}): ${holder.output()}`)),
        )
        check()
      })
    } catch (e) {
      await ns.stop()
      throw e
    }
    return ns
  }

  /** The upper layer of the overlay `/etc`: what was written there. */
  get etcUpper(): string {
    return join(this.dir, 'etc-upper')
  }

  /** `nsenter` arguments that run a command inside. */
  get prefix(): string[] {
    return ['nsenter', '-t', String(this.#holder.pid), ...this.flags, '--']
  }

  /** Runs a command inside; its stdout. */
  run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
    return run(this.prefix[0]!, [...this.prefix.slice(1), cmd, ...args], { env })
  }

  /** Starts a long-running command inside. */
  spawn(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Daemon {
    return startDaemon(this.prefix[0]!, [...this.prefix.slice(1), cmd, ...args], { env })
  }

  async stop(): Promise<void> {
    await this.#holder.stop('SIGKILL')
    if (this.#ownDir) await rm(this.dir, { recursive: true, force: true, maxRetries: 3 })
  }
}
