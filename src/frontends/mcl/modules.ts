/**
 * Reading programs from disk. The entry is a file (`main.mcl`) or a module directory (its
 * `metadata.yaml` names the main file, default `main.mcl`, and the files directory, default
 * `files/`). Imports bring in local files (`dir/foo.mcl`, same module) and local module
 * directories (`mod1/`, a new module with its own metadata). Each file is read, parsed, checked
 * and interpolated once; every path read is remembered, so that a watcher can follow them all.
 */
import { statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { readTextFile, TextFileError } from '../../util/textfile.js'
import type { Program, Stmt } from './ast.js'
import { LangError } from './errors.js'
import type { ModuleInfo } from './funcs/builtin.js'
import { parse } from './parser/parser.js'
import { initChecks, interpolate } from './passes.js'
import { pointSpan, SourceFile } from './source.js'

/** One parsed file. */
export interface Unit {
  readonly file: SourceFile
  readonly program: Program
  readonly module: ModuleInfo
}

interface Metadata {
  readonly main: string
  readonly files: string
  readonly path?: string
  readonly parentPathBlock: boolean
}

export interface LoaderOptions {
  /**
   * Name files by their path inside the deploy (`/main.mcl`) rather than on disk, as the
   * original's tests do.
   */
  readonly deployPaths?: boolean
  /** Where to record the files read (a fresh set by default). */
  readonly read?: Set<string>
}

export class Loader {
  /** Every file read (or looked for), for watching. */
  readonly read: Set<string>
  readonly #units = new Map<string, Unit>()

  constructor(
    /** The deploy's root directory on disk. */
    readonly root: string,
    private readonly opts: LoaderOptions = {},
  ) {
    this.read = opts.read ?? new Set()
  }

  /** The display path of a file on disk. */
  display(path: string): string {
    return this.opts.deployPaths ? `/${relative(this.root, path)}` : path
  }

  /** Does a directory or file exist (and is remembered for watching)? */
  exists(path: string): boolean {
    this.read.add(path)
    try {
      statSync(path)
      return true
    } catch {
      return false
    }
  }

  /** The file's text, or why it cannot be read (a FIFO or a device is refused, not waited on). */
  private readText(path: string): string | TextFileError {
    this.read.add(path)
    try {
      return readTextFile(path)
    } catch (err) {
      if (err instanceof TextFileError) return err
      throw err
    }
  }

  private metadata(dir: string): Metadata {
    const file = join(dir, 'metadata.yaml')
    const text = this.readText(file)
    if (text instanceof TextFileError) {
      if (text.code === 'ENOENT' || text.code === 'ENOTDIR')
        return { main: 'main.mcl', files: 'files/', parentPathBlock: false }
      throw new LangError('scope', `cannot read ${this.display(file)}: ${text.message}`)
    }
    let raw: unknown
    try {
      raw = parseYaml(text)
    } catch (err) {
      throw metadataError(new SourceFile(this.display(file), text), err)
    }
    const m = (raw ?? {}) as Record<string, unknown>
    const str = (k: string, d: string): string =>
      typeof m[k] === 'string' && m[k] !== '' ? (m[k] as string) : d
    return {
      main: str('main', 'main.mcl'),
      files: str('files', 'files/'),
      path: typeof m.path === 'string' && m.path !== '' ? m.path : undefined,
      parentPathBlock: m.parentpathblock === true,
    }
  }

  /**
   * The module rooted at `dir`, `base` being its path inside the deploy. Remote modules are
   * searched in its metadata's `path`, else in its importer's (`parent`) unless `parentpathblock`.
   */
  moduleAt(dir: string, base: string, parent?: ModuleInfo): { info: ModuleInfo; main: string } {
    const meta = this.metadata(dir)
    const main = join(dir, meta.main)
    const modules = [
      ...(meta.path ? [join(dir, meta.path)] : []),
      ...(meta.parentPathBlock ? [] : (parent?.modules ?? [])),
    ]
    // Imports are relative to the main file's directory; deploy files to the module's.
    return {
      info: { dir: dirname(main), base, root: this.root, files: join(dir, meta.files), modules },
      main,
    }
  }

  /** The entry unit: a `.mcl` file, or a module directory. */
  entry(path: string): Unit {
    let isDir = false
    try {
      isDir = statSync(path).isDirectory()
    } catch {}
    if (isDir) {
      const { info, main } = this.moduleAt(resolve(path), '/')
      return this.unit(main, info)
    }
    const dir = dirname(resolve(path))
    return this.unit(resolve(path), { dir, base: '/', root: this.root, files: join(dir, 'files/') })
  }

  /**
   * Reads, parses and prepares the file at `path` of `module`. Throws a `LangError` of stage lex,
   * parse, init or interpolate, or `undefined`-file errors as stage scope.
   */
  unit(path: string, module: ModuleInfo): Unit {
    const hit = this.#units.get(path)
    if (hit) return hit
    const text = this.readText(path)
    if (text instanceof TextFileError)
      throw new LangError('scope', `cannot read ${this.display(path)}: ${text.message}`)
    const file = new SourceFile(this.display(path), text.endsWith('\n') ? text : `${text}\n`)
    const program = parse(file)
    initChecks(program.block)
    interpolate(program.block)
    const unit = { file, program, module }
    this.#units.set(path, unit)
    return unit
  }
}

/** A metadata.yaml that does not parse: located where the YAML parser says, when it says. */
function metadataError(file: SourceFile, err: unknown): LangError {
  const e = err as { message?: unknown; linePos?: { line: number; col: number }[]; pos?: number[] }
  // The parser's message ends with its own position and an excerpt: the span says both.
  const reason = String(e.message ?? err).replace(/ at line \d+, column \d+:[\s\S]*$/, '')
  const at = e.linePos?.[0]
  const spans = at ? [pointSpan(file, { line: at.line, col: at.col, offset: e.pos?.[0] ?? 0 })] : []
  return new LangError('scope', `invalid ${file.path}: ${reason}`, spans)
}

/** What an import string names. */
export type ImportTarget =
  | { readonly t: 'system'; readonly name: string }
  | { readonly t: 'file'; readonly path: string }
  | { readonly t: 'module'; readonly path: string }
  | { readonly t: 'remote'; readonly path: string }

/** Classifies an import string, or says why it is invalid. */
export function importTarget(s: string): ImportTarget | string {
  if (s === '') return 'empty import'
  if (s.startsWith('git://')) {
    const path = s.slice('git://'.length)
    if (
      !path.endsWith('/') ||
      path.split('/').some((p, i, a) => (p === '' && i < a.length - 1) || p === '..')
    )
      return 'a remote module is `git://host/path/`'
    return { t: 'remote', path }
  }
  if (s.includes('://')) return 'only git:// remote modules exist'
  if (s.startsWith('/')) return 'absolute paths are not allowed'
  const parts = s.replace(/\/$/, '').split('/')
  if (parts.some(p => p === '' || p === '.' || p === '..')) return 'the path is not clean'
  if (s.endsWith('.mcl')) return { t: 'file', path: s }
  if (s.endsWith('/')) return { t: 'module', path: s }
  return { t: 'system', name: s }
}

/** The alias an import gets by default: `golang/strings` is `strings`, `mod1/` is `mod1`. */
export function defaultAlias(s: string): string {
  const last = s.replace(/\/$/, '').split('/').pop() ?? ''
  return last
    .replace(/\.mcl$/, '')
    .replace(/^mgmt-/, '')
    .replace(/-/g, '_')
    .toLowerCase()
}

/** The statements an imported file may contain: imports, binds, functions and classes. */
export function unusedStatement(stmts: readonly Stmt[]): Stmt | undefined {
  return stmts.find(s => !['import', 'bind', 'func', 'class'].includes(s.t))
}

/** How the original names a statement in "found stmt" messages: `res(print)`, `include(c)`. */
export function describeStmt(s: Stmt): string {
  switch (s.t) {
    case 'res':
      return `res(${s.kind})`
    case 'include':
      return `include(${s.name})`
    case 'edgestmt':
      return 'edge'
    case 'for':
    case 'forkv':
    case 'if':
    case 'panic':
      return s.t
    default:
      return s.t
  }
}
