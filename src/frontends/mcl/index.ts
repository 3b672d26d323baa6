/**
 * The `lang` frontend: an mcl program (a `.mcl` file, or a module directory) compiled into a
 * graph, then compiled again whenever one of its files changes, or what it read of the world or of
 * the values `value` resources keep. An invalid edit is logged with its location and the running
 * graph stays.
 */
import { existsSync } from 'node:fs'
import { hostname as osHostname } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { compileGraph } from '../../engine/compile.js'
import type { Compiled } from '../../engine/compiled.js'
import { describeError, formatPath, isMgmtError, MgmtError } from '../../util/errors.js'
import { emptyGraph, type Frontend, type FrontendContext } from '../frontend.js'
import { type CheckedProgram, checkLang, runLang, toGraphSpec } from './compile.js'
import { isLangError, LangError, toMgmtError } from './errors.js'
import type { Host } from './funcs/builtin.js'
import type { LangGraph } from './run/interpret.js'
import { Outside, type ReadSet } from './run/outside.js'
import { watchFiles } from './watch.js'

export interface LangOptions {
  /** This host's name (`$hostname`); the OS hostname by default. */
  readonly hostname?: string
  /** The program's arguments (`os.args()`). */
  readonly args?: readonly string[]
}

/** Rounds of evaluation that may ask the world for more (a key computed from another key's value). */
const MAX_ROUNDS = 8

/** A fault of the compiler itself must not stop a running engine: it is reported like a program's error. */
function located<T>(f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (isLangError(err) || isMgmtError(err)) throw isLangError(err) ? toMgmtError(err) : err
    throw toMgmtError(new LangError('run', `internal error: ${describeError(err)}`))
  }
}

/**
 * Compiles the program at `entry` into the engine's graph: checked once (or `checked` already),
 * then evaluated, again while it asks the world for what was not fetched yet, or for the output of
 * commands that have not run yet (`run/outside.ts`).
 * Every file read goes into `read`.
 */
export async function loadLangGraph(
  entry: string,
  ctx: Pick<FrontendContext, 'registry' | 'compile' | 'log' | 'world' | 'signal'>,
  host: Host,
  read: Set<string>,
  checked?: CheckedProgram,
): Promise<Compiled> {
  const program = checked ?? located(() => checkLang(entry, { registry: ctx.registry, read }))
  const { outside } = host
  let graph: LangGraph | undefined
  let failure: unknown
  for (let round = 1; ; round++) {
    outside?.round()
    try {
      graph = runLang(program, host)
      failure = undefined
    } catch (err) {
      failure = err
    }
    if (!outside?.pending(ctx.world)) break
    if (round === MAX_ROUNDS) {
      ctx.log.warn(
        `the program still asks the world or its commands for more after ${round} evaluations: using what it has`,
      )
      break
    }
    // A run stopped while the world or a command is awaited: nothing is applied.
    if (!(await outside.fetch(ctx.world, ctx.signal))) return emptyGraph(ctx)
  }
  return located(() => {
    if (failure !== undefined) throw failure
    const name = basename(entry).replace(/\.mcl$/, '')
    return compileGraph(toGraphSpec(graph!, name), ctx.registry, ctx.compile)
  })
}

export function langFrontend(input: string, opts: LangOptions = {}): Frontend {
  const entry = resolve(input)
  return async ctx => {
    if (!existsSync(entry))
      throw new MgmtError('ERR_FILE_READ', { file: input, reason: 'no such file or directory' })
    const host: Host = { hostname: opts.hostname ?? osHostname(), args: opts.args ?? [], env: process.env }
    const stateDir = ctx.prefix === undefined ? undefined : join(ctx.prefix, 'engine', 'state')
    const read = new Set<string>()
    let used: ReadSet | undefined
    // The checked program, while its files stay as they are: only the world changed.
    let program: CheckedProgram | undefined
    const load = async (edited = true): Promise<Compiled> => {
      if (edited || !program) {
        read.clear()
        program = undefined
        program = located(() => checkLang(entry, { registry: ctx.registry, read }))
      }
      const outside = new Outside(stateDir)
      const c = await loadLangGraph(entry, ctx, { ...host, outside }, read, program)
      used = outside.used
      for (const w of c.warnings) ctx.log.warn(`${formatPath(w.path)}: ${w.message}`)
      return c
    }
    const first = await load()
    const reads = used!
    // What the world holds changes whatever `--no-watch` says, as for a YAML graph that collects.
    const readsOutside =
      reads.strings.size > 0 || reads.maps.size > 0 || reads.exports || reads.values.size > 0
    if (ctx.signal.aborted || (!ctx.watch && !readsOutside)) return { first }
    const follow = { files: ctx.watch, world: ctx.world, used: () => used! }
    return { first, later: watchFiles(read, first, load, ctx.log, ctx.signal, follow) }
  }
}
