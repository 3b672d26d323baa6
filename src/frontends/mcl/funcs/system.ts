/**
 * Host builtins: `os`, `sys`, `datetime`, `deploy`, and the curated `golang/os`, `golang/runtime`,
 * `golang/os/exec`, `golang/path/filepath`. Each reads the host once: a streaming function of the
 * original (a clock, a watched file, a command's output lines) returns its first value here.
 * `os.system`'s commands run beside the engine, between rounds of evaluation (`run/outside.ts`).
 */
import { accessSync, constants, existsSync, readlinkSync } from 'node:fs'
import { cpus, homedir, loadavg, tmpdir, uptime } from 'node:os'
import { basename, delimiter, dirname, extname, join, normalize, posix } from 'node:path'
import { readTextFile, TextFileError } from '../../../util/textfile.js'
import { LangError } from '../errors.js'
import { systemSync } from '../run/command.js'
import { T } from '../types.js'
import { McMap, McStruct, type Value } from '../values.js'
import type { Builtin, Package, RunContext } from './builtin.js'
import { formatTime, weekday } from './time.js'

const struct = (o: Record<string, Value>): McStruct => new McStruct(new Map(Object.entries(o)))

function readText(path: string): string | undefined {
  try {
    return readTextFile(path)
  } catch {
    return undefined
  }
}

/** `/etc/os-release` as a map. */
function osRelease(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of (readText('/etc/os-release') ?? '').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line)
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1')
  }
  return out
}

function family(): string {
  const r = osRelease()
  const ids = `${r.ID ?? ''} ${r.ID_LIKE ?? ''}`
  if (/\b(debian|ubuntu)\b/.test(ids)) return 'debian'
  if (/\b(fedora|rhel|centos)\b/.test(ids)) return 'redhat'
  if (/\barch\b/.test(ids)) return 'archlinux'
  return ''
}

/** A user's `/etc/passwd` entry. */
function passwd(user: string): string[] | undefined {
  return (readText('/etc/passwd') ?? '')
    .split('\n')
    .map(l => l.split(':'))
    .find(f => f[0] === user)
}

/** A file's text, or a catchable error saying why not (a FIFO or a device is refused, not waited on). */
function readFileOrFail(path: string, ctx: RunContext): string {
  try {
    return readTextFile(path)
  } catch (err) {
    if (err instanceof TextFileError) throw ctx.fail(`could not read file: ${path}: ${err.message}`)
    throw err
  }
}

export const osPackage: Package = {
  funcs: {
    args: { sig: 'func() []str', run: (_a, ctx) => [...ctx.host.args] },
    family: { sig: 'func() str', run: () => family() },
    is_family_redhat: { sig: 'func() bool', run: () => family() === 'redhat' },
    is_family_debian: { sig: 'func() bool', run: () => family() === 'debian' },
    is_family_archlinux: { sig: 'func() bool', run: () => family() === 'archlinux' },
    expand_home: {
      sig: 'func(str) str',
      run: ([p]) =>
        (p as string).startsWith('~/') || p === '~' ? join(homedir(), (p as string).slice(1)) : (p as string),
    },
    home: { sig: 'func(str) str', run: ([u]) => passwd(u as string)?.[5] ?? '' },
    uid: { sig: 'func(str) str', run: ([u]) => passwd(u as string)?.[2] ?? '' },
    is_virtual: { sig: 'func() bool', run: () => /\bhypervisor\b/.test(readText('/proc/cpuinfo') ?? '') },
    parse_distro_uid: {
      sig: 'func(str) struct{distro str; version str; arch str}',
      pure: true,
      run: ([s]) => {
        const [distro = '', version = '', arch = ''] = (s as string).split('-')
        return struct({ distro, version, arch })
      },
    },
    release: {
      sig: 'func() struct{id str; variant_id str; version_id str}',
      run: () => {
        const r = osRelease()
        return struct({ id: r.ID ?? '', variant_id: r.VARIANT_ID ?? '', version_id: r.VERSION_ID ?? '' })
      },
    },
    readfile: { sig: 'func(filename str) str', run: ([p], ctx) => readFileOrFail(p as string, ctx) },
    file_exists: { sig: 'func(filename str) bool', run: ([p]) => existsSync(p as string) },
    user_exists: { sig: 'func(user str) bool', run: ([u]) => passwd(u as string) !== undefined },
    modinfo_loaded: {
      sig: 'func(module str) bool',
      run: ([m]) => (readText('/proc/modules') ?? '').split('\n').some(l => l.split(' ')[0] === m),
    },
    system: {
      sig: 'func(cmd str) str',
      // In a run, from the round's commands (empty until it has run); evaluated in one go, on the spot.
      run: ([cmd], ctx) => {
        const outside = ctx.host.outside
        return outside ? (outside.command(cmd as string) ?? '') : systemSync(cmd as string)
      },
    },
  },
  vars: {
    family_redhat: { type: T.str, value: () => 'redhat' },
    family_debian: { type: T.str, value: () => 'debian' },
    family_archlinux: { type: T.str, value: () => 'archlinux' },
  },
}

export const sysPackage: Record<string, Builtin> = {
  load: {
    sig: 'func() struct{x1 float; x5 float; x15 float}',
    run: () => {
      const [x1, x5, x15] = loadavg() as [number, number, number]
      return struct({ x1, x5, x15 })
    },
  },
  uptime: { sig: 'func() int', run: () => BigInt(Math.floor(uptime())) },
  cpu_count: { sig: 'func() int', run: () => BigInt(cpus().length) },
  hostname: { sig: 'func() str', run: (_a, ctx) => ctx.host.hostname },
  env: {
    sig: 'func() map{str: str}',
    run: (_a, ctx) =>
      new McMap(
        Object.entries(ctx.host.env)
          .filter((e): e is [string, string] => e[1] !== undefined)
          .map(([k, v]) => [k, v] as const),
      ),
  },
  getenv: {
    sig: 'func(str) str',
    run: ([k], ctx) => {
      const v = ctx.host.env[k as string]
      if (v === undefined) throw ctx.fail(`environment variable ${k} is not set`)
      return v
    },
  },
  hasenv: { sig: 'func(str) bool', run: ([k], ctx) => ctx.host.env[k as string] !== undefined },
}

export const fwupdPackage: Record<string, Builtin> = {
  reboot_needed: { sig: 'func() bool', run: () => existsSync('/var/run/reboot-required') },
}

const nowSeconds = (): bigint => BigInt(Math.floor(Date.now() / 1000))

/** The most seconds from the epoch a date can be (a JavaScript date's range, 275,760 years). */
const MAX_SECONDS = 8_640_000_000_000n

/** A time argument in seconds, or a catchable error when no date is that far from the epoch. */
function seconds(t: Value | undefined, ctx: RunContext): number {
  const s = t as bigint
  if (s > MAX_SECONDS || s < -MAX_SECONDS)
    throw ctx.fail(`a time of ${s} seconds is out of range (at most ${MAX_SECONDS} from 1970)`)
  return Number(s)
}

export const datetimePackage: Record<string, Builtin> = {
  now: { sig: 'func() int', run: () => nowSeconds() },
  str_now: {
    sig: 'func() str',
    run: () => formatTime(Number(nowSeconds()), '2006-01-02 15:04:05.999999999 -0700 MST'),
  },
  weekday_fast: { sig: 'func() str', run: () => weekday(Number(nowSeconds())) },
  print: {
    sig: 'func(a int) str',
    pure: true,
    run: ([t], ctx) => formatTime(seconds(t, ctx), '2006-01-02 15:04:05 -0700 MST'),
  },
  format: {
    sig: 'func(a int, b str) str',
    pure: true,
    run: ([t, l], ctx) => formatTime(seconds(t, ctx), l as string),
  },
  hour: {
    sig: 'func(a int) int',
    pure: true,
    run: ([t], ctx) => BigInt(new Date(seconds(t, ctx) * 1000).getHours()),
  },
  weekday: { sig: 'func(a int) str', pure: true, run: ([t], ctx) => weekday(seconds(t, ctx)) },
}

/** A path of the deploy, relative to the calling module (`/files/x` in module `mod1/`). */
const abspath = (p: string, ctx: RunContext): string => posix.join(ctx.module.base, p)

/** A deploy path on disk; `..` cannot leave the deploy. */
function onDisk(p: string, ctx: RunContext): string {
  const clean = posix.normalize(`/${p}`)
  return join(ctx.module.root, clean)
}

export const deployPackage: Record<string, Builtin> = {
  abspath: { sig: 'func(path str) str', run: ([p], ctx) => abspath(p as string, ctx) },
  readfile: {
    sig: 'func(filename str) str',
    run: ([p], ctx) => readFileOrFail(onDisk(abspath(p as string, ctx), ctx), ctx),
  },
  readfileabs: {
    sig: 'func(filename str) str',
    run: ([p], ctx) => readFileOrFail(onDisk(p as string, ctx), ctx),
  },
  file_exists: {
    sig: 'func(filename str) bool',
    run: ([p], ctx) => existsSync(onDisk(abspath(p as string, ctx), ctx)),
  },
  directory: {
    sig: 'func(directory str) str',
    run: ([p], ctx) => {
      const dir = onDisk(abspath(p as string, ctx), ctx)
      return (p as string).endsWith('/') ? `${normalize(dir)}/`.replace(/\/+$/, '/') : dir
    },
  },
  binary_path: { sig: 'func() str', run: () => process.argv[1] ?? '' },
  bootstrap_packages: { sig: 'func(str) []str', run: () => [] },
}

export const golangOsPackage: Record<string, Builtin> = {
  getenv: { sig: 'func(key str) str', run: ([k], ctx) => ctx.host.env[k as string] ?? '' },
  user_home_dir: { sig: 'func() str', run: () => homedir() },
  user_cache_dir: {
    sig: 'func() str',
    run: (_a, ctx) => ctx.host.env.XDG_CACHE_HOME || join(homedir(), '.cache'),
  },
  temp_dir: { sig: 'func() str', run: () => tmpdir() },
  hostname: { sig: 'func() str', run: (_a, ctx) => ctx.host.hostname },
  executable: { sig: 'func() str', run: () => process.execPath },
  expand_env: {
    sig: 'func(s str) str',
    run: ([s], ctx) =>
      (s as string).replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_m, a: string | undefined, b: string | undefined) => ctx.host.env[(a ?? b)!] ?? '',
      ),
  },
  readlink: {
    sig: 'func(name str) str',
    run: ([p], ctx) => {
      try {
        return readlinkSync(p as string)
      } catch (err) {
        throw new LangError('run', `readlink ${p}: ${(err as Error).message}`, [ctx.span])
      }
    },
  },
}

export const golangRuntimePackage: Record<string, Builtin> = {
  version: { sig: 'func() str', run: () => `node ${process.version}` },
  goroot: { sig: 'func() str', run: () => '' },
  num_cpu: { sig: 'func() int', run: () => BigInt(cpus().length) },
  goos: { sig: 'func() str', run: () => process.platform },
  goarch: { sig: 'func() str', run: () => process.arch },
}

export const golangExecPackage: Record<string, Builtin> = {
  look_path: {
    sig: 'func(file str) str',
    run: ([f], ctx) => {
      const name = f as string
      const dirs = name.includes('/') ? [''] : (ctx.host.env.PATH ?? '').split(delimiter)
      for (const d of dirs) {
        const p = d ? join(d, name) : name
        try {
          accessSync(p, constants.X_OK)
          return p
        } catch {}
      }
      throw new LangError('run', `exec: "${name}": executable file not found in $PATH`, [ctx.span])
    },
  },
}

export const golangFilepathPackage: Record<string, Builtin> = {
  base: { sig: 'func(path str) str', pure: true, run: ([p]) => basename(p as string) || '.' },
  dir: { sig: 'func(path str) str', pure: true, run: ([p]) => dirname(p as string) },
  ext: { sig: 'func(path str) str', pure: true, run: ([p]) => extname(p as string) },
  clean: {
    sig: 'func(path str) str',
    pure: true,
    run: ([p]) => posix.normalize(p as string).replace(/(.)\/$/, '$1'),
  },
}
