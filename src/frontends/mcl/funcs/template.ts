/**
 * `golang.template(text[, vars])`: the part of Go's text/template that mcl programs use. Actions
 * `{{ pipeline }}` with `.Field` lookups (struct fields are addressed capitalised, `.Load.X1`; map
 * keys verbatim), `$var`, literals, function calls (`printf`, `len`, `index`, `eq`... and every
 * monomorphic mcl builtin as `pkg_func`, `golang_strings_join`), pipes, parentheses; `if`/`else`,
 * `range` (with `$k, $v :=`), `with`, and `{{-`/`-}}` trimming. A missing key is an error; values
 * print the Go way (`[1 2 3]`, `map[a:1]`).
 */
import { formatFloat, MAX_STRING, McMap, McStruct, type Value } from '../values.js'

/** A value inside a template: mcl structs become maps keyed by their capitalised field names. */
export type TValue = string | bigint | number | boolean | null | TValue[] | Map<TValue, TValue> | TFunc
export type TFunc = { fn: (args: TValue[]) => TValue }

export class TemplateError extends Error {}

export const toTemplate = (v: Value): TValue => {
  if (Array.isArray(v)) return (v as Value[]).map(toTemplate)
  if (v instanceof McMap) return new Map(v.sorted().map(([k, x]) => [toTemplate(k), toTemplate(x)]))
  if (v instanceof McStruct)
    return new Map([...v.fields].map(([k, x]) => [k.charAt(0).toUpperCase() + k.slice(1), toTemplate(x)]))
  if (typeof v === 'object') return null
  return v as TValue
}

/** Go's `%v` of a template value. */
export function goText(v: TValue): string {
  if (v === null) return '<no value>'
  if (Array.isArray(v)) return `[${v.map(goText).join(' ')}]`
  if (v instanceof Map)
    return `map[${[...v]
      .map(([k, x]) => [goText(k), goText(x)])
      .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
      .map(([k, x]) => `${k}:${x}`)
      .join(' ')}]`
  if (typeof v === 'number') return goFloat(v)

  if (typeof v === 'object') return 'func'
  return String(v)
}

/**
 * Go's `%v` of a float: the shortest digits, in exponent form when the exponent is below -4 or
 * at least 6 (`1e+06`, `1.5e-05`), with a two-digit exponent.
 */
export function goFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const [mant, e] = v.toExponential().split('e') as [string, string]
  const exp = Number(e)
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  return formatFloat(v)
}

const truthy = (v: TValue): boolean =>
  v === null
    ? false
    : Array.isArray(v)
      ? v.length > 0
      : v instanceof Map
        ? v.size > 0
        : typeof v === 'object'
          ? true
          : v !== '' && v !== 0n && v !== 0 && v !== false

// ---- lexing and parsing ----

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe; pos: number }
  | { t: 'if' | 'with'; pipe: Pipe; ifTrue: Node[]; ifFalse: Node[] }
  | { t: 'range'; vars: string[]; pipe: Pipe; body: Node[]; ifFalse: Node[] }

type Cmd = Arg[]
type Pipe = { decl: string[]; cmds: Cmd[] }
type Arg =
  | { t: 'field'; base: 'dot' | string; path: string[] }
  | { t: 'lit'; v: TValue }
  | { t: 'ident'; name: string }
  | { t: 'sub'; pipe: Pipe; path: string[] }

interface Action {
  body: string
  pos: number
}

/** Splits the text into text runs and actions, applying the trim markers. */
function scan(src: string): (string | Action)[] {
  const out: (string | Action)[] = []
  let i = 0
  while (i < src.length) {
    const open = src.indexOf('{{', i)
    if (open < 0) {
      out.push(src.slice(i))
      break
    }
    let text = src.slice(i, open)
    let j = open + 2
    if (src[j] === '-' && /\s/.test(src[j + 1] ?? '')) {
      text = text.replace(/\s+$/, '')
      j++
    }
    out.push(text)
    let close = j
    let inStr: string | undefined
    for (; close < src.length; close++) {
      const c = src[close]
      if (inStr) {
        if (c === '\\') close++
        else if (c === inStr) inStr = undefined
      } else if (c === '"' || c === '`') inStr = c
      else if (src.startsWith('}}', close)) break
    }
    if (close >= src.length) throw new TemplateError('unclosed action')
    let body = src.slice(j, close)
    let next = close + 2
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1)
      const m = /^\s*/.exec(src.slice(next))!
      next += m[0].length
    }
    out.push({ body: body.trim(), pos: open })
    i = next
  }
  return out
}

function tokenize(s: string): string[] {
  const toks: string[] = []
  const re = /\s*(:=|"(?:\\.|[^"\\])*"|`[^`]*`|\(|\)|\||,|[^\s()|,]+)/gy
  for (let m = re.exec(s); m; m = re.exec(s)) toks.push(m[1]!)
  return toks
}

class Parser {
  private i = 0
  constructor(private readonly toks: string[]) {}
  done(): boolean {
    return this.i >= this.toks.length
  }
  pipe(): Pipe {
    let decl: string[] = []
    const save = this.i
    const vars: string[] = []
    while (this.toks[this.i]?.startsWith('$')) {
      vars.push(this.toks[this.i++]!)
      if (this.toks[this.i] === ',') this.i++
      else break
    }
    if (vars.length && this.toks[this.i] === ':=') {
      this.i++
      decl = vars
    } else this.i = save
    const cmds: Cmd[] = [this.cmd()]
    while (this.toks[this.i] === '|') {
      this.i++
      cmds.push(this.cmd())
    }
    return { decl, cmds }
  }
  private cmd(): Cmd {
    const args: Arg[] = []
    while (!this.done() && this.toks[this.i] !== '|' && this.toks[this.i] !== ')') args.push(this.arg())
    if (!args.length) throw new TemplateError('missing value for command')
    return args
  }
  private arg(): Arg {
    const tok = this.toks[this.i++]!
    if (tok === '(') {
      const pipe = this.pipe()
      if (this.toks[this.i++] !== ')') throw new TemplateError('unclosed left paren')
      const path: string[] = []
      while (this.toks[this.i]?.startsWith('.') && this.toks[this.i] !== '.')
        path.push(...this.toks[this.i++]!.slice(1).split('.'))
      return { t: 'sub', pipe, path }
    }
    if (tok.startsWith('"')) return { t: 'lit', v: JSON.parse(tok) as string }
    if (tok.startsWith('`')) return { t: 'lit', v: tok.slice(1, -1) }
    if (tok === 'true' || tok === 'false') return { t: 'lit', v: tok === 'true' }
    if (tok === 'nil') return { t: 'lit', v: null }
    if (/^-?\d+$/.test(tok)) return { t: 'lit', v: BigInt(tok) }
    if (/^-?\d*\.\d+$/.test(tok)) return { t: 'lit', v: Number(tok) }
    if (tok === '.') return { t: 'field', base: 'dot', path: [] }
    if (tok.startsWith('.')) return { t: 'field', base: 'dot', path: tok.slice(1).split('.') }
    if (tok.startsWith('$')) {
      const [name, ...path] = tok.split('.')
      return { t: 'field', base: name!, path }
    }
    return { t: 'ident', name: tok }
  }
}

function parseTemplate(src: string): Node[] {
  const items = scan(src)
  let k = 0
  const block = (ends: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = []
    while (k < items.length) {
      const it = items[k++]!
      if (typeof it === 'string') {
        if (it) nodes.push({ t: 'text', text: it })
        continue
      }
      const word = /^(\w+)/.exec(it.body)?.[1] ?? ''
      if (it.body.startsWith('/*')) continue
      if (ends.includes(word) || (word === 'else' && ends.includes('else'))) {
        k--
        return { nodes, end: word }
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        const pipe = new Parser(tokenize(it.body.slice(word.length))).pipe()
        nodes.push(control(word, pipe))
        continue
      }
      if (word === 'end') throw new TemplateError('unexpected {{end}}')
      const p = new Parser(tokenize(it.body))
      const pipe = p.pipe()
      if (!p.done()) throw new TemplateError(`unexpected token in action: ${it.body}`)
      nodes.push({ t: 'action', pipe, pos: it.pos })
    }
    return { nodes, end: '' }
  }
  /** The rest of an if/with/range whose opening action was read: branches up to the `end`. */
  const control = (word: string, pipe: Pipe): Node => {
    const then = block(['else', 'end'])
    const closing = items[k++] as Action | undefined
    if (!closing) throw new TemplateError(`unexpected EOF in ${word}`)
    let otherwise: Node[] = []
    if (then.end === 'else') {
      const rest = closing.body.slice(4).trim()
      if (/^if\b/.test(rest)) otherwise = [control('if', new Parser(tokenize(rest.slice(2))).pipe())]
      else {
        otherwise = block(['end']).nodes
        if (!items[k++]) throw new TemplateError(`unexpected EOF in ${word}`)
      }
    }
    if (word === 'range')
      return {
        t: 'range',
        vars: pipe.decl,
        pipe: { decl: [], cmds: pipe.cmds },
        body: then.nodes,
        ifFalse: otherwise,
      }
    return { t: word as 'if' | 'with', pipe, ifTrue: then.nodes, ifFalse: otherwise }
  }
  const { nodes, end } = block([])
  if (end) throw new TemplateError(`unexpected {{${end}}}`)
  return nodes
}

// ---- execution ----

interface Scope {
  dot: TValue
  vars: Map<string, TValue>
  funcs: ReadonlyMap<string, TFunc>
  src: string
  /** The nodes run so far, shared by the whole execution. */
  readonly work: { steps: number }
}

/**
 * The most nodes and loop turns one execution runs (a generated file of 10,000 lines needs a few
 * hundred thousand): four nested ranges over a hundred items are 10^8,
 * which would hold the engine for minutes. What it writes is bounded by MAX_STRING.
 */
const MAX_TEMPLATE_STEPS = 1_000_000

/** `out + more`, unless the template's output would grow past what a program may build. */
function append(out: string, more: string): string {
  if (out.length + more.length > MAX_STRING)
    throw new TemplateError(`the output is longer than ${MAX_STRING} characters`)
  return out + more
}

function lineCol(src: string, pos: number): string {
  const before = src.slice(0, pos)
  return `${before.split('\n').length}:${pos - before.lastIndexOf('\n')}`
}

function field(v: TValue, name: string, where: string): TValue {
  if (v instanceof Map) {
    if (!v.has(name))
      throw new TemplateError(`executing "template" at <${where}>: map has no entry for key "${name}"`)
    return v.get(name)!
  }
  throw new TemplateError(
    `executing "template" at <${where}>: can't evaluate field ${name} in type ${goKind(v)}`,
  )
}

const goKind = (v: TValue): string =>
  v === null
    ? 'nil'
    : Array.isArray(v)
      ? 'slice'
      : v instanceof Map
        ? 'map'
        : typeof v === 'bigint'
          ? 'int'
          : typeof v

function evalArg(a: Arg, s: Scope, final?: TValue[]): TValue {
  switch (a.t) {
    case 'lit':
      return a.v
    case 'field': {
      let v = a.base === 'dot' ? s.dot : s.vars.get(a.base)
      if (v === undefined) throw new TemplateError(`undefined variable: ${a.base}`)
      for (const p of a.path) v = field(v, p, `.${a.path.join('.')}`)
      return v
    }
    case 'sub': {
      let v = evalPipe(a.pipe, s)
      for (const p of a.path) v = field(v, p, `.${a.path.join('.')}`)
      return v
    }
    case 'ident': {
      const f = s.funcs.get(a.name)
      if (!f) throw new TemplateError(`function "${a.name}" not defined`)
      return f.fn(final ?? [])
    }
  }
}

function evalCmd(cmd: Cmd, s: Scope, piped?: TValue): TValue {
  const [head, ...rest] = cmd
  if (head!.t === 'ident') {
    const args = rest.map(a => evalArg(a, s))
    if (piped !== undefined) args.push(piped)
    return evalArg(head!, s, args)
  }
  if (rest.length || piped !== undefined) throw new TemplateError("can't give argument to non-function")
  return evalArg(head!, s)
}

function evalPipe(p: Pipe, s: Scope): TValue {
  let v: TValue | undefined
  for (const c of p.cmds) v = evalCmd(c, s, v)
  for (const d of p.decl) s.vars.set(d, v!)
  return v!
}

/** Counts one step of the execution; past the bound, the template's error. */
function step(s: Scope): void {
  if (++s.work.steps > MAX_TEMPLATE_STEPS)
    throw new TemplateError(`the execution takes more than ${MAX_TEMPLATE_STEPS} steps`)
}

function exec(nodes: Node[], s: Scope): string {
  let out = ''
  for (const n of nodes) {
    step(s)
    switch (n.t) {
      case 'text':
        out = append(out, n.text)
        break
      case 'action': {
        let v: TValue
        try {
          v = evalPipe(n.pipe, s)
        } catch (err) {
          if (err instanceof TemplateError && err.message.startsWith('executing'))
            throw new TemplateError(`template: template:${lineCol(s.src, n.pos + 2)}: ${err.message}`)
          throw err
        }
        if (!n.pipe.decl.length) out = append(out, goText(v))
        break
      }
      case 'if':
      case 'with': {
        const v = evalPipe(n.pipe, s)
        if (truthy(v)) out = append(out, exec(n.ifTrue, n.t === 'with' ? { ...s, dot: v } : s))
        else out = append(out, exec(n.ifFalse, s))
        break
      }
      case 'range': {
        const v = evalPipe(n.pipe, s)
        const pairs: [TValue, TValue][] = Array.isArray(v)
          ? v.map((x, i) => [BigInt(i), x])
          : v instanceof Map
            ? [...v].sort(([a], [b]) => cmp(a, b))
            : []
        if (!pairs.length) out = append(out, exec(n.ifFalse, s))
        for (const [k, x] of pairs) {
          step(s)
          const vars = new Map(s.vars)
          if (n.vars.length === 1) vars.set(n.vars[0]!, x)
          if (n.vars.length === 2) {
            vars.set(n.vars[0]!, k)
            vars.set(n.vars[1]!, x)
          }
          out = append(out, exec(n.body, { ...s, dot: x, vars }))
        }
        break
      }
    }
  }
  return out
}

function cmp(a: TValue, b: TValue): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'number' && typeof b === 'number') return a - b
  const x = goText(a)
  const y = goText(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Template functions that exist in every template. */
export function templateBuiltins(): Map<string, TFunc> {
  const f = (fn: (args: TValue[]) => TValue): TFunc => ({ fn })
  return new Map<string, TFunc>([
    [
      'len',
      f(([v]) => BigInt(Array.isArray(v) ? v.length : v instanceof Map ? v.size : String(v ?? '').length)),
    ],
    [
      'index',
      f(([v, ...ks]) =>
        ks.reduce<TValue>(
          (x, k) =>
            Array.isArray(x) ? (x[Number(k)] ?? null) : x instanceof Map ? (x.get(k) ?? null) : null,
          v ?? null,
        ),
      ),
    ],
    ['eq', f(([a, ...bs]) => bs.some(b => goText(a!) === goText(b)))],
    ['ne', f(([a, b]) => goText(a!) !== goText(b!))],
    ['lt', f(([a, b]) => cmp(a!, b!) < 0)],
    ['le', f(([a, b]) => cmp(a!, b!) <= 0)],
    ['gt', f(([a, b]) => cmp(a!, b!) > 0)],
    ['ge', f(([a, b]) => cmp(a!, b!) >= 0)],
    ['and', f(args => args.find(a => !truthy(a)) ?? args[args.length - 1] ?? null)],
    ['or', f(args => args.find(truthy) ?? args[args.length - 1] ?? null)],
    ['not', f(([a]) => !truthy(a ?? null))],
    ['print', f(args => args.map(goText).join(''))],
    ['println', f(args => `${args.map(goText).join(' ')}\n`)],
    ['printf', f(([fmt, ...args]) => goSprintf(String(fmt), args))],
  ])
}

/** Go's fmt.Sprintf for the common verbs. */
function goSprintf(format: string, args: TValue[]): string {
  let i = 0
  return format.replace(/%([-+# 0]*\d*(?:\.\d+)?)([vsdqtfx%])/g, (_m, _flags: string, verb: string) => {
    if (verb === '%') return '%'
    const a = args[i++] ?? null
    if (verb === 'q') return JSON.stringify(goText(a))
    if (verb === 'x') return typeof a === 'bigint' ? a.toString(16) : Buffer.from(goText(a)).toString('hex')
    return goText(a)
  })
}

/** Runs a template over `data`, with `funcs` callable by name. */
export function runTemplate(src: string, data: TValue, funcs: ReadonlyMap<string, TFunc>): string {
  try {
    const nodes = parseTemplate(src)
    return exec(nodes, { dot: data, vars: new Map([['$', data]]), funcs, src, work: { steps: 0 } })
  } catch (err) {
    // Parsing and execution recurse: thousands of nested actions or parentheses exhaust the stack.
    if (err instanceof RangeError && /call stack/i.test(err.message))
      throw new TemplateError('the template nests too deeply (the stack ran out)')
    throw err
  }
}
