/**
 * The peer workload: a directory `ROOT/<tool>/` (mode 0755) holding N files `f0..f{N-1}`, each with
 * the content `line for i\n` and mode 0644. Written as an mgmt YAML graph and as CFEngine promises,
 * byte for byte as the shared generator `bench-peers/gen.py` writes them.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const DIR_MODE = 0o755
export const FILE_MODE = 0o644

export interface Workload {
  readonly n: number
  /** The mgmt graph. */
  readonly mgmtYaml: string
  /** The CFEngine policy. */
  readonly cfPolicy: string
  /** The directory mgmt manages. */
  readonly mgmtDir: string
  /** The directory cf-agent manages. */
  readonly cfDir: string
}

export const fileName = (i: number): string => `f${i}`
export const fileContent = (i: number): string => `line for ${i}\n`

export function mgmtYaml(n: number, root: string): string {
  const out = [`---\ngraph: bench${n}\nresources:\n  file:\n`]
  out.push(`  - name: dir\n    path: "${root}/mgmt/"\n    state: exists\n    mode: "0755"\n`)
  for (let i = 0; i < n; i++)
    out.push(
      `  - name: f${i}\n    path: "${root}/mgmt/f${i}"\n    state: exists\n` +
        `    content: "line for ${i}\\n"\n    mode: "0644"\n`,
    )
  out.push('edges: []\n')
  return out.join('')
}

export function cfPolicy(n: number, root: string): string {
  const out = [
    'body common control { bundlesequence => { "main" }; }\n',
    'body perms m(mode) { mode => "$(mode)"; rxdirs => "false"; }\n',
    'bundle agent main {\n files:\n',
    `  "${root}/cfengine/." create => "true", perms => m("0755");\n`,
  ]
  for (let i = 0; i < n; i++)
    out.push(
      `  "${root}/cfengine/f${i}" create => "true", content => "line for ${i}$(const.n)", perms => m("0644");\n`,
    )
  out.push('}\n')
  return out.join('')
}

/** The Puppet manifest (`pup.pp`), as `bench-peers/gen.py` writes it; `edits` replace some files' content. */
export function puppetManifest(
  n: number,
  root: string,
  edits: ReadonlyMap<number, string> = new Map(),
): string {
  const out = [`file { '${root}/puppet': ensure => directory, mode => '0755' }\n`]
  for (let i = 0; i < n; i++) {
    const content = JSON.stringify(edits.get(i) ?? fileContent(i))
    out.push(`file { '${root}/puppet/f${i}': ensure => file, content => ${content}, mode => '0644' }\n`)
  }
  return out.join('')
}

/** Writes `mgmt.yaml` and `cf.cf` into `outDir` and makes `root`; returns the paths. */
export function writeWorkload(
  n: number,
  outDir: string,
  root: string,
): Workload & { readonly yamlPath: string; readonly cfPath: string } {
  const r = root.replace(/\/+$/, '')
  const w: Workload = {
    n,
    mgmtYaml: mgmtYaml(n, r),
    cfPolicy: cfPolicy(n, r),
    mgmtDir: join(r, 'mgmt'),
    cfDir: join(r, 'cfengine'),
  }
  mkdirSync(outDir, { recursive: true })
  mkdirSync(r, { recursive: true })
  const yamlPath = join(outDir, 'mgmt.yaml')
  const cfPath = join(outDir, 'cf.cf')
  writeFileSync(yamlPath, w.mgmtYaml)
  writeFileSync(cfPath, w.cfPolicy, { mode: 0o600 })
  return { ...w, yamlPath, cfPath }
}

/** Why file `i` of `dir` is not in its wanted state, or undefined when it is. */
export function fileProblem(dir: string, i: number): string | undefined {
  const p = join(dir, fileName(i))
  try {
    const st = statSync(p)
    if (!st.isFile()) return `${p}: not a regular file`
    const mode = st.mode & 0o7777
    if (mode !== FILE_MODE) return `${p}: mode ${mode.toString(8)}, want 644`
    const bytes = readFileSync(p, 'utf8')
    if (bytes !== fileContent(i)) return `${p}: content ${JSON.stringify(bytes)}`
    return undefined
  } catch (err) {
    return `${p}: ${(err as Error).message}`
  }
}

/** Throws, listing the first problems, unless `dir` and its N files are all as wanted. */
export function verifyTree(dir: string, n: number, what: string): void {
  const problems: string[] = []
  try {
    const st = statSync(dir)
    const mode = st.mode & 0o7777
    if (!st.isDirectory()) problems.push(`${dir}: not a directory`)
    else if (mode !== DIR_MODE) problems.push(`${dir}: mode ${mode.toString(8)}, want 755`)
  } catch (err) {
    problems.push(`${dir}: ${(err as Error).message}`)
  }
  for (let i = 0; i < n && problems.length < 5; i++) {
    const p = fileProblem(dir, i)
    if (p) problems.push(p)
  }
  if (problems.length) throw new Error(`${what} left the workload wrong:\n  ${problems.join('\n  ')}`)
}
