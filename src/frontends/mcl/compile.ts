/**
 * The mcl pipeline: read and parse the entry and its imports, resolve names, type-check
 * (`check` stops here), evaluate once, interpret into a resource graph, and describe that graph
 * as the engine's `GraphSpec`, so that it runs through the same engine as a YAML graph.
 */

import { statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Registry } from '../../engine/registry.js'
import type { EdgeSpec, GraphSpec, ResourceSpec } from '../../engine/spec.js'
import { type Checked, checkProgram } from './check/checker.js'
import { LangError, type Stage } from './errors.js'
import type { Host } from './funcs/builtin.js'
import { Loader } from './modules.js'
import { Evaluator } from './run/eval.js'
import { interpret, type LangGraph, plainParams } from './run/interpret.js'
import { Schemas } from './schema/schema.js'
import { Resolver } from './scope.js'
import { location } from './source.js'

export interface LangOptions {
  /** The engine's kinds (their schemas type-check resource fields); others come from the generated table. */
  readonly registry?: Registry
  /** Name files by their path inside the deploy (`/main.mcl`), as the original's tests do. */
  readonly deployPaths?: boolean
  /** Collects every file read (also when the program is invalid), for watching. */
  readonly read?: Set<string>
}

export interface CheckedProgram {
  readonly checked: Checked
  readonly schemas: Schemas
  /** Every file read, for watching. */
  readonly files: ReadonlySet<string>
}

/** The deploy root of an entry: the directory itself, or the directory of a file. */
function rootOf(entry: string): string {
  const abs = resolve(entry)
  try {
    if (statSync(abs).isDirectory()) return abs
  } catch {}
  return dirname(abs)
}

/** Parses, resolves and type-checks a program. Throws a `LangError`. */
export function checkLang(entry: string, opts: LangOptions = {}): CheckedProgram {
  return notTooDeep('parse', `${entry}: the program`, () => {
    const loader = new Loader(rootOf(entry), { deployPaths: opts.deployPaths, read: opts.read })
    const schemas = new Schemas(opts.registry)
    const unit = loader.entry(entry)
    const resolver = new Resolver(loader)
    resolver.program(unit)
    return { checked: checkProgram(resolver, unit, schemas), schemas, files: loader.read }
  })
}

/** Evaluates a checked program once and interprets it into a resource graph. Throws a `LangError`. */
export function runLang(p: CheckedProgram, host: Host): LangGraph {
  return notTooDeep('run', 'the program', () => {
    const out = new Evaluator(host).run(p.checked.block, p.checked.globalEnv)
    return interpret(out, p.schemas)
  })
}

/**
 * The passes recurse over the syntax tree: a program nested deeper than the stack allows (tens of
 * thousands of brackets, or of `+` in a row) is that stage's error, not a crash.
 */
function notTooDeep<T>(stage: Stage, what: string, f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message))
      throw new LangError(
        stage,
        `${what} nests too deeply to be read (the stack ran out): split its deepest expression`,
      )
    throw e
  }
}

const repr = (kind: string, name: string): string => `${kind}[${name}]`

/** The engine's description of a language graph; each resource's origin is its `file:line:col`. */
export function toGraphSpec(g: LangGraph, name: string): GraphSpec {
  const resources: ResourceSpec[] = []
  const seen = new Set<string>()
  for (const r of g.resources) {
    const key = repr(r.kind, r.name)
    const spec = { kind: r.kind, name: r.name, params: plainParams(r), meta: r.meta }
    const origin = [`${location(r.span)}: ${key}`]
    // A hidden resource beside a visible one of the same name is one vertex for the engine (the
    // visible one comes first); a hidden one that is exported stays an export (`export0.mcl`
    // collects its own hidden export under the same name).
    if (seen.has(key)) {
      const to = r.meta.export
      if (r.hidden && Array.isArray(to) && to.length) resources.push({ ...spec, exported: true, origin })
      continue
    }
    seen.add(key)
    resources.push({ ...spec, origin })
  }
  const edges: EdgeSpec[] = []
  for (const e of g.edges) {
    const from = { kind: e.from.kind, name: e.from.name }
    const to = { kind: e.to.kind, name: e.to.name }
    const base = {
      name: `${repr(from.kind, from.name)} -> ${repr(to.kind, to.name)}`,
      from,
      to,
      notify: e.notify,
    }
    const origin = [`${location(e.span)}: edge`]
    if (!e.sendRecv.length) edges.push({ ...base, origin })
    for (const p of e.sendRecv) edges.push({ ...base, send: p.send, recv: p.recv, origin })
  }
  return { name, resources, edges }
}
