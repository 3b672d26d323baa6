/**
 * Errors of the mcl compiler and evaluator. Each names the stage that failed and where: one or
 * more spans (a cycle names every reference in it; an error inside an imported file names that
 * file's position and then the import statement). `LangError` is internal; the frontend turns it
 * into an `MgmtError` whose message shows `file:line:col`, the stage, the source line and a caret.
 */
import { MgmtError } from '../../util/errors.js'
import { byline, highlight, location, type Span } from './source.js'

/**
 * The stages, in the order a program goes through them:
 * lex, parse (text to syntax tree), init (per-node checks), interpolate (strings), scope (names,
 * imports, ordering), type (unification), graph (checks on the typed program), run (evaluation),
 * interpret (values to resources and edges).
 */
export type Stage =
  | 'lex'
  | 'parse'
  | 'init'
  | 'interpolate'
  | 'scope'
  | 'type'
  | 'graph'
  | 'run'
  | 'interpret'

/** The original test suite's tag for each stage (conformance files use them). */
export const stageTags: Readonly<Record<Stage, string>> = {
  lex: 'errLexParse',
  parse: 'errLexParse',
  init: 'errInit',
  interpolate: 'errInterpolate',
  scope: 'errSetScope',
  type: 'errUnify',
  graph: 'errGraph',
  run: 'errStream',
  interpret: 'errInterpret',
}

export class LangError extends Error {
  override readonly name = 'LangError'
  /**
   * @param reason what went wrong, without location.
   * @param spans where, most specific first.
   */
  constructor(
    readonly stage: Stage,
    readonly reason: string,
    readonly spans: readonly Span[] = [],
  ) {
    super(spans.length ? `${reason}: ${spans.map(byline).join(', ')}` : reason)
  }

  /** The same error seen from an import statement: a new reason, the import's span appended. */
  wrap(stage: Stage, prefix: string, at?: Span): LangError {
    return new LangError(stage, `${prefix}: ${this.message}`, at ? [...this.spans, at] : this.spans)
  }
}

export const isLangError = (e: unknown): e is LangError =>
  typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'LangError'

/**
 * A catchable run-time error ("list index out of range", "division by zero"): it flows in place of
 * a value until `<|>` catches it; uncaught, it becomes a `run` error at its origin.
 */
export class Catchable extends Error {
  override readonly name = 'Catchable'
  constructor(
    readonly reason: string,
    readonly span?: Span,
  ) {
    super(reason)
  }

  /** The fatal form, once it reaches a place that needs a value. */
  fatal(fallback?: Span): LangError {
    const at = this.span ?? fallback
    return new LangError('run', this.reason, at ? [at] : [])
  }
}

export const isCatchable = (e: unknown): e is Catchable =>
  typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'Catchable'

/** Error codes of the catalog, by stage. */
const codes = {
  lex: 'ERR_LANG_PARSE',
  parse: 'ERR_LANG_PARSE',
  init: 'ERR_LANG_PARSE',
  interpolate: 'ERR_LANG_PARSE',
  scope: 'ERR_LANG_SCOPE',
  type: 'ERR_LANG_TYPE',
  graph: 'ERR_LANG_TYPE',
  run: 'ERR_LANG_RUN',
  interpret: 'ERR_LANG_INTERPRET',
} as const

/**
 * A user-facing rendering: `file:line:col: STAGE error: REASON`, the source line and a caret, for
 * each span (a multi-span error, such as a cycle, lists every place).
 */
export function formatLangError(e: LangError): string {
  const reason = e.reason.replace(/^(type error|syntax error): /, '')
  if (!e.spans.length) return `${e.stage} error: ${reason}`
  const [first, ...rest] = e.spans
  const parts = [`${location(first!)}: ${e.stage} error: ${reason}`, indent(highlight(first!))]
  for (const s of rest) parts.push(`${location(s)}: (also here)`, indent(highlight(s)))
  return parts.join('\n')
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map(l => `    ${l}`)
    .join('\n')

/**
 * The catalog error for a language error; `details.text` is the rendering above. It has no
 * `cause`: the details say all the LangError does, and a logged cause would repeat the reason
 * with the original's bylines after the rendering.
 */
export function toMgmtError(e: LangError): MgmtError {
  const first = e.spans[0]
  return new MgmtError(codes[e.stage], {
    stage: e.stage,
    file: first?.file.path ?? '',
    line: first?.start.line ?? 0,
    col: first?.start.col ?? 0,
    reason: e.reason,
    text: formatLangError(e),
  })
}
