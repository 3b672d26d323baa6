/**
 * The scale workload: N files spread over directories of 100 (`ROOT/scale/d<d>/f<i>`, content
 * `line for d/i\n`, mode 0644), each directory and `ROOT/scale/` itself a `file` resource with a
 * trailing `/` (mode 0755), and 50 `noop` resources for autogroup to merge. No edges are written:
 * the files get their automatic edges to their directory. Edits replace the content of single
 * files, to measure live changes of the running graph.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DIR_MODE, FILE_MODE } from './workload.js'

export const FILES_PER_DIR = 100
export const NOOPS = 50

/** A resource as the YAML declares it (and as a frontend hands it to the compiler). */
export interface ScaleResource {
  readonly kind: 'file' | 'noop'
  readonly name: string
  readonly params: Readonly<Record<string, string>>
}

/** The content of file `j` after edits: index → new content. */
export type Edits = ReadonlyMap<number, string>

export const dirCount = (n: number): number => Math.ceil(n / FILES_PER_DIR)
const dirName = (j: number): string => `d${Math.floor(j / FILES_PER_DIR)}`
const baseName = (j: number): string => `f${j % FILES_PER_DIR}`
const fileLabel = (j: number): string => `${dirName(j)}/${baseName(j)}`

/** The directory under `root` that holds file `j`, and the file's own name in it. */
export const scaleFile = (root: string, j: number): { dir: string; name: string } => ({
  dir: join(root, dirName(j)),
  name: baseName(j),
})

export const scalePath = (root: string, j: number): string => join(root, fileLabel(j))

export const scaleContent = (j: number, edits: Edits): string => edits.get(j) ?? `line for ${fileLabel(j)}\n`

/** The content edit `k` gives file `j`. */
export const editContent = (k: number, j: number): string => `edit ${k} of ${fileLabel(j)}\n`

/** Every resource of the graph: the top directory, then each directory followed by its files, then the noops. */
export function scaleResources(n: number, root: string, edits: Edits): ScaleResource[] {
  const dir = (name: string, path: string): ScaleResource => ({
    kind: 'file',
    name,
    params: { path: `${path}/`, state: 'exists', mode: '0755' },
  })
  const out: ScaleResource[] = [dir('scale', root)]
  for (let j = 0; j < n; j++) {
    if (j % FILES_PER_DIR === 0) out.push(dir(dirName(j), join(root, dirName(j))))
    out.push({
      kind: 'file',
      name: fileLabel(j),
      params: { path: scalePath(root, j), state: 'exists', content: scaleContent(j, edits), mode: '0644' },
    })
  }
  for (let k = 0; k < NOOPS; k++) out.push({ kind: 'noop', name: `n${k}`, params: {} })
  return out
}

/** The resources as an mgmt YAML graph, grouped by kind. */
export function scaleYaml(resources: readonly ScaleResource[]): string {
  const out = ['---\ngraph: scale\nresources:\n']
  for (const kind of ['file', 'noop'] as const) {
    out.push(`  ${kind}:\n`)
    for (const r of resources) {
      if (r.kind !== kind) continue
      out.push(`  - name: ${JSON.stringify(r.name)}\n`)
      for (const [k, v] of Object.entries(r.params)) out.push(`    ${k}: ${JSON.stringify(v)}\n`)
    }
  }
  out.push('edges: []\n')
  return out.join('')
}

function modeProblem(p: string, dir: boolean): string | undefined {
  const st = statSync(p)
  if (st.isDirectory() !== dir) return `${p}: not a ${dir ? 'directory' : 'regular file'}`
  const mode = st.mode & 0o7777
  const want = dir ? DIR_MODE : FILE_MODE
  return mode === want ? undefined : `${p}: mode ${mode.toString(8)}, want ${want.toString(8)}`
}

/** Why file `j` is not in its wanted state, or undefined when it is. */
export function scaleFileProblem(root: string, j: number, edits: Edits): string | undefined {
  const p = scalePath(root, j)
  try {
    const problem = modeProblem(p, false)
    if (problem) return problem
    const bytes = readFileSync(p, 'utf8')
    return bytes === scaleContent(j, edits) ? undefined : `${p}: content ${JSON.stringify(bytes)}`
  } catch (err) {
    return `${p}: ${(err as Error).message}`
  }
}

/** Throws, listing the first problems, unless every directory and file under `root` is as wanted. */
export function verifyScale(root: string, n: number, edits: Edits, what: string): void {
  const problems: string[] = []
  const check = (f: () => string | undefined): void => {
    if (problems.length >= 5) return
    try {
      const p = f()
      if (p) problems.push(p)
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  check(() => modeProblem(root, true))
  for (let d = 0; d < dirCount(n); d++) check(() => modeProblem(join(root, `d${d}`), true))
  for (let j = 0; j < n; j++) check(() => scaleFileProblem(root, j, edits))
  if (problems.length) throw new Error(`${what} left the scale workload wrong:\n  ${problems.join('\n  ')}`)
}
