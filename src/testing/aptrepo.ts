/**
 * Packages for tests, fully offline: tiny `.deb` files built with `dpkg-deb`, a local apt
 * repository made of them (`Packages` with every version, and a `Release`), and a sandbox in which
 * apt and PackageKit see only that repository.
 *
 * The sandbox is a mount namespace held open by a sleeping process: there, `/etc/apt` is a copy of
 * the host's whose only source is the test repository, and apt's lists, caches and logs, dpkg's
 * log and PackageKit's state are private directories. Packages are installed for real (dpkg's
 * database is the machine's), so `stop()` purges every package the repository holds, also after a
 * failed test, then ends the namespace and removes its directories.
 */
import { createHash } from 'node:crypto'
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Namespace } from './namespace.js'
import { type Daemon, run, runStatus } from './proc.js'

export interface DebSpec {
  readonly name: string
  readonly version: string
  /** Files the package ships: absolute path → content (mode 0755 under a `bin/`, else 0644). */
  readonly files?: Readonly<Record<string, string>>
  readonly depends?: string
}

/** A local apt repository of tiny packages. */
export class AptRepo {
  private constructor(readonly dir: string) {}

  static async create(parent: string): Promise<AptRepo> {
    const dir = join(parent, 'repo')
    await mkdir(dir, { recursive: true })
    return new AptRepo(dir)
  }

  /** The `sources.list` line for it. */
  get sourcesLine(): string {
    return `deb [trusted=yes] file:${this.dir} ./\n`
  }

  /** Builds `spec` into the repository (call `index()` afterwards). */
  async add(spec: DebSpec): Promise<void> {
    const root = await mkdtemp(join(this.dir, '..', 'build-'))
    try {
      await mkdir(join(root, 'DEBIAN'))
      const control = [
        `Package: ${spec.name}`,
        `Version: ${spec.version}`,
        'Architecture: all',
        'Maintainer: mgmt tests <root@localhost>',
        ...(spec.depends ? [`Depends: ${spec.depends}`] : []),
        `Description: mgmt test package ${spec.name}`,
        '',
      ]
      await writeFile(join(root, 'DEBIAN/control'), control.join('\n'))
      for (const [path, content] of Object.entries(spec.files ?? {})) {
        const at = join(root, path)
        await mkdir(dirname(at), { recursive: true })
        await writeFile(at, content, { mode: /\/s?bin\//.test(path) ? 0o755 : 0o644 })
      }
      const deb = join(this.dir, `${spec.name}_${spec.version}_all.deb`)
      await run('dpkg-deb', ['--root-owner-group', '-Znone', '--build', root, deb])
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  }

  /** Package names in the repository. */
  async names(): Promise<string[]> {
    const debs = (await readdir(this.dir)).filter(f => f.endsWith('.deb'))
    return [...new Set(debs.map(f => f.split('_')[0]!))]
  }

  /** Writes `Packages` (every version of every package) and `Release`. */
  async index(): Promise<void> {
    const debs = (await readdir(this.dir)).filter(f => f.endsWith('.deb')).sort()
    const stanzas: string[] = []
    for (const f of debs) {
      const path = join(this.dir, f)
      const bytes = await readFile(path)
      const control = (await run('dpkg-deb', ['-f', path])).trimEnd()
      const sha = createHash('sha256').update(bytes).digest('hex')
      stanzas.push(`${control}\nFilename: ./${f}\nSize: ${bytes.length}\nSHA256: ${sha}\n`)
    }
    const packages = stanzas.join('\n')
    await writeFile(join(this.dir, 'Packages'), packages)
    const sha = createHash('sha256').update(packages).digest('hex')
    const release = [
      'Origin: mgmt-t13',
      'Label: mgmt-t13',
      `Date: ${new Date().toUTCString()}`,
      'SHA256:',
      ` ${sha} ${Buffer.byteLength(packages)} Packages`,
      '',
    ]
    await writeFile(join(this.dir, 'Release'), release.join('\n'))
  }
}

/** A mount namespace in which apt and PackageKit see only a test repository. */
export class AptSandbox {
  readonly #ns: Namespace | undefined

  private constructor(
    readonly dir: string,
    readonly repo: AptRepo,
    ns: Namespace | undefined,
  ) {
    this.#ns = ns
  }

  /** The namespace's `/etc/apt/sources.list.d` as seen from the host. */
  get sourcesDir(): string {
    return join(this.dir, 'etc-apt/sources.list.d')
  }

  /** apt's transaction log inside (one `Start-Date:` per transaction). */
  get historyLog(): string {
    return join(this.dir, 'log-apt/history.log')
  }

  /** Where a private system bus and PackageKit keep their files. */
  get busDir(): string {
    return join(this.dir, 'bus')
  }

  /**
   * A sandbox whose repository holds `packages`. With `listed: false` the repository is not in
   * apt's sources yet (a graph adds it).
   */
  static async start(packages: readonly DebSpec[], opts: { listed?: boolean } = {}): Promise<AptSandbox> {
    const dir = await mkdtemp(join(tmpdir(), 'mgmt-t13-apt-'))
    // Daemons that drop privileges (polkitd) reach the bus socket below this directory.
    await chmod(dir, 0o755)
    const repo = await AptRepo.create(dir)
    for (const p of packages) await repo.add(p)
    await repo.index()
    const d = {
      etcApt: join(dir, 'etc-apt'),
      varLibApt: join(dir, 'var-lib-apt'),
      cacheApt: join(dir, 'cache-apt'),
      logApt: join(dir, 'log-apt'),
      dpkgLog: join(dir, 'dpkg.log'),
      pkLib: join(dir, 'pk-lib'),
      pkCache: join(dir, 'pk-cache'),
    }
    await cp('/etc/apt', d.etcApt, { recursive: true })
    await rm(join(d.etcApt, 'sources.list'), { force: true })
    await rm(join(d.etcApt, 'sources.list.d'), { recursive: true, force: true })
    await mkdir(join(d.etcApt, 'sources.list.d'))
    if (opts.listed ?? true) await writeFile(join(d.etcApt, 'sources.list.d/mgmt-t13.list'), repo.sourcesLine)
    await mkdir(join(d.varLibApt, 'lists/partial'), { recursive: true })
    await copyFile('/var/lib/apt/extended_states', join(d.varLibApt, 'extended_states')).catch(() => {})
    await mkdir(join(d.cacheApt, 'archives/partial'), { recursive: true })
    for (const x of [d.logApt, d.pkLib, d.pkCache, join(dir, 'bus')]) await mkdir(x, { recursive: true })
    await chmod(join(dir, 'bus'), 0o755)
    await writeFile(d.dpkgLog, '')
    const binds: [string, string][] = [
      [d.etcApt, '/etc/apt'],
      [d.varLibApt, '/var/lib/apt'],
      [d.cacheApt, '/var/cache/apt'],
      [d.logApt, '/var/log/apt'],
      [d.dpkgLog, '/var/log/dpkg.log'],
      [d.pkLib, '/var/lib/PackageKit'],
      [d.pkCache, '/var/cache/PackageKit'],
    ]
    const setup = [
      ...binds.filter(([, to]) => to.includes('PackageKit')).map(([, to]) => `mkdir -p ${to}`),
      ...binds.map(([from, to]) => `[ ! -e '${to}' ] || mount --bind '${from}' '${to}'`),
    ]
    let ns: Namespace | undefined
    try {
      ns = await Namespace.start({ dir, setup })
    } catch (e) {
      await new AptSandbox(dir, repo, undefined).stop()
      throw e
    }
    const box = new AptSandbox(dir, repo, ns)
    return box
  }

  /** `nsenter` arguments that run a command in the sandbox. */
  get prefix(): string[] {
    return this.#ns!.prefix
  }

  /** Runs a command in the sandbox; its stdout. */
  run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
    return this.#ns!.run(cmd, args, env)
  }

  /** Starts a daemon in the sandbox. */
  spawn(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Daemon {
    return this.#ns!.spawn(cmd, args, env)
  }

  /** The installed version of `name`, or undefined. */
  async installed(name: string): Promise<string | undefined> {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
    const r = await runStatus('dpkg-query', ['-W', '-f=${db:Status-Abbrev} ${Version}', name])
    return r.code === 0 && r.stdout.startsWith('ii') ? r.stdout.slice(4).trim() : undefined
  }

  /** How many apt transactions changed packages in the sandbox. */
  async transactions(): Promise<number> {
    const log = await readFile(this.historyLog, 'utf8').catch(() => '')
    return log.split('\n').filter(l => l.startsWith('Start-Date:')).length
  }

  /** Purges the repository's packages from the machine, ends the namespace, removes its files. */
  async stop(): Promise<void> {
    const names = await this.repo.names().catch(() => [] as string[])
    const present: string[] = []
    for (const n of names) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
      const r = await runStatus('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', n])
      if (r.code === 0 && !r.stdout.startsWith('un')) present.push(n)
    }
    if (present.length) await run('dpkg', ['--purge', ...present])
    await this.#ns?.stop()
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 })
  }
}
