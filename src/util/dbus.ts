/**
 * A thin layer over `dbus-next` for the kinds that talk to system services (svc, cron, mount,
 * hostname over systemd; pkg over PackageKit): connect to the system or a user's session bus, call
 * methods by name without introspection, read properties, and subscribe to signals with a match
 * rule that is in place before the call that may cause them (a `JobRemoved` can arrive together
 * with the reply of the `StartUnit` that queued the job).
 *
 * The bus addresses follow the D-Bus conventions: `DBUS_SYSTEM_BUS_ADDRESS` or
 * `/run/dbus/system_bus_socket`; `DBUS_SESSION_BUS_ADDRESS` or `$XDG_RUNTIME_DIR/bus`.
 */
import type * as Dbus from 'dbus-next'

/** dbus-next, loaded with the first connection: most runs talk to no bus. */
let dbus: typeof Dbus | undefined

async function loadDbus(): Promise<typeof Dbus> {
  if (!dbus) {
    const m = (await import('dbus-next')) as typeof Dbus & { default?: typeof Dbus }
    dbus = m.default ?? m
  }
  return dbus
}

/** dbus-next, once a connection loaded it. */
const loaded = (): typeof Dbus => {
  if (!dbus) throw new Error('dbus-next is not loaded')
  return dbus
}

export type BusKind = 'system' | 'session'

/** How long connecting (and the bus's hello) may take. */
const CONNECT_MS = 15_000

/** Where the bus of `kind` listens. */
export function busAddress(kind: BusKind, env: NodeJS.ProcessEnv = process.env): string {
  if (kind === 'system') return env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/run/dbus/system_bus_socket'
  if (env.DBUS_SESSION_BUS_ADDRESS) return env.DBUS_SESSION_BUS_ADDRESS
  const runtime = env.XDG_RUNTIME_DIR || `/run/user/${process.getuid?.() ?? 0}`
  return `unix:path=${runtime}/bus`
}

/** A signal as it arrives: who sent it, from where, and its arguments (variants unwrapped). */
export interface Signal {
  readonly path: string
  readonly iface: string
  readonly member: string
  readonly body: readonly unknown[]
}

/** The fields of a match rule (`type='signal'` is implied). */
export interface Match {
  readonly sender?: string
  readonly path?: string
  readonly iface?: string
  readonly member?: string
  /** `arg0='...'`: the first argument, a string. */
  readonly arg0?: string
}

/** A D-Bus error reply: `name` is the error's D-Bus name (`org.freedesktop.systemd1.NoSuchUnit`). */
export class BusError extends Error {
  override readonly name = 'BusError'
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message)
  }
}

/** Replaces every dbus-next Variant in `v` by its value. */
export function unwrap(v: unknown): unknown {
  if (dbus && v instanceof dbus.Variant) return unwrap(v.value)
  if (Array.isArray(v)) return v.map(unwrap)
  if (v && typeof v === 'object' && !Buffer.isBuffer(v) && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]))
  return v
}

const ruleOf = (m: Match): string =>
  [
    "type='signal'",
    m.sender && `sender='${m.sender}'`,
    m.path && `path='${m.path}'`,
    m.iface && `interface='${m.iface}'`,
    m.member && `member='${m.member}'`,
    m.arg0 !== undefined && `arg0='${m.arg0}'`,
  ]
    .filter(Boolean)
    .join(',')

const matches = (m: Match, s: Dbus.Message): boolean =>
  (!m.path || s.path === m.path) &&
  (!m.iface || s.interface === m.iface) &&
  (!m.member || s.member === m.member) &&
  (m.arg0 === undefined || s.body?.[0] === m.arg0)

/** One connection to a bus. */
export class Bus {
  readonly #bus: Dbus.MessageBus
  readonly #closed: Promise<Error>
  #isClosed = false
  /** Calls waiting for a reply and other waiters: they fail when the connection is lost. */
  readonly #pending = new Set<(e: Error) => void>()

  private constructor(bus: Dbus.MessageBus, closed: Promise<Error>) {
    this.#bus = bus
    this.#closed = closed
    void closed.then(e => {
      this.#isClosed = true
      for (const fail of this.#pending) fail(e)
    })
  }

  /** Connects (and says hello); rejects with a clear error when the bus is not there. */
  static async connect(kind: BusKind, address = busAddress(kind)): Promise<Bus> {
    const d = await loadDbus()
    return new Promise((resolve, reject) => {
      let bus: Dbus.MessageBus
      try {
        bus = d.sessionBus({ busAddress: address })
      } catch (e) {
        reject(new Error(`cannot reach the ${kind} bus at ${address} (${(e as Error).message})`))
        return
      }
      let up = false
      let timer: NodeJS.Timeout | undefined
      let onClosed: (e: Error) => void = () => {}
      const closed = new Promise<Error>(r => {
        onClosed = r
      })
      bus.on('error', (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e))
        if (!up) {
          clearTimeout(timer)
          reject(new Error(`cannot reach the ${kind} bus at ${address} (${err.message})`))
        }
        onClosed(err)
      })
      const conn = (bus as unknown as { _connection: NodeJS.EventEmitter })._connection
      conn.on('end', () => onClosed(new Error(`the ${kind} bus closed the connection`)))
      // A socket that accepts but never answers must not hang the caller.
      timer = setTimeout(() => {
        if (up) return
        reject(
          new Error(`cannot reach the ${kind} bus at ${address} (no answer within ${CONNECT_MS / 1000} s)`),
        )
        bus.disconnect()
      }, CONNECT_MS)
      bus.on('connect', () => {
        up = true
        clearTimeout(timer)
        resolve(new Bus(bus, closed))
      })
    })
  }

  /** Resolves (never rejects) when the connection is lost, with why. */
  get closed(): Promise<Error> {
    return this.#closed
  }

  /** Calls `fn` once if the connection is lost (or closed) before the returned function is called. */
  onClose(fn: (e: Error) => void): () => void {
    this.#pending.add(fn)
    return () => this.#pending.delete(fn)
  }

  get isClosed(): boolean {
    return this.#isClosed
  }

  /** Calls `member`; resolves with the reply's values (variants unwrapped). */
  async call(
    dest: string,
    path: string,
    iface: string,
    member: string,
    signature = '',
    body: unknown[] = [],
  ): Promise<unknown[]> {
    const d = loaded()
    const msg = new d.Message({ destination: dest, path, interface: iface, member, signature, body })
    let fail: (e: Error) => void = () => {}
    const lost = new Promise<never>((_, reject) => {
      fail = reject
    })
    this.#pending.add(fail)
    try {
      if (this.#isClosed) throw new Error('the bus connection is closed')
      const reply = await Promise.race([this.#bus.call(msg), lost])
      return (reply?.body ?? []).map(unwrap)
    } catch (e) {
      if (e instanceof d.DBusError) throw new BusError(e.type, `${iface}.${member}: ${e.text || e.type}`)
      throw e
    } finally {
      this.#pending.delete(fail)
    }
  }

  /** One property. */
  async get(dest: string, path: string, iface: string, name: string): Promise<unknown> {
    const [v] = await this.call(dest, path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, name])
    return v
  }

  /** Every property of an interface. */
  async getAll(dest: string, path: string, iface: string): Promise<Record<string, unknown>> {
    const [v] = await this.call(dest, path, 'org.freedesktop.DBus.Properties', 'GetAll', 's', [iface])
    return (v ?? {}) as Record<string, unknown>
  }

  /** The bus itself: is `name` owned now, or can it be started on demand? */
  async hasName(name: string): Promise<boolean> {
    const bus = ['org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus'] as const
    const [owned] = await this.call(...bus, 'NameHasOwner', 's', [name])
    if (owned) return true
    const [names] = await this.call(...bus, 'ListActivatableNames')
    return (names as string[]).includes(name)
  }

  /**
   * Delivers every signal matching `m` to `fn` from the moment this resolves (the bus has
   * installed the rule). The returned function removes it.
   */
  async subscribe(m: Match, fn: (s: Signal) => void): Promise<() => void> {
    const rule = ruleOf(m)
    const signal = loaded().MessageType.SIGNAL
    const listener = (msg: Dbus.Message): void => {
      if (msg.type !== signal || !matches(m, msg)) return
      fn({ path: msg.path, iface: msg.interface, member: msg.member, body: (msg.body ?? []).map(unwrap) })
    }
    this.#bus.on('message', listener)
    try {
      await this.call(
        'org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus',
        'AddMatch',
        's',
        [rule],
      )
    } catch (e) {
      this.#bus.off('message', listener)
      throw e
    }
    return () => {
      this.#bus.off('message', listener)
      if (!this.#isClosed)
        this.call(
          'org.freedesktop.DBus',
          '/org/freedesktop/DBus',
          'org.freedesktop.DBus',
          'RemoveMatch',
          's',
          [rule],
        ).catch(() => {})
    }
  }

  close(): void {
    if (this.#isClosed) return
    this.#isClosed = true
    this.#bus.disconnect()
    for (const fail of this.#pending) fail(new Error('the bus connection was closed'))
  }
}
