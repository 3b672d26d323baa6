/**
 * systemd's manager over D-Bus, for the kinds built on it (svc, cron, mount): a unit's state, jobs
 * that are waited for until systemd reports their result, enabling and disabling unit files,
 * daemon-reload, and the signals that say a unit changed.
 *
 * A job's `JobRemoved` signal can arrive together with the reply that names the job, so the
 * listener is installed once, when connecting, and results are kept until their job is asked for.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { untilClosed } from '../../engine/resource.js'
import { Bus, type BusKind, busAddress } from '../../util/dbus.js'

const SYSTEMD = 'org.freedesktop.systemd1'
const MANAGER_PATH = '/org/freedesktop/systemd1'
const MANAGER = 'org.freedesktop.systemd1.Manager'
const UNIT = 'org.freedesktop.systemd1.Unit'

/** What svc and its kin read about a unit. */
export interface UnitState {
  /** `loaded`, `not-found`, `masked`, `error`, ... */
  readonly loadState: string
  /** `active`, `inactive`, `failed`, `activating`, `deactivating`, `reloading`. */
  readonly activeState: string
  readonly subState: string
  /** `enabled`, `disabled`, `static`, `masked`, ... ('' when there is no unit file). */
  readonly unitFileState: string
  /** The unit file changed on disk since systemd last loaded it. */
  readonly needDaemonReload: boolean
  readonly fragmentPath: string
}

/** The D-Bus object path of a unit: every byte but [A-Za-z0-9] as `_xx`. */
export function unitObjectPath(unit: string): string {
  let out = ''
  for (const b of Buffer.from(unit))
    out += /[A-Za-z0-9]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `_${b.toString(16).padStart(2, '0')}`
  return `${MANAGER_PATH}/unit/${out || '_'}`
}

/**
 * Why `unit` is no unit name systemd takes, or undefined. A unit name is also a file name in the
 * unit directories (cron writes `<name>.timer` there): letters, digits and `:-_.\\@` only, not
 * starting with a dot, so that neither `/` nor `..` ever leads elsewhere, at most 255 characters.
 */
export function unitNameProblem(unit: string): string | undefined {
  if (unit.length > 255) return `\`${unit.slice(0, 40)}...\` is longer than a unit name may be (255)`
  if (!/^[A-Za-z0-9:_@\\-][A-Za-z0-9:_.@\\-]*$/.test(unit))
    return `\`${unit}\` is not a unit name: letters, digits and \`:-_.\\@\`, not starting with a dot`
  return undefined
}

/** Where systemd looks for unit files an administrator writes: the system's or the user's. */
export function unitFileDir(session: boolean, env: NodeJS.ProcessEnv = process.env): string {
  if (!session) return '/etc/systemd/system'
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'systemd/user')
}

/** Where packages ship unit files, and where an administrator overrides them (first). */
export function unitFileCandidates(unit: string, session: boolean): string[] {
  const own = join(unitFileDir(session), unit)
  if (session)
    return [own, `/etc/systemd/user/${unit}`, `/usr/lib/systemd/user/${unit}`, `/lib/systemd/user/${unit}`]
  return [own, `/usr/lib/systemd/system/${unit}`, `/lib/systemd/system/${unit}`]
}

/** Job results that are a success: `done`, and `skipped` (a try-restart of a stopped unit). */
const OK_RESULTS = new Set(['done', 'skipped'])

export class Systemd {
  readonly #bus: Bus
  /**
   * Results of jobs that finished before the call that queued them returned, by job path: kept
   * only while such a call is on its way (every job of the system is signalled, not only ours).
   */
  readonly #results = new Map<string, string>()
  #queueing = 0
  readonly #waiting = new Map<string, (result: string) => void>()
  readonly kind: BusKind

  private constructor(bus: Bus, kind: BusKind) {
    this.#bus = bus
    this.kind = kind
  }

  /** Connects to the system manager, or to the user's (`session`); fails clearly when absent. */
  static async connect(session: boolean): Promise<Systemd> {
    const kind: BusKind = session ? 'session' : 'system'
    const bus = await Bus.connect(kind).catch(e => {
      throw new Error(`systemd is not reachable: ${(e as Error).message}`)
    })
    try {
      if (!(await bus.hasName(SYSTEMD)))
        throw new Error(
          `systemd is not running (nothing provides ${SYSTEMD} on the ${kind} bus at ${busAddress(kind)})`,
        )
      const sd = new Systemd(bus, kind)
      await bus.subscribe({ path: MANAGER_PATH, iface: MANAGER, member: 'JobRemoved' }, s => {
        const [, job, , result] = s.body as [number, string, string, string]
        const waiter = sd.#waiting.get(job)
        if (waiter) waiter(result)
        else if (sd.#queueing > 0) sd.#results.set(job, result)
      })
      await bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'Subscribe')
      return sd
    } catch (e) {
      bus.close()
      throw e
    }
  }

  /** Resolves when the connection is lost. */
  get closed(): Promise<Error> {
    return this.#bus.closed
  }

  /** Calls `fn` if the connection is lost before the returned function is called. */
  onClose(fn: (e: Error) => void): () => void {
    return this.#bus.onClose(fn)
  }

  /** The unit's state (systemd loads it to answer; an unknown unit is `not-found`). */
  async state(unit: string): Promise<UnitState> {
    const [path] = (await this.#manager('LoadUnit', 's', [unit])) as [string]
    const p = await this.#bus.getAll(SYSTEMD, path, UNIT)
    const str = (k: string): string => (typeof p[k] === 'string' ? (p[k] as string) : '')
    return {
      loadState: str('LoadState'),
      activeState: str('ActiveState'),
      subState: str('SubState'),
      unitFileState: str('UnitFileState'),
      needDaemonReload: p.NeedDaemonReload === true,
      fragmentPath: str('FragmentPath'),
    }
  }

  start(unit: string, signal?: AbortSignal): Promise<void> {
    return this.#job('StartUnit', unit, signal)
  }
  stop(unit: string, signal?: AbortSignal): Promise<void> {
    return this.#job('StopUnit', unit, signal)
  }
  restart(unit: string, signal?: AbortSignal): Promise<void> {
    return this.#job('RestartUnit', unit, signal)
  }
  tryRestart(unit: string, signal?: AbortSignal): Promise<void> {
    return this.#job('TryRestartUnit', unit, signal)
  }
  reloadOrTryRestart(unit: string, signal?: AbortSignal): Promise<void> {
    return this.#job('ReloadOrTryRestartUnit', unit, signal)
  }

  /** Enables unit files (their [Install] section), then reloads systemd. */
  async enable(units: string[]): Promise<void> {
    await this.#manager('EnableUnitFiles', 'asbb', [units, false, false])
    await this.daemonReload()
  }

  /** Disables unit files, then reloads systemd. */
  async disable(units: string[]): Promise<void> {
    await this.#manager('DisableUnitFiles', 'asb', [units, false])
    await this.daemonReload()
  }

  /** `systemctl daemon-reload`: the reply comes once systemd has reloaded. */
  async daemonReload(): Promise<void> {
    await this.#manager('Reload')
  }

  /**
   * Calls `onChange` on every change of the unit's properties (started, stopped, failed, reloaded),
   * of unit files (enabled, disabled) and after every daemon-reload. Resolves once in place; the
   * returned function stops it.
   */
  async watch(unit: string, onChange: () => void): Promise<() => void> {
    const offs = await Promise.all([
      this.#bus.subscribe(
        { path: unitObjectPath(unit), iface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' },
        onChange,
      ),
      this.#bus.subscribe({ path: MANAGER_PATH, iface: MANAGER, member: 'UnitFilesChanged' }, onChange),
      this.#bus.subscribe({ path: MANAGER_PATH, iface: MANAGER, member: 'Reloading' }, s => {
        if (s.body[0] === false) onChange()
      }),
    ])
    return () => {
      for (const off of offs) off()
    }
  }

  close(): void {
    this.#bus.close()
  }

  #manager(member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    return this.#bus.call(SYSTEMD, MANAGER_PATH, MANAGER, member, signature, body)
  }

  /** Queues a job (mode `fail`: do not replace a conflicting one) and waits for its result. */
  async #job(method: string, unit: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    this.#queueing++
    let job: string
    let early: string | undefined
    try {
      ;[job] = (await this.#manager(method, 'ss', [unit, 'fail'])) as [string]
      early = this.#results.get(job)
    } finally {
      if (--this.#queueing === 0) this.#results.clear()
    }
    const result =
      early ??
      (await new Promise<string>((resolve, reject) => {
        const done = (): void => {
          this.#waiting.delete(job)
          signal?.removeEventListener('abort', onAbort)
          offClose()
        }
        const onAbort = (): void => {
          done()
          reject(signal?.reason)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        const offClose = this.#bus.onClose(e => {
          done()
          reject(e)
        })
        this.#waiting.set(job, r => {
          done()
          resolve(r)
        })
      }))
    if (!OK_RESULTS.has(result)) throw new Error(`${method} ${unit}: the job ended \`${result}\``)
  }
}

/** One connection for a resource's checks, made on first use and again after it was lost. */
export class SystemdConnection {
  #sd: Promise<Systemd> | undefined
  constructor(readonly session: boolean) {}

  get(): Promise<Systemd> {
    this.#sd ??= Systemd.connect(this.session).then(
      m => {
        m.onClose(() => {
          this.#sd = undefined
        })
        return m
      },
      e => {
        this.#sd = undefined
        throw e
      },
    )
    return this.#sd
  }

  async close(): Promise<void> {
    ;(await this.#sd?.catch(() => undefined))?.close()
  }
}

/** What a watch reports to: `ctx.event` and `ctx.watchPath`, in short. */
export interface WatchContext {
  event(): void
  watchPath(path: string, signal: AbortSignal, onChange: () => void): Promise<void>
}

/**
 * The watch of a unit-based kind: the unit's signals on a connection of its own, and `files` on
 * disk. Reports ready once both are in place, returns when `signal` aborts, and throws when the
 * connection is lost (the engine retries per the resource's meta).
 */
export async function watchUnit(
  session: boolean,
  unit: string,
  files: readonly string[],
  ctx: WatchContext,
  signal: AbortSignal,
): Promise<void> {
  const sd = await Systemd.connect(session)
  try {
    let ready = false
    const fire = (): void => {
      if (ready) ctx.event()
    }
    const off = await sd.watch(unit, fire)
    for (const f of files) await ctx.watchPath(f, signal, fire)
    ready = true
    ctx.event()
    const lost = await untilClosed(fn => sd.onClose(fn), signal)
    off()
    if (lost && !signal.aborted) throw lost
  } finally {
    sd.close()
  }
}
