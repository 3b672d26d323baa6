/**
 * The PackageKit backend of `pkg`, over the system bus. Each operation is a PackageKit transaction:
 * create it, subscribe to its signals (before the call that starts it), call the method, and wait
 * for `Finished`. Package ids are `name;version;arch;data`; whether a package is installed is read
 * from the numeric info of its `Package` signal (1), never from the id's data.
 */
import { Bus } from '../../util/dbus.js'
import type { PkgBackend, PkgChange, PkgState, TxOptions } from './backend.js'

const PK = 'org.freedesktop.PackageKit'
const PK_PATH = '/org/freedesktop/PackageKit'
const TX = 'org.freedesktop.PackageKit.Transaction'

/** PkInfoEnum: the low 16 bits of a Package signal's info (the high bits carry update severity). */
const INFO_INSTALLED = 1
const INFO_AVAILABLE = 2
/** PkExitEnum. */
const EXIT_SUCCESS = 1
/** PkTransactionFlagEnum bits. */
const FLAG_ONLY_TRUSTED = 1n << 1n
const FLAG_ALLOW_DOWNGRADE = 1n << 6n
/** PkFilterEnum bits (a filter is a bitfield of them). */
const FILTER_FREE = 1n << 8n
const FILTER_SUPPORTED = 1n << 12n

interface Pkg {
  readonly info: number
  readonly id: string
}

interface Finished {
  readonly packages: Pkg[]
}

export const splitId = (id: string): { name: string; version: string; arch: string; data: string } => {
  const [name = '', version = '', arch = '', data = ''] = id.split(';')
  return { name, version, arch, data }
}

export class PackageKitBackend implements PkgBackend {
  readonly name = 'packagekit'
  readonly #bus: Bus

  private constructor(bus: Bus) {
    this.#bus = bus
  }

  /** Connects; fails when there is no system bus or nothing provides PackageKit on it. */
  static async connect(): Promise<PackageKitBackend> {
    const bus = await Bus.connect('system')
    try {
      if (!(await bus.hasName(PK))) throw new Error(`nothing provides ${PK} on the system bus`)
    } catch (e) {
      bus.close()
      throw e
    }
    return new PackageKitBackend(bus)
  }

  async query(
    names: readonly string[],
    opts: TxOptions,
    signal: AbortSignal,
  ): Promise<Map<string, PkgState>> {
    let filter = 0n
    if (!opts.allownonfree) filter |= FILTER_FREE
    if (!opts.allowunsupported) filter |= FILTER_SUPPORTED
    const { packages } = await this.#transaction('Resolve', 'tas', [filter, [...names]], signal)
    const out = new Map<string, PkgState>(names.map(n => [n, { name: n }]))
    for (const p of packages) {
      const id = splitId(p.id)
      const have = out.get(id.name)
      if (!have) continue
      const info = p.info & 0xffff
      if (info === INFO_INSTALLED) out.set(id.name, { ...have, installed: id.version, arch: id.arch })
      else if (info === INFO_AVAILABLE && have.candidate === undefined)
        out.set(id.name, { ...have, candidate: id.version, arch: have.arch ?? id.arch })
    }
    // Available only as the installed version: nothing newer.
    for (const [n, s] of out)
      if (s.candidate !== undefined && s.candidate === s.installed) out.set(n, { ...s, candidate: undefined })
    return out
  }

  async refresh(signal: AbortSignal): Promise<void> {
    await this.#transaction('RefreshCache', 'b', [false], signal)
  }

  async apply(changes: readonly PkgChange[], opts: TxOptions, signal: AbortSignal): Promise<void> {
    let flags = 0n
    if (!opts.allowuntrusted) flags |= FLAG_ONLY_TRUSTED
    if (opts.allowdowngrade) flags |= FLAG_ALLOW_DOWNGRADE
    const ids = (action: PkgChange['action']): string[] =>
      changes.filter(c => c.action === action).map(c => `${c.name};${c.version ?? ''};${c.arch ?? ''};`)
    const install = ids('install')
    const update = ids('update')
    const remove = changes
      .filter(c => c.action === 'remove')
      .map(c => `${c.name};${c.version ?? ''};${c.arch ?? ''};installed`)
    if (install.length) await this.#transaction('InstallPackages', 'tas', [flags, install], signal)
    if (update.length) await this.#transaction('UpdatePackages', 'tas', [flags, update], signal)
    if (remove.length)
      await this.#transaction('RemovePackages', 'tasbb', [flags, remove, false, false], signal)
  }

  async watch(onChange: () => void): Promise<() => void> {
    return this.#bus.subscribe({ path: PK_PATH, iface: PK, member: 'UpdatesChanged' }, onChange)
  }

  onClose(fn: (e: Error) => void): () => void {
    return this.#bus.onClose(fn)
  }

  close(): void {
    this.#bus.close()
  }

  /** Runs one transaction to its end; rejects with PackageKit's error when it fails. */
  async #transaction(
    method: string,
    signature: string,
    body: unknown[],
    signal: AbortSignal,
  ): Promise<Finished> {
    signal.throwIfAborted()
    const [path] = (await this.#bus.call(PK, PK_PATH, PK, 'CreateTransaction')) as [string]
    const packages: Pkg[] = []
    const errors: string[] = []
    let finish: (exit: number) => void = () => {}
    const finished = new Promise<number>(resolve => {
      finish = resolve
    })
    const off = await this.#bus.subscribe({ path, iface: TX }, s => {
      if (s.member === 'Package') packages.push({ info: s.body[0] as number, id: s.body[1] as string })
      else if (s.member === 'ErrorCode') errors.push(String(s.body[1]).trim())
      else if (s.member === 'Finished') finish(s.body[0] as number)
    })
    const cancel = (): void => {
      this.#bus.call(PK, path, TX, 'Cancel').catch(() => {})
    }
    signal.addEventListener('abort', cancel, { once: true })
    const offClose = this.#bus.onClose(() => finish(-1))
    try {
      await this.#bus.call(PK, path, TX, method, signature, body)
      const exit = await finished
      signal.throwIfAborted()
      if (exit === -1) throw new Error('the system bus connection was lost')
      if (exit !== EXIT_SUCCESS)
        throw new Error(
          `PackageKit ${method} failed${errors.length ? `: ${errors.join('; ')}` : ` (exit ${exit})`}`,
        )
      return { packages }
    } finally {
      signal.removeEventListener('abort', cancel)
      offClose()
      off()
    }
  }
}
