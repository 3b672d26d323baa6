/**
 * `hostname`: the machine's names. The static hostname (`/etc/hostname`), the transient one (the
 * kernel's) and the pretty one (`/etc/machine-info`), each defaulting to `hostname`. Through
 * systemd-hostnamed (`org.freedesktop.hostname1` on the system bus) where it runs; else by
 * writing the files (atomically) and the kernel's hostname directly.
 *
 * It watches hostnamed's property changes, or the two files: a name changed by hand is put back at
 * once. Without hostnamed, a change of the kernel's name alone has no event to watch (the kernel
 * offers none that Node can wait on), and is repaired at the next check.
 */
import { lstat, readFile, writeFile } from 'node:fs/promises'
import { z } from 'zod'
import { defineResource, type ResourceContext, untilAborted } from '../engine/resource.js'
import { Bus } from '../util/dbus.js'
import type { Issue } from '../util/errors.js'
import { writeAtomic } from './file/atomic.js'

/** Params of `hostname`. Keys are the YAML names, verbatim. */
export const HostnameParams = z
  .object({
    /** The default for the three names below. */
    hostname: z.string().default(''),
    /** A free-form name for people (`Alice's laptop`). */
    pretty_hostname: z.string().default(''),
    /** The name kept in /etc/hostname, used at boot. */
    static_hostname: z.string().default(''),
    /** The kernel's name, now. */
    transient_hostname: z.string().default(''),
  })
  .strict()

export type HostnameParams = z.output<typeof HostnameParams>

/** The names to keep; undefined ones are left alone. */
export interface Names {
  readonly pretty?: string
  readonly static?: string
  readonly transient?: string
}

export function namesOf(p: Readonly<HostnameParams>): Names {
  const or = (v: string): string | undefined => v || p.hostname || undefined
  return { pretty: or(p.pretty_hostname), static: or(p.static_hostname), transient: or(p.transient_hostname) }
}

const LABELS =
  /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

function validateHostname(p: Readonly<HostnameParams>): Issue[] {
  const issues: Issue[] = []
  for (const k of ['hostname', 'static_hostname', 'transient_hostname'] as const)
    if (p[k] && !LABELS.test(p[k]))
      issues.push({
        path: [k],
        message: 'expected a host name: letters, digits and dashes in dot-separated labels, at most 64',
      })
  if (/[\n\r"\\$`]/.test(p.pretty_hostname))
    issues.push({
      path: ['pretty_hostname'],
      message: 'cannot contain a newline, a quote, `\\`, `$` or a backquote',
    })
  return issues
}

const HOSTNAME1 = 'org.freedesktop.hostname1'
const HOSTNAME1_PATH = '/org/freedesktop/hostname1'

export const hostname = defineResource({
  kind: 'hostname',
  params: HostnameParams,
  validate: validateHostname,
  init(p, ctx) {
    const want = namesOf(p)
    let backend: Promise<Backend> | undefined
    const get = (): Promise<Backend> => {
      backend ??= chooseBackend(ctx).catch(e => {
        backend = undefined
        throw e
      })
      return backend
    }
    return {
      async watch(signal) {
        const b = await get()
        let ready = false
        const fire = (): void => {
          if (ready) ctx.event()
        }
        const off = await b.watch(fire, signal)
        ready = true
        ctx.event()
        let offClose = (): void => {}
        const lost = await Promise.race([
          untilAborted(signal).then(() => undefined),
          new Promise<Error>(resolve => {
            offClose = b.onClose(resolve)
          }),
        ])
        offClose()
        off()
        if (lost && !signal.aborted) throw lost
      },
      async checkApply(apply) {
        const b = await get()
        const have = await b.read()
        let ok = true
        for (const k of ['static', 'transient', 'pretty'] as const) {
          const v = want[k]
          if (v === undefined || have[k] === v) continue
          ok = false
          if (!apply)
            ctx.log.info(
              `would set the ${k} hostname to ${JSON.stringify(v)} (it is ${JSON.stringify(have[k] ?? '')})`,
            )
          else {
            ctx.log.info(
              `setting the ${k} hostname to ${JSON.stringify(v)} (it was ${JSON.stringify(have[k] ?? '')})`,
            )
            await b.set(k, v)
          }
        }
        return ok
      },
      async cleanup() {
        ;(await backend?.catch(() => undefined))?.close()
      },
    }
  },
})

interface Backend {
  read(): Promise<Names>
  set(which: keyof Names, value: string): Promise<void>
  watch(onChange: () => void, signal: AbortSignal): Promise<() => void>
  /** Calls `fn` if the backend's connection is lost, until the returned function is called. */
  onClose(fn: (e: Error) => void): () => void
  close(): void
}

/** hostnamed when the system bus has it, else the files; said in the log. */
async function chooseBackend(ctx: ResourceContext): Promise<Backend> {
  let why: string
  try {
    const bus = await Bus.connect('system')
    if (await bus.hasName(HOSTNAME1).catch(() => false)) {
      ctx.log.info('using systemd-hostnamed')
      return hostnamed(bus)
    }
    bus.close()
    why = `nothing provides ${HOSTNAME1} on the system bus`
  } catch (e) {
    why = (e as Error).message
  }
  ctx.log.info(
    `systemd-hostnamed is not available (${why}): writing /etc/hostname, /etc/machine-info and the kernel's hostname`,
  )
  return files(ctx)
}

function hostnamed(bus: Bus): Backend {
  const method = {
    static: 'SetStaticHostname',
    transient: 'SetHostname',
    pretty: 'SetPrettyHostname',
  } as const
  return {
    async read() {
      const all = await bus.getAll(HOSTNAME1, HOSTNAME1_PATH, HOSTNAME1)
      const s = (k: string): string => (typeof all[k] === 'string' ? (all[k] as string) : '')
      return { static: s('StaticHostname'), transient: s('Hostname'), pretty: s('PrettyHostname') }
    },
    async set(which, value) {
      await bus.call(HOSTNAME1, HOSTNAME1_PATH, HOSTNAME1, method[which], 'sb', [value, false])
    },
    watch: async onChange =>
      bus.subscribe(
        { path: HOSTNAME1_PATH, iface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' },
        onChange,
      ),
    onClose: fn => bus.onClose(fn),
    close: () => bus.close(),
  }
}

const ETC_HOSTNAME = '/etc/hostname'
const MACHINE_INFO = '/etc/machine-info'
const KERNEL_HOSTNAME = '/proc/sys/kernel/hostname'

/** A regular file's content ('' when missing); never through a symlink. */
async function readRegular(path: string): Promise<string> {
  const st = await lstat(path).catch(() => undefined)
  if (!st) return ''
  if (!st.isFile()) throw new Error(`${path} is not a regular file`)
  return readFile(path, 'utf8')
}

/** `PRETTY_HOSTNAME=` of machine-info (quotes removed). */
export function prettyOf(machineInfo: string): string {
  const line = machineInfo.split('\n').find(l => l.startsWith('PRETTY_HOSTNAME='))
  return line ? line.slice('PRETTY_HOSTNAME='.length).replace(/^"(.*)"$/, '$1') : ''
}

/** machine-info with `PRETTY_HOSTNAME` set to `pretty`, every other line kept. */
export function withPretty(machineInfo: string, pretty: string): string {
  const kept = machineInfo.split('\n').filter(l => l && !l.startsWith('PRETTY_HOSTNAME='))
  return [...kept, `PRETTY_HOSTNAME="${pretty}"`, ''].join('\n')
}

function files(ctx: ResourceContext): Backend {
  return {
    async read() {
      const [st, mi, kernel] = await Promise.all([
        readRegular(ETC_HOSTNAME),
        readRegular(MACHINE_INFO),
        readFile(KERNEL_HOSTNAME, 'utf8'),
      ])
      const staticName = st.split('\n').find(l => l.trim() && !l.startsWith('#')) ?? ''
      return { static: staticName.trim(), transient: kernel.trim(), pretty: prettyOf(mi) }
    },
    async set(which, value) {
      if (which === 'static')
        await writeAtomic(ETC_HOSTNAME, { bytes: Buffer.from(`${value}\n`) }, { mode: 0o644 })
      else if (which === 'pretty')
        await writeAtomic(
          MACHINE_INFO,
          { bytes: Buffer.from(withPretty(await readRegular(MACHINE_INFO), value)) },
          { mode: 0o644 },
        )
      else await writeFile(KERNEL_HOSTNAME, value)
    },
    async watch(onChange, signal) {
      await ctx.watchPath(ETC_HOSTNAME, signal, onChange)
      await ctx.watchPath(MACHINE_INFO, signal, onChange)
      return () => {}
    },
    onClose: () => () => {},
    close() {},
  }
}
