/**
 * One compile: the manifest (or inline code) through the Puppet child into a catalog, with Puppet's
 * own messages; then the catalog through the translation into a checked graph.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { compileGraph, GraphInvalid } from '../../engine/compile.js'
import type { Compiled, CompileOptions } from '../../engine/compiled.js'
import type { Registry } from '../../engine/registry.js'
import type { GraphSpec } from '../../engine/spec.js'
import { describeError, isMgmtError, MgmtError, sysReason } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { notRegular, readTextFile } from '../../util/textfile.js'
import { type CompileResult, readCompileResult } from './catalog.js'
import { type PuppetChild, PuppetError, type PuppetLog } from './child.js'
import type { PuppetExport } from './exports.js'
import { type Translation, translate } from './translate.js'

/** What to compile: a manifest (a file or a directory of them) or inline code, and fixed facts. */
export interface PuppetSource {
  /** Absolute path of the manifest. */
  readonly manifest?: string
  readonly code?: string
  /** A JSON object of facts, used instead of Facter's. */
  readonly factsFile?: string
}

/** How the source is named in messages. */
export const sourceName = (s: PuppetSource): string => s.manifest ?? '--code'

/** A file's stat (following links); ERR_FILE_READ when it cannot be had. */
async function statOf(file: string) {
  try {
    return await stat(file)
  } catch (err) {
    throw new MgmtError('ERR_FILE_READ', { file, reason: sysReason(err) })
  }
}

/** Throws ERR_FILE_READ unless `file` is a regular file: a FIFO would be waited on forever. */
async function regularFile(file: string): Promise<void> {
  const irregular = notRegular(await statOf(file))
  if (irregular) throw new MgmtError('ERR_FILE_READ', { file, reason: irregular })
}

/** The facts file: a regular file holding a JSON object, read up to the bound of any text. */
function readFacts(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readTextFile(file)
  } catch (err) {
    throw new MgmtError('ERR_FILE_READ', { file, reason: describeError(err) })
  }
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new MgmtError('ERR_FILE_READ', { file, reason: `not JSON: ${describeError(err)}` }, { cause: err })
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new MgmtError('ERR_FILE_READ', { file, reason: 'facts must be a JSON object' })
  return v as Record<string, unknown>
}

/**
 * Throws ERR_FILE_READ unless the manifest is a regular file, or a directory whose `.pp` files
 * (at any depth) are: Puppet would wait forever on a FIFO, and read /dev/zero until memory runs
 * out. Says whether it is a directory.
 */
export async function checkManifest(path: string): Promise<boolean> {
  const st = await statOf(path)
  if (st.isFile()) return false
  if (!st.isDirectory()) throw new MgmtError('ERR_FILE_READ', { file: path, reason: notRegular(st)! })
  const dirs = [path]
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop())
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = join(dir, e.name)
      if (e.isDirectory()) dirs.push(full)
      else if (e.name.endsWith('.pp')) await regularFile(full)
    }
  return true
}

/** `file:line: ` of a Puppet log line (`line N: ` for inline code), or ''. */
const whereOf = (l: PuppetLog): string =>
  l.file ? `${l.file}${l.line ? `:${l.line}` : ''}: ` : l.line ? `line ${l.line}: ` : ''

/** A Puppet log line as mgmt logs it: `file:line: message`. */
export function logPuppet(log: Logger, l: PuppetLog): void {
  const text = `${whereOf(l)}${l.message}`
  if (l.level === 'err' || l.level === 'alert' || l.level === 'emerg' || l.level === 'crit') log.error(text)
  else if (l.level === 'warning') log.warn(text)
  else if (l.level === 'debug') log.debug(text)
  else log.info(text)
}

/** How a catalog is compiled. */
export interface CatalogOptions {
  /** Facter is asked again (else the facts of the child's last compile are used). */
  readonly refreshFacts?: boolean
  /** What other hosts exported, for the manifest's collections (`<<| |>>`). */
  readonly exported?: readonly PuppetExport[]
  /** `--puppet-timeout`: seconds the compile may take before Puppet is stopped; 0: no limit. */
  readonly timeoutS?: number
}

/**
 * Compiles a catalog. Throws ERR_PUPPET_COMPILE with Puppet's message (file and line), or saying
 * that the compile took longer than `timeoutS`; ERR_FILE_READ, ERR_PUPPET_MISSING.
 */
export async function compileCatalog(
  child: PuppetChild,
  source: PuppetSource,
  log: Logger,
  { refreshFacts = false, exported = [], timeoutS = 0 }: CatalogOptions = {},
): Promise<{ result: CompileResult; ms: number }> {
  if (source.manifest) await checkManifest(source.manifest)
  if (child.settings.config) await regularFile(child.settings.config)
  const facts = source.factsFile ? readFacts(source.factsFile) : undefined
  const req = {
    op: 'compile',
    ...(source.manifest ? { manifest: source.manifest } : { code: source.code ?? '' }),
    ...(facts ? { facts } : {}),
    refreshFacts,
    ...(exported.length ? { exported } : {}),
  }
  try {
    const reply = await child.request(req, timeoutS)
    for (const l of reply.logs) logPuppet(log, l)
    return { result: readCompileResult(reply), ms: reply.ms }
  } catch (err) {
    if (isMgmtError(err)) throw err
    let error = describeError(err)
    if (err instanceof PuppetError)
      for (const l of err.logs)
        if (l.level !== 'err') logPuppet(log, l)
        // The errors Puppet gave up after ("Language validation logged 2 errors"), where they are.
        else if (!error.includes(l.message)) error += `\n  ${whereOf(l)}${l.message}`
    throw new MgmtError('ERR_PUPPET_COMPILE', { source: sourceName(source), error }, { cause: err })
  }
}

/** The translation's options from a registry: which kinds exist, with which params. */
export function kindParamsOf(registry: Registry): (kind: string) => ReadonlySet<string> | undefined {
  const cache = new Map<string, ReadonlySet<string>>()
  return kind => {
    if (!registry.has(kind)) return undefined
    let keys = cache.get(kind)
    if (!keys) {
      keys = new Set(Object.keys(registry.get(kind).params.shape))
      cache.set(kind, keys)
    }
    return keys
  }
}

export interface Built {
  readonly compiled: Compiled
  readonly spec: GraphSpec
  readonly warnings: readonly string[]
  readonly secrets: readonly string[]
  /** What each collection collected from other hosts, one line each. */
  readonly collected: readonly string[]
  readonly result: CompileResult
  readonly ms: number
}

/** The translated graph, compiled; what the translation refused is reported with the graph's own problems. */
export function compileTranslation(t: Translation, registry: Registry, opts: CompileOptions = {}): Compiled {
  let compiled: Compiled
  try {
    compiled = compileGraph(t.spec, registry, opts)
  } catch (err) {
    if (!t.issues.length || !(err instanceof GraphInvalid)) throw err
    throw new GraphInvalid([...t.issues, ...err.issues], err.warnings)
  }
  if (t.issues.length) throw new GraphInvalid([...t.issues], compiled.warnings)
  return compiled
}

/** Compile, translate, and check the graph (GraphInvalid names each bad resource by file, line and ref). */
export async function build(
  child: PuppetChild,
  source: PuppetSource,
  registry: Registry,
  opts: {
    compile: CompileOptions
    pollInterval: number
    log: Logger
    catalog?: CatalogOptions
  },
): Promise<Built> {
  const { result, ms } = await compileCatalog(child, source, opts.log, opts.catalog)
  const t = translate(result, { kindParams: kindParamsOf(registry), pollInterval: opts.pollInterval })
  const compiled = compileTranslation(t, registry, opts.compile)
  const { spec, warnings, secrets, collected } = t
  return { compiled, spec, warnings, secrets, collected, result, ms }
}
