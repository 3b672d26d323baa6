/**
 * What an installed package ships, for automatic edges: dpkg's file list of the package, read
 * when the graph is compiled (a package that is not installed yet ships nothing known). Directories
 * keep a trailing `/`, the way `file` resources name them. Also the paths under which a command's
 * program may be shipped, for `exec`.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const DPKG_INFO = '/var/lib/dpkg/info'

const DPKG_ARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  ia32: 'i386',
  arm: 'armhf',
  ppc64: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
}

/** The paths dpkg says `name` installed (directories end with `/`); [] when unknown. */
export function shippedFiles(name: string, infoDir = DPKG_INFO): string[] {
  if (!/^[a-z0-9][a-z0-9+.-]*$/.test(name)) return []
  const arch = DPKG_ARCH[process.arch]
  for (const file of [`${name}.list`, ...(arch ? [`${name}:${arch}.list`] : [])]) {
    let text: string
    try {
      text = readFileSync(join(infoDir, file), 'utf8')
    } catch {
      continue
    }
    return markDirectories(text.split('\n').filter(p => p.startsWith('/') && p !== '/.'))
  }
  return []
}

/** An entry that is the parent of another entry is a directory (dpkg lists both). */
function markDirectories(paths: string[]): string[] {
  const parents = new Set(paths.map(p => p.slice(0, p.lastIndexOf('/'))))
  return paths.map(p => (parents.has(p) ? `${p}/` : p))
}

/** `/usr/bin/x` and `/bin/x` are one file on a merged-/usr system; dpkg may list either. */
export function usrMergeTwins(path: string): string[] {
  const m = /^\/(usr\/)?(s?bin|lib(?:32|64|x32)?)\/(.+)$/.exec(path)
  if (!m) return [path]
  return m[1] ? [path, `/${m[2]}/${m[3]}`] : [path, `/usr/${m[2]}/${m[3]}`]
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Where the program of a command may be: itself when absolute, else in each PATH directory. */
export function programCandidates(program: string, path = DEFAULT_PATH): string[] {
  if (!program) return []
  const found = program.startsWith('/')
    ? [program]
    : program.includes('/')
      ? []
      : path
          .split(':')
          .filter(d => d.startsWith('/'))
          .map(d => join(d, program))
  return [...new Set(found.flatMap(usrMergeTwins))]
}

/** What a file resource at `path` may belong to: the path itself, then its directories up to depth 2. */
export function* shippedCandidates(path: string): Generator<string> {
  yield path
  const parts = path.split('/').filter(Boolean)
  for (let n = parts.length - 1; n >= 2; n--) yield `/${parts.slice(0, n).join('/')}/`
}
