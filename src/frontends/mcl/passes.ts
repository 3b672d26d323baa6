/**
 * The passes between parsing and scoping.
 *
 * - init: per-node checks that need no names: a resource names a field or a `Meta:` param twice,
 *   an unknown `Meta:` param, a map literal with two equal constant keys (or constant keys of
 *   different kinds), a struct literal with a field twice.
 * - interpolate: every string literal's escapes are decoded and its `${name}` parts become
 *   variables, joined by `concat` calls; `class a:b` is moved into the body of class `a`; two
 *   classes of one name in one block are an error.
 */
import type { Block, ClassStmt, Expr, MapLit, Res, Stmt, StrLit } from './ast.js'
import { LangError } from './errors.js'
import { metaParams } from './meta.js'
import { mapBlockExprs, mapExpr } from './walk.js'

/** The init checks, over a whole file. */
export function initChecks(block: Block): void {
  mapBlockExprs(block, e => {
    if (e.t === 'map') checkMap(e)
    else if (e.t === 'struct') {
      const seen = new Set<string>()
      for (const f of e.fields) {
        if (seen.has(f.name))
          throw new LangError('init', `duplicate struct field name of: \`${f.name}\``, [e.span])
        seen.add(f.name)
      }
    }
    return e
  })
  forEachRes(block, checkRes)
  checkLoopImports(block, undefined)
}

/** An import inside a loop body is an error (one import serves every iteration). */
function checkLoopImports(block: Block, loop: Stmt | undefined): void {
  for (const s of block.stmts) {
    if (s.t === 'import' && loop)
      throw new LangError(
        'init',
        `a StmtImport can't be contained inside a Stmt${loop.t === 'for' ? 'For' : 'ForKV'}`,
        [loop.span],
      )
    if (s.t === 'if') {
      checkLoopImports(s.ifTrue, loop)
      if (s.ifFalse) checkLoopImports(s.ifFalse, loop)
    } else if (s.t === 'for' || s.t === 'forkv') checkLoopImports(s.body, loop ?? s)
    else if (s.t === 'class') checkLoopImports(s.body, loop)
  }
}

function forEachRes(block: Block, f: (r: Res) => void): void {
  for (const s of block.stmts) {
    if (s.t === 'res') f(s)
    else if (s.t === 'if') {
      forEachRes(s.ifTrue, f)
      if (s.ifFalse) forEachRes(s.ifFalse, f)
    } else if (s.t === 'for' || s.t === 'forkv' || s.t === 'class') forEachRes(s.body, f)
  }
}

function checkRes(r: Res): void {
  const fields = new Set<string>()
  const metas = new Set<string>()
  for (const item of r.items) {
    if (item.t === 'field') {
      if (fields.has(item.name))
        throw new LangError('init', `resource has duplicate field of: ${item.name}`, [r.span])
      fields.add(item.name)
    } else if (item.t === 'meta' && item.name !== undefined) {
      if (!(item.name in metaParams))
        throw new LangError(
          'init',
          `unknown meta param \`${item.name}\` (known: ${Object.keys(metaParams).join(', ')})`,
          [item.span],
        )
      if (metas.has(item.name))
        throw new LangError('init', `resource has duplicate meta entry of: ${item.name}`, [r.span])
      metas.add(item.name)
    }
  }
}

/** A constant key's kind and text, or undefined when it is not a constant. */
function constKey(e: Expr): [string, string] | undefined {
  switch (e.t) {
    case 'str':
      return ['str', JSON.stringify(e.value)]
    case 'int':
      return ['int', String(e.value)]
    case 'float':
      return ['float', String(e.value)]
    case 'bool':
      return ['bool', String(e.value)]
    default:
      return undefined
  }
}

function checkMap(m: MapLit): void {
  const seen = new Set<string>()
  let kind: string | undefined
  for (const kv of m.entries) {
    const k = constKey(kv.key)
    if (!k) continue
    if (kind !== undefined && kind !== k[0])
      throw new LangError(
        'init',
        `inconsistent map key type: base kind does not match (${kind} != ${k[0]})`,
        [m.span],
      )
    kind = k[0]
    if (seen.has(k[1])) throw new LangError('init', `duplicate map key: ${k[1]}`, [m.span])
    seen.add(k[1])
  }
}

/** The interpolation pass, over a whole file. */
export function interpolate(block: Block): void {
  nestClasses(block)
  mapBlockExprs(block, e => (e.t === 'str' && e.raw ? interpolateString(e) : e))
}

/** Moves `class a:b` into class `a` of the same block; rejects two classes of one name. */
function nestClasses(block: Block): void {
  const byName = new Map<string, ClassStmt>()
  const kept = []
  for (const s of block.stmts) {
    if (s.t !== 'class') {
      kept.push(s)
      continue
    }
    const colon = s.name.indexOf(':')
    if (colon < 0) {
      if (byName.has(s.name))
        throw new LangError('interpolate', `duplicate class name of: \`${s.name}\``, [s.span])
      byName.set(s.name, s)
      kept.push(s)
    } else kept.push(s)
  }
  block.stmts = kept.filter(s => {
    if (s.t !== 'class' || !s.name.includes(':')) return true
    const [outer, ...rest] = s.name.split(':')
    const parent = byName.get(outer!)
    if (!parent)
      throw new LangError('interpolate', `class \`${outer}\` does not exist for nested class \`${s.name}\``, [
        s.span,
      ])
    s.name = rest.join(':')
    parent.body.stmts.push(s)
    return false
  })
  for (const s of block.stmts) {
    if (s.t === 'class') nestClasses(s.body)
    else if (s.t === 'if') {
      nestClasses(s.ifTrue)
      if (s.ifFalse) nestClasses(s.ifFalse)
    } else if (s.t === 'for' || s.t === 'forkv') nestClasses(s.body)
  }
}

const escapes: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  $: '$',
}

const varName = /[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*/y

type Piece = { lit: string } | { name: string }

/** Splits a raw string body into literal text and `${name}` references. Throws an Error. */
export function splitString(raw: string): Piece[] {
  const out: Piece[] = []
  // The literal so far, as the pieces between escapes: a string of megabytes is copied in a few
  // slices, not appended to character by character (which took gigabytes for a 50 MB string).
  const lit: string[] = []
  let from = 0
  const take = (to: number): void => {
    if (to > from) lit.push(raw.slice(from, to))
  }
  const flush = (): void => {
    if (lit.length) out.push({ lit: lit.join('') })
    lit.length = 0
  }
  for (let i = raw.indexOf('\\'), j = raw.indexOf('${'); i >= 0 || j >= 0; ) {
    if (i >= 0 && (j < 0 || i < j)) {
      const n = raw[i + 1]
      if (n === undefined || !(n in escapes)) throw new Error(`unknown escape sequence: \\${n ?? ''}`)
      take(i)
      lit.push(escapes[n]!)
      from = i + 2
    } else {
      varName.lastIndex = j + 2
      const m = varName.exec(raw)
      if (!m || raw[j + 2 + m[0].length] !== '}')
        throw new Error(`cannot parse string: ${raw.length > 60 ? `${raw.slice(0, 57)}...` : raw}`)
      take(j)
      flush()
      out.push({ name: m[0] })
      from = j + 3 + m[0].length
    }
    i = raw.indexOf('\\', from)
    j = raw.indexOf('${', from)
  }
  take(raw.length)
  if (lit.length || !out.length) out.push({ lit: lit.join('') })
  return out
}

function interpolateString(s: StrLit): Expr {
  let pieces: Piece[]
  try {
    pieces = splitString(s.value)
  } catch (err) {
    throw new LangError('interpolate', `parser failed: ${(err as Error).message}`, [s.span])
  }
  const exprs: Expr[] = pieces.map(p =>
    'lit' in p
      ? { t: 'str', span: s.span, value: p.lit }
      : { t: 'var', span: s.span, name: p.name, interpolated: true },
  )
  // Joined as a balanced tree: a string of a thousand pieces is ten levels deep, not a thousand.
  const joined = (from: number, to: number): Expr => {
    if (to - from === 1) return exprs[from]!
    const mid = (from + to) >> 1
    return {
      t: 'call',
      span: s.span,
      callee: { t: 'name', name: 'concat' },
      args: [joined(from, mid), joined(mid, to)],
    }
  }
  return joined(0, exprs.length)
}

/** Decodes every raw string of an expression tree (used for strings outside programs). */
export function interpolateExpr(e: Expr): Expr {
  return mapExpr(e, x => (x.t === 'str' && x.raw ? interpolateString(x) : x))
}
