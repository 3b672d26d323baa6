/**
 * The `lang` frontend: an mcl program (a `.mcl` file, or a module directory) compiled into a
 * graph, then compiled again whenever one of its files changes. An invalid edit is logged with
 * its location and the running graph stays.
 */
import { existsSync } from 'node:fs'
import { hostname as osHostname } from 'node:os'
import { basename, resolve } from 'node:path'
import { type Compiled, compileGraph } from '../../engine/compile.js'
import { describeError, formatPath, isMgmtError, MgmtError } from '../../util/errors.js'
import type { Frontend, FrontendContext } from '../frontend.js'
import { checkLang, runLang, toGraphSpec } from './compile.js'
import { isLangError, LangError, toMgmtError } from './errors.js'
import type { Host } from './funcs/builtin.js'
import { watchFiles } from './watch.js'

export interface LangOptions {
  /** This host's name (`$hostname`); the OS hostname by default. */
  readonly hostname?: string
  /** The program's arguments (`os.args()`). */
  readonly args?: readonly string[]
}

/** Compiles the program at `entry` into the engine's graph; every file read goes into `read`. */
export function compileLangGraph(
  entry: string,
  ctx: Pick<FrontendContext, 'registry' | 'compile'>,
  host: Host,
  read: Set<string>,
): Compiled {
  try {
    const program = checkLang(entry, { registry: ctx.registry, read })
    const graph = runLang(program, host)
    return compileGraph(toGraphSpec(graph, basename(entry).replace(/\.mcl$/, '')), ctx.registry, ctx.compile)
  } catch (err) {
    if (isLangError(err) || isMgmtError(err)) throw isLangError(err) ? toMgmtError(err) : err
    // A fault of the compiler itself must not stop a running engine: it is reported like a
    // program's error, and the running graph stays.
    throw toMgmtError(new LangError('run', `internal error: ${describeError(err)}`))
  }
}

export function langFrontend(input: string, opts: LangOptions = {}): Frontend {
  const entry = resolve(input)
  return async ctx => {
    if (!existsSync(entry))
      throw new MgmtError('ERR_FILE_READ', { file: input, reason: 'no such file or directory' })
    const host: Host = { hostname: opts.hostname ?? osHostname(), args: opts.args ?? [], env: process.env }
    const read = new Set<string>()
    const load = (): Compiled => {
      read.clear()
      const c = compileLangGraph(entry, ctx, host, read)
      for (const w of c.warnings) ctx.log.warn(`${formatPath(w.path)}: ${w.message}`)
      return c
    }
    const first = load()
    return { first, later: ctx.watch ? watchFiles(read, load, ctx.log, ctx.signal) : undefined }
  }
}
