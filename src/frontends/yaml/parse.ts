/**
 * The YAML frontend: mgmt's YAML graph format (`graph`, `comment`, `resources`, `edges`, ...)
 * read into a GraphSpec, compiled, and every problem reported as `file:line:col: key.path: what`.
 *
 * Decoding is in mgmt's two stages: first the document's structure (graph, resources by kind,
 * edges), then each resource's params by its kind's schema (in compileGraph).
 */
import { close, constants, fstat, open as openFd, read } from 'node:fs'
import { createRequire } from 'node:module'
import { Socket } from 'node:net'
import { dirname, isAbsolute, resolve } from 'node:path'
import { promisify } from 'node:util'
import jsyaml from 'js-yaml'
import type { Document, LineCounter, Node } from 'yaml'
import { compileGraph, GraphInvalid } from '../../engine/compile.js'
import type { Compiled, CompileOptions } from '../../engine/compiled.js'
import type { Registry } from '../../engine/registry.js'
import type { CollectSpec, EdgeSpec, GraphSpec } from '../../engine/spec.js'
import { parseRemoteUrl, type RemoteUrl } from '../../remote/url.js'
import { describeError, errCode, formatPath, type Issue, MgmtError, sysReason } from '../../util/errors.js'
import { didYouMean } from '../../util/suggest.js'
import { BoundedText } from '../../util/textfile.js'
import { expectResources } from '../../util/v8flags.js'
import { tooCostly } from './limits.js'
import { parseByPieces, primePieces } from './pieces.js'
import { isObj, type Obj, type Relative, type Reuse, readResources, reuseOf } from './resources.js'

export { lastParse } from './resources.js'

/** The keys of a remote graph file (`mgmt run --remote FILE`): see src/remote/. */
const REMOTE_KEYS = ['remote', 'hostname', 'remotes']
const KNOWN_TOP = new Set(['graph', 'comment', 'resources', 'edges', 'collect', ...REMOTE_KEYS])

/** What a remote graph file says about its host. */
export interface YamlRemote {
  /** The `remote:` URL as written (it may hold a password: never log it). */
  readonly url: string
  readonly target: RemoteUrl
  /** The host's name in the cluster: `hostname:`, else the URL's host. */
  readonly hostname: string
  /** `remotes:`, the files of the hosts this host runs itself, relative to this file. */
  readonly remotes: readonly string[]
}

export interface YamlGraph extends Compiled {
  /** Located warnings: `file:line:col: path: message`. */
  readonly messages: string[]
  /**
   * The files the graph names by a path relative to its own directory (a file's `source`), as
   * written: they travel with a deploy.
   */
  readonly files: readonly string[]
  /** Set when the file names a host with `remote:`. */
  readonly remote?: YamlRemote
}

/** Reads, parses and compiles a YAML graph file. Throws MgmtError (ERR_FILE_READ, ERR_YAML_SYNTAX, ERR_YAML_INVALID). */
export async function loadYamlFile(
  file: string,
  registry: Registry,
  opts: CompileOptions = {},
): Promise<YamlGraph> {
  return loadYaml(await readGraphFile(file), file, registry, opts)
}

/** The largest graph file read: a graph of 100,000 files takes about 11 MiB. */
export const MAX_GRAPH_BYTES = 64 * 1024 * 1024

/**
 * About the fewest bytes a resource takes in a graph file: a file resource with a path, a mode and
 * a line of content takes 110. Read before the parse, the file's size says how large the graph
 * is (util/v8flags.ts); a graph holding fewer, larger resources is sized again as it runs.
 */
const YAML_BYTES_PER_RESOURCE = 100

const openAsync = promisify(openFd)
const fstatAsync = promisify(fstat)
const readAsync = promisify(read)
const closeAsync = promisify(close)

const TOO_LARGE = `it is larger than ${MAX_GRAPH_BYTES / 1024 / 1024} MiB, the most a graph file may hold`

/**
 * The text of a graph file, in one read of the size it has; ERR_FILE_READ, in the system's words
 * (and its code, `errno`), when it cannot be read. At most MAX_GRAPH_BYTES are read: a file of
 * gigabytes, or `/dev/zero`, is refused before it fills the memory.
 *
 * A pipe (`<(command)`) or a FIFO is read until its writer closes it, through the event loop: a
 * FIFO opens at once, writer or not, and the wait for a writer holds no thread of the pool, which
 * the engine's writes need, and no stop waits for it: `signal` ends it (ERR_FILE_READ).
 */
export async function readGraphFile(file: string, signal?: AbortSignal): Promise<string> {
  const refuse = (reason: string, errno?: string): MgmtError =>
    new MgmtError('ERR_FILE_READ', { file, reason, errno })
  let fd: number
  try {
    fd = await openAsync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw refuse(sysReason(err), errCode(err))
  }
  try {
    let st = await fstatAsync(fd)
    if (st.isFIFO()) {
      const pipe = fd
      fd = -1 // the pipe's reader owns it now
      return await readPipe(pipe, refuse, signal)
    }
    if (st.isDirectory()) throw refuse('it is a directory, not a graph file')
    if (!st.isFile()) {
      // A device (a terminal, /dev/zero) is read as it reads, blocking.
      await closeAsync(fd)
      fd = -1
      fd = await openAsync(file, constants.O_RDONLY)
      st = await fstatAsync(fd)
    }
    if (st.size > MAX_GRAPH_BYTES) throw refuse(TOO_LARGE)
    expectResources(Math.floor(st.size / YAML_BYTES_PER_RESOURCE))
    const text = new BoundedText(st.size, MAX_GRAPH_BYTES)
    for (;;) {
      const chunk = text.room()
      const { bytesRead: n } = await readAsync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      if (!text.keep(chunk, n)) throw refuse(TOO_LARGE)
    }
    return text.text()
  } catch (err) {
    if (err instanceof MgmtError) throw err
    throw refuse(sysReason(err), errCode(err))
  } finally {
    if (fd >= 0) await closeAsync(fd).catch(() => {})
  }
}

/** What is written to the pipe `fd` until its writer closes it; the pipe is closed either way. */
function readPipe(
  fd: number,
  refuse: (reason: string, errno?: string) => MgmtError,
  signal: AbortSignal | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const pipe = new Socket({ fd, readable: true, writable: false })
    const text = new BoundedText(0, MAX_GRAPH_BYTES)
    let ended = false
    const end = (err?: MgmtError): void => {
      if (ended) return
      ended = true
      signal?.removeEventListener('abort', onAbort)
      pipe.destroy()
      if (err) reject(err)
      else resolve(text.text())
    }
    const onAbort = (): void => end(refuse('stopped before its writer closed it'))
    pipe.on('data', (chunk: Buffer) => {
      if (!text.keep(chunk, chunk.length)) end(refuse(TOO_LARGE))
    })
    pipe.on('end', () => end())
    pipe.on('error', err => end(refuse(sysReason(err), errCode(err))))
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Problems listed with their location; more are counted in one last line. */
const MAX_LISTED = 100
/**
 * Above this size, problems are listed by key path without a line: locating them takes a second
 * parse that keeps positions, which costs many times the file's size in memory.
 */
const LOCATE_MAX = 8 << 20

/** Parses the document; every failure, a stack exhausted by nesting included, is a located error. */
function parse(text: string, file: string, reuse?: Reuse): unknown {
  // Item by item when that provably reads the same; the whole text otherwise (and for errors). A
  // first load has nothing to reuse: it parses the whole text once, and keeps its items for the
  // next (primePieces).
  if (reuse?.pieces.seen) {
    const root = parseByPieces(text, reuse.pieces)
    if (root !== undefined) return root
  }
  let root: unknown
  try {
    // The fast parser reads the data; positions are only worked out when a problem needs them.
    root = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, filename: file })
  } catch (err) {
    if (err instanceof jsyaml.YAMLException)
      throw new MgmtError('ERR_YAML_SYNTAX', { file, ...syntaxAt(text, err) })
    const reason = err instanceof RangeError ? 'it nests too deeply to be read' : describeError(err)
    throw new MgmtError('ERR_YAML_TOO_LARGE', { file, reason }, { cause: err })
  }
  // Kept item by item for the next parse, its costs checked as their sum; else checked whole.
  const primed = reuse ? primePieces(text, root, reuse.pieces) : undefined
  if (primed !== undefined) return primed
  const costly = tooCostly(root, text)
  if (costly) throw new MgmtError('ERR_YAML_TOO_LARGE', { file, reason: costly })
  return root
}

/**
 * Where a syntax error is, in words: the parser's position, except for a quoted string left open,
 * which the parser notices only at the end of the file: then the line where the string starts.
 */
function syntaxAt(text: string, err: jsyaml.YAMLException): { line: number; col: number; reason: string } {
  // js-yaml gives no position for a second document (`---`): the other parser finds where it starts.
  if (!err.mark)
    return {
      ...secondDocument(text),
      reason: 'a graph file holds one YAML document; a second one starts here',
    }
  const quote = /within a (double|single) quoted scalar/.exec(err.reason)
  if (quote) {
    const q = quote[1] === 'double' ? '"' : "'"
    // Inside the open string every quote of its kind is escaped (`\"`) or doubled (`''`): the last
    // lone one is where it starts.
    for (let i = Math.min(err.mark.position, text.length) - 1; i >= 0; i--) {
      if (text[i] !== q) continue
      if (q === '"' ? text[i - 1] === '\\' : text[i - 1] === q || text[i + 1] === q) continue
      const before = text.slice(0, i)
      const line = before.split('\n').length
      return {
        line,
        col: i - before.lastIndexOf('\n'),
        reason: `a ${quote[1]}-quoted string starts here and is never closed`,
      }
    }
  }
  return { line: err.mark.line + 1, col: err.mark.column + 1, reason: err.reason }
}

export function loadYaml(
  text: string,
  file: string,
  registry: Registry,
  opts: CompileOptions = {},
): YamlGraph {
  const reuse = reuseOf(opts.cache)
  const root = parse(text, file, reuse)
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
  const files: string[] = []
  const spec = readSpec(root, issues, warnings, {
    base: dirname(resolve(file)),
    files,
    lenient: opts.lenient,
    reuse,
  })
  const remote = isObj(root) ? readRemote(root, issues, warnings) : undefined
  // The resources are compiled even when the document's structure has problems (a bad edge), so
  // that one round reports every problem of the file.
  let compiled: Compiled | undefined
  try {
    compiled = compileGraph(spec, registry, opts)
  } catch (err) {
    if (!(err instanceof GraphInvalid)) throw err
    issues.push(...err.issues)
    warnings.push(...err.warnings)
  }
  if (issues.length || !compiled) {
    const all = [...issues, ...warnings.map(w => ({ ...w, message: `${w.message} (warning)` }))]
    throw new MgmtError('ERR_YAML_INVALID', { file, problems: list(all), located: locate(all) })
  }
  return {
    ...compiled,
    messages: list([...warnings, ...compiled.warnings]),
    files,
    ...(remote ? { remote } : {}),
  }

  /** The first MAX_LISTED issues with their line and column, for structured logs. */
  function locate(all: readonly Issue[]): LocatedProblem[] {
    return all.slice(0, MAX_LISTED).map(i => {
      locator ??= text.length > LOCATE_MAX ? undefined : positions(text)
      const at = locator?.(i.path)
      return { file, ...(at ?? {}), path: formatPath(i.path), message: i.message }
    })
  }
}

/** One problem of an invalid graph file, for structured (JSON) logs. */
export interface LocatedProblem {
  readonly file: string
  readonly line?: number
  readonly col?: number
  /** The key path, `resources.file[0].mode`. */
  readonly path: string
  readonly message: string
}

/** Where each key path of the document starts, from a second, position-keeping parse. */
function positions(text: string): (path: readonly (string | number)[]) => { line: number; col: number } {
  const yaml = yamlModule()
  const lines = new yaml.LineCounter()
  const doc = yaml.parseDocument(text, { lineCounter: lines, prettyErrors: false })
  return path => locate(doc, lines, path)
}

/** The `yaml` package, loaded only when a position is needed: most runs never need one, and it takes a while to load. */
const yamlModule = (): typeof import('yaml') =>
  createRequire(import.meta.url)('yaml') as typeof import('yaml')

/** Where the text's second YAML document starts (its first line when there is none). */
function secondDocument(text: string): { line: number; col: number } {
  const yaml = yamlModule()
  const lines = new yaml.LineCounter()
  const second = yaml.parseAllDocuments(text, { lineCounter: lines, prettyErrors: false })
  const start = Array.isArray(second) ? second[1]?.range[0] : undefined
  return start === undefined ? { line: 1, col: 1 } : lines.linePos(start)
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
    if (node && typeof node === 'object' && 'range' in node && node.range) {
      const at = lines.linePos(node.range[0])
      // A block mapping or list under a key starts on a later line: the key's line is the one to show.
      const key = n > 0 ? keyOf(doc, lines, path.slice(0, n)) : undefined
      return key && key.line < at.line ? key : at
    }
  }
  return { line: 1, col: 1 }
}

/** Where the key of the value at `path` is, when that value is a mapping's entry. */
function keyOf(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
): { line: number; col: number } | undefined {
  const parent = doc.getIn(path.slice(0, -1), true) as Node | undefined
  const items = (parent as { items?: unknown[] } | undefined)?.items
  if (!items) return undefined
  for (const item of items) {
    const k = (item as { key?: { value?: unknown; range?: [number, number, number] } }).key
    if (k?.range && k.value === path.at(-1)) return lines.linePos(k.range[0])
  }
  return undefined
}

/** An unknown key: an error with the closest known key as a hint, or a warning when lenient. */
function unknownKey(
  path: (string | number)[],
  known: Iterable<string>,
  what: string,
  lenient: boolean | undefined,
  issues: Issue[],
  warnings: Issue[],
): void {
  const key = String(path.at(-1))
  ;(lenient ? warnings : issues).push({ path, message: `unknown ${what}${didYouMean(key, known)}` })
}

function readSpec(root: unknown, issues: Issue[], warnings: Issue[], rel: Relative): GraphSpec {
  const empty: GraphSpec = { name: '', resources: [], edges: [] }
  if (!isObj(root)) {
    issues.push({ path: [], message: 'expected a mapping with `graph`, `resources` and `edges`' })
    return empty
  }
  const unknown = Object.keys(root).filter(k => !KNOWN_TOP.has(k))
  for (const k of unknown) unknownKey([k], KNOWN_TOP, 'key', rel.lenient, issues, warnings)
  const name = root.graph
  if (typeof name !== 'string' || name === '')
    issues.push({ path: name === undefined ? [] : ['graph'], message: '`graph` must be a non-empty name' })
  const resources = readResources(root.resources, issues, rel)
  // Lenient or not, a graph left empty by a misspelt key is a mistake, not a wish to manage nothing.
  if (rel.lenient && unknown.length && resources.length === 0 && root.resources === undefined)
    issues.push({
      path: [unknown[0]!],
      message: `the graph has no resources, and \`${unknown[0]}\` is not a key${didYouMean(unknown[0]!, KNOWN_TOP)}`,
    })
  return {
    name: String(name ?? ''),
    resources,
    edges: readEdges(root.edges, issues, warnings, rel),
    collect: readCollect(root.collect, issues, warnings, rel.lenient),
  }
}

/** `remote`, `hostname` and `remotes`: the host a remote graph file is for, and its children. */
function readRemote(root: Obj, issues: Issue[], warnings: Issue[]): YamlRemote | undefined {
  const { remote: url, hostname, remotes } = root
  if (url === undefined || url === null) {
    for (const k of ['hostname', 'remotes'])
      if (root[k] !== undefined)
        warnings.push({
          path: [k],
          message: `\`${k}\` is only read in a remote graph file, one with \`remote:\``,
        })
    return undefined
  }
  const before = issues.length
  let target: RemoteUrl | undefined
  if (typeof url !== 'string')
    issues.push({ path: ['remote'], message: 'expected ssh://user[:password]@host[:port]' })
  else
    try {
      target = parseRemoteUrl(url)
    } catch (err) {
      issues.push({ path: ['remote'], message: (err as Error).message })
    }
  if (
    hostname !== undefined &&
    (typeof hostname !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(hostname))
  )
    issues.push({ path: ['hostname'], message: 'expected a host name (letters, digits, `.`, `_`, `-`)' })
  const children: string[] = []
  if (remotes !== undefined && remotes !== null) {
    if (!Array.isArray(remotes)) issues.push({ path: ['remotes'], message: 'expected a list of graph files' })
    else
      for (const [i, f] of remotes.entries()) {
        if (typeof f !== 'string' || f === '')
          issues.push({ path: ['remotes', i], message: 'expected a file name' })
        else if (isAbsolute(f))
          issues.push({
            path: ['remotes', i],
            message: 'expected a path relative to this file, so that it travels with it',
          })
        else children.push(f)
      }
  }
  if (issues.length > before || !target) return undefined
  return {
    url: url as string,
    target,
    hostname: (hostname as string | undefined) ?? target.host,
    remotes: children,
  }
}

function readCollect(raw: unknown, issues: Issue[], warnings: Issue[], lenient?: boolean): CollectSpec[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    issues.push({ path: ['collect'], message: 'expected a list of `{kind, pattern}`' })
    return []
  }
  const out: CollectSpec[] = []
  for (const [i, c] of raw.entries()) {
    const at = ['collect', i]
    if (!isObj(c) || typeof c.kind !== 'string' || c.kind === '') {
      issues.push({ path: at, message: 'expected a mapping with a `kind` (and an optional `pattern`)' })
      continue
    }
    const pattern = c.pattern ?? ''
    if (typeof pattern !== 'string' || (pattern !== '' && !pattern.startsWith('/'))) {
      issues.push({ path: [...at, 'pattern'], message: 'expected an absolute directory, or nothing' })
      continue
    }
    for (const k of Object.keys(c))
      if (k !== 'kind' && k !== 'pattern')
        unknownKey([...at, k], COLLECT_KEYS, 'collect key', lenient, issues, warnings)
    out.push({ kind: c.kind.toLowerCase(), ...(pattern ? { pattern } : {}), origin: at })
  }
  return out
}

const COLLECT_KEYS = ['kind', 'pattern']
const EDGE_KEYS = ['name', 'from', 'to', 'notify', 'send', 'recv']

function readEdges(raw: unknown, issues: Issue[], warnings: Issue[], rel: Relative): EdgeSpec[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    issues.push({ path: ['edges'], message: 'expected a list of edges' })
    return []
  }
  // The very same list as last time (an edit elsewhere keeps it): the very same edges.
  const last = rel.reuse?.edgesRead
  if (last?.raw === raw) return last.edges
  const out: EdgeSpec[] = []
  const problems = issues.length + warnings.length
  for (const [i, e] of raw.entries()) {
    const known = isObj(e) ? rel.reuse?.edges.get(e) : undefined
    if (known?.index === i) {
      out.push(known.edge)
      continue
    }
    const before = issues.length + warnings.length
    const edge = readEdge(e, i, issues, warnings, rel.lenient)
    if (!edge) continue
    out.push(edge)
    // Only an edge read without a problem is kept: a problem is reported at every load.
    if (rel.reuse && isObj(e) && issues.length + warnings.length === before)
      rel.reuse.edges.set(e, { index: i, edge })
  }
  if (rel.reuse)
    rel.reuse.edgesRead = issues.length + warnings.length === problems ? { raw, edges: out } : undefined
  return out
}

/** One edge of the list. */
function readEdge(
  e: unknown,
  i: number,
  issues: Issue[],
  warnings: Issue[],
  lenient: boolean | undefined,
): EdgeSpec | undefined {
  const at = ['edges', i]
  if (!isObj(e)) {
    issues.push({ path: at, message: 'expected a mapping with `name`, `from` and `to`' })
    return undefined
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
    if (!EDGE_KEYS.includes(k)) unknownKey([...at, k], EDGE_KEYS, 'edge key', lenient, issues, warnings)
  const [from, to] = ends
  if (!from || !to) return undefined
  return {
    name: typeof e.name === 'string' ? e.name : `e${i}`,
    from,
    to,
    notify: e.notify === true,
    ...(typeof e.send === 'string' ? { send: e.send } : {}),
    ...(typeof e.recv === 'string' ? { recv: e.recv } : {}),
    origin: at,
  }
}
