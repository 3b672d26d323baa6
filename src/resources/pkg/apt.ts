/**
 * The apt backend of `pkg`, for machines without PackageKit: dpkg-query says what is installed,
 * `apt-cache policy` what could be, and one `apt-get install` or `apt-get remove` is one
 * transaction. Every command is an argument array (no shell), non-interactive, and waits for the
 * dpkg lock rather than failing on it.
 */
import { execFile } from 'node:child_process'
import type { PkgBackend, PkgChange, PkgState, TxOptions } from './backend.js'

const APT_OPTIONS = [
  '-q',
  '-y',
  '-o',
  'DPkg::Lock::Timeout=120',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
]

/** Runs a tool to its end; rejects with its stderr on a non-zero exit (unless `allowFail`). */
function tool(
  file: string,
  args: readonly string[],
  signal: AbortSignal,
  allowFail = false,
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        signal,
        maxBuffer: 64 << 20,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        if (err && (!allowFail || code === -1)) {
          if (signal.aborted) reject(signal.reason)
          else
            reject(
              new Error(
                `${file} ${args.join(' ')} failed: ${(stderr || err.message).trim().split('\n').slice(-5).join('\n')}`,
              ),
            )
        } else resolve({ stdout, stderr, code })
      },
    )
  })
}

/** `apt-cache policy` output: name → installed and candidate versions. */
export function parsePolicy(text: string): Map<string, { installed?: string; candidate?: string }> {
  const out = new Map<string, { installed?: string; candidate?: string }>()
  let cur: { installed?: string; candidate?: string } | undefined
  for (const line of text.split('\n')) {
    const head = /^(\S+):$/.exec(line)
    if (head) {
      cur = {}
      out.set(head[1]!, cur)
      continue
    }
    const field = /^\s+(Installed|Candidate): (.+)$/.exec(line)
    if (cur && field) {
      const v = field[2]!.trim()
      if (v !== '(none)') cur[field[1] === 'Installed' ? 'installed' : 'candidate'] = v
    }
  }
  return out
}

export class AptBackend implements PkgBackend {
  readonly name = 'apt'

  async query(
    names: readonly string[],
    _opts: TxOptions,
    signal: AbortSignal,
  ): Promise<Map<string, PkgState>> {
    const out = new Map<string, PkgState>(names.map(n => [n, { name: n }]))
    const dpkg = await tool(
      'dpkg-query',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
      ['-W', '-f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n', '--', ...names],
      signal,
      true,
    )
    for (const line of dpkg.stdout.split('\n')) {
      const [name, status, version] = line.split('\t')
      if (name && out.has(name) && status?.[1] === 'i') out.set(name, { name, installed: version })
    }
    const policy = parsePolicy((await tool('apt-cache', ['policy', ...names], signal, true)).stdout)
    for (const [name, p] of policy) {
      const have = out.get(name)
      if (have && p.candidate && p.candidate !== have.installed)
        out.set(name, { ...have, candidate: p.candidate })
    }
    return out
  }

  async refresh(signal: AbortSignal): Promise<void> {
    await tool('apt-get', ['-q', 'update'], signal)
  }

  async apply(changes: readonly PkgChange[], opts: TxOptions, signal: AbortSignal): Promise<void> {
    const flags = [
      ...APT_OPTIONS,
      ...(opts.allowuntrusted ? ['--allow-unauthenticated'] : []),
      ...(opts.allowdowngrade ? ['--allow-downgrades'] : []),
    ]
    const install = changes
      .filter(c => c.action !== 'remove')
      .map(c => (c.version ? `${c.name}=${c.version}` : c.name))
    const remove = changes.filter(c => c.action === 'remove').map(c => c.name)
    if (install.length) await tool('apt-get', [...flags, 'install', ...install], signal)
    if (remove.length) await tool('apt-get', [...flags, 'remove', ...remove], signal)
  }

  /** The dpkg database and apt's lists are watched as files by the resource itself. */
  async watch(): Promise<() => void> {
    return () => {}
  }

  onClose(): () => void {
    return () => {}
  }

  close(): void {}
}
