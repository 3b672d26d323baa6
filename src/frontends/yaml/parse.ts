/**
 * The YAML frontend: mgmt's YAML graph format (`graph`, `comment`, `resources`, `edges`, ...)
 * read into a GraphSpec, compiled, and every problem reported as `file:line:col: key.path: what`.
 *
 * Decoding is in mgmt's two stages: first the document's structure (graph, resources by kind,
 * edges), then each resource's params by its kind's schema (in compileGraph).
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import jsyaml from 'js-yaml'
import type { Document, LineCounter, Node } from 'yaml'
import {
  type Compiled,
  type CompileOptions,
  compileGraph,
  type EdgeSpec,
  GraphInvalid,
  type GraphSpec,
  type ResourceSpec,
} from '../../engine/compile.js'
import type { Registry } from '../../engine/registry.js'
import { describeError, formatPath, type Issue, MgmtError } from '../../util/errors.js'
import { tooCostly } from './limits.js'

/** Top-level keys of the original's format that this version reads but does not act on yet. */
const LATER: Record<string, string> = {
  collect: 'collecting exported resources needs the etcd world; ignored',
  remote: 'remote execution is not available yet; ignored',
  remotes: 'remote execution is not available yet; ignored',
}
const KNOWN_TOP = new Set(['graph', 'comment', 'resources', 'edges', ...Object.keys(LATER)])

export interface YamlGraph extends Compiled {
  /** Located warnings: `file:line:col: path: message`. */
  readonly messages: string[]
}

/** Reads, parses and compiles a YAML graph file. Throws MgmtError (ERR_FILE_READ, ERR_YAML_SYNTAX, ERR_YAML_INVALID). */
export async function loadYamlFile(
  file: string,
  registry: Registry,
  opts: CompileOptions = {},
): Promise<YamlGraph> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new MgmtError('ERR_FILE_READ', { file, reason: describeError(err) }, { cause: err })
  }
  return loadYaml(text, file, registry, opts)
}

/** Problems listed with their location; more are counted in one last line. */
const MAX_LISTED = 100
/**
 * Above this size, problems are listed by key path without a line: locating them takes a second
 * parse that keeps positions, which costs many times the file's size in memory.
 */
const LOCATE_MAX = 8 << 20

/** Parses the document; every failure, a stack exhausted by nesting included, is a located error. */
function parse(text: string, file: string): unknown {
  let root: unknown
  try {
    // The fast parser reads the data; positions are only worked out when a problem needs them.
    root = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, filename: file })
  } catch (err) {
    if (err instanceof jsyaml.YAMLException)
      throw new MgmtError('ERR_YAML_SYNTAX', {
        file,
        line: err.mark.line + 1,
        col: err.mark.column + 1,
        reason: err.reason,
      })
    const reason = err instanceof RangeError ? 'it nests too deeply to be read' : describeError(err)
    throw new MgmtError('ERR_YAML_TOO_LARGE', { file, reason }, { cause: err })
  }
  const costly = tooCostly(root)
  if (costly) throw new MgmtError('ERR_YAML_TOO_LARGE', { file, reason: costly })
  return root
}

export function loadYaml(
  text: string,
  file: string,
  registry: Registry,
  opts: CompileOptions = {},
): YamlGraph {
  const root = parse(text, file)
  let locator: ((path: readonly (string | number)[]) => { line: number; col: number }) | undefined
  const where = (i: Issue): string => {
    const at = i.path.length ? `${formatPath(i.path)}: ` : ''
    if (text.length > LOCATE_MAX) return `${file}: ${at}${i.message}`
    locator ??= positions(text)
    const { line, col } = locator(i.path)
    return `${file}:${line}:${col}: ${at}${i.message}`
  }
  /** The first MAX_LISTED issues, located, then how many more there are. */
  const list = (issues: readonly Issue[]): string[] => {
    const out = issues.slice(0, MAX_LISTED).map(where)
    if (issues.length > MAX_LISTED) out.push(`... and ${issues.length - MAX_LISTED} more problems`)
    return out
  }
  const issues: Issue[] = []
  const warnings: Issue[] = []
  const spec = readSpec(root, issues, warnings)
  if (opts.strict) issues.push(...warnings.splice(0))
  if (issues.length) throw new MgmtError('ERR_YAML_INVALID', { file, problems: list(issues) })
  try {
    const compiled = compileGraph(spec, registry, opts)
    return { ...compiled, messages: list([...warnings, ...compiled.warnings]) }
  } catch (err) {
    if (err instanceof GraphInvalid)
      throw new MgmtError('ERR_YAML_INVALID', {
        file,
        problems: list([
          ...err.issues,
          ...[...warnings, ...err.warnings].map(w => ({ ...w, message: `${w.message} (warning)` })),
        ]),
      })
    throw err
  }
}

/** Where each key path of the document starts, from a second, position-keeping parse. */
function positions(text: string): (path: readonly (string | number)[]) => { line: number; col: number } {
  // Loaded only here: most runs never need a position, and the module takes a while to load.
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml')
  const lines = new yaml.LineCounter()
  const doc = yaml.parseDocument(text, { lineCounter: lines, prettyErrors: false })
  return path => locate(doc, lines, path)
}

/** The deepest node on `path` that exists, as 1-based line and column. */
function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined
    // For a key whose value is missing or empty, point at the parent mapping's key.
    if (node && typeof node === 'object' && 'range' in node && node.range) return lines.linePos(node.range[0])
  }
  return { line: 1, col: 1 }
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function readSpec(root: unknown, issues: Issue[], warnings: Issue[]): GraphSpec {
  const empty: GraphSpec = { name: '', resources: [], edges: [] }
  if (!isObj(root)) {
    issues.push({ path: [], message: 'expected a mapping with `graph`, `resources` and `edges`' })
    return empty
  }
  for (const k of Object.keys(root)) {
    if (k in LATER) warnings.push({ path: [k], message: LATER[k]! })
    else if (!KNOWN_TOP.has(k)) warnings.push({ path: [k], message: 'unknown key' })
  }
  const name = root.graph
  if (typeof name !== 'string' || name === '')
    issues.push({ path: name === undefined ? [] : ['graph'], message: '`graph` must be a non-empty name' })
  return {
    name: String(name ?? ''),
    resources: readResources(root.resources, issues),
    edges: readEdges(root.edges, issues, warnings),
  }
}

function readResources(raw: unknown, issues: Issue[]): ResourceSpec[] {
  if (raw === undefined || raw === null) return []
  if (!isObj(raw)) {
    issues.push({ path: ['resources'], message: 'expected a mapping of kind to a list of resources' })
    return []
  }
  const out: ResourceSpec[] = []
  for (const [kind, list] of Object.entries(raw)) {
    if (list === null) continue
    if (!Array.isArray(list)) {
      issues.push({ path: ['resources', kind], message: 'expected a list of resources' })
      continue
    }
    for (const [i, item] of list.entries()) {
      const at = ['resources', kind, i]
      if (!isObj(item)) {
        issues.push({ path: at, message: 'expected a mapping with a `name` and params' })
        continue
      }
      const { name, meta, ...params } = item
      if ((typeof name !== 'string' && typeof name !== 'number') || name === '') {
        issues.push({
          path: name === undefined ? at : [...at, 'name'],
          message: 'expected a non-empty `name`',
        })
        continue
      }
      if (meta !== undefined && meta !== null && !isObj(meta)) {
        issues.push({ path: [...at, 'meta'], message: 'expected a mapping of metaparams' })
        continue
      }
      out.push({ kind, name: String(name), params, meta: (meta ?? {}) as Obj, origin: at })
    }
  }
  return out
}

function readEdges(raw: unknown, issues: Issue[], warnings: Issue[]): EdgeSpec[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    issues.push({ path: ['edges'], message: 'expected a list of edges' })
    return []
  }
  const out: EdgeSpec[] = []
  for (const [i, e] of raw.entries()) {
    const at = ['edges', i]
    if (!isObj(e)) {
      issues.push({ path: at, message: 'expected a mapping with `name`, `from` and `to`' })
      continue
    }
    const ends = (['from', 'to'] as const).map(end => {
      const v = e[end]
      if (
        !isObj(v) ||
        typeof v.kind !== 'string' ||
        (typeof v.name !== 'string' && typeof v.name !== 'number')
      ) {
        issues.push({
          path: v === undefined ? at : [...at, end],
          message: `\`${end}\` must be a mapping with a \`kind\` and a \`name\``,
        })
        return undefined
      }
      return { kind: v.kind.toLowerCase(), name: String(v.name) }
    })
    if (e.notify !== undefined && typeof e.notify !== 'boolean')
      issues.push({ path: [...at, 'notify'], message: 'expected true or false' })
    for (const k of ['send', 'recv'] as const)
      if (e[k] !== undefined && (typeof e[k] !== 'string' || e[k] === ''))
        issues.push({ path: [...at, k], message: `\`${k}\` must be a key name` })
    for (const k of Object.keys(e))
      if (!['name', 'from', 'to', 'notify', 'send', 'recv'].includes(k))
        warnings.push({
          path: [...at, k],
          message: 'unknown edge key (expected name, from, to, notify, send, recv)',
        })
    const [from, to] = ends
    if (!from || !to) continue
    out.push({
      name: typeof e.name === 'string' ? e.name : `e${i}`,
      from,
      to,
      notify: e.notify === true,
      ...(typeof e.send === 'string' ? { send: e.send } : {}),
      ...(typeof e.recv === 'string' ? { recv: e.recv } : {}),
      origin: at,
    })
  }
  return out
}
