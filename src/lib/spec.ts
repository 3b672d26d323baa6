/**
 * The shape of a graph given to the library as plain data (`run(spec)`, `start(spec)`): TypeScript
 * checks it at compile time, but a spec built at run time (parsed JSON, JavaScript) can be anything.
 * Checked before it is compiled, a wrong shape is an invalid graph, every problem with its path,
 * never a TypeError from deep inside; params that hold themselves (a cycle) are refused too.
 */
import type { GraphSpec } from '../engine/compile.js'
import { GraphInvalid } from '../engine/compile.js'
import type { Issue } from '../util/errors.js'

type Path = (string | number)[]

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** How deep params may nest: deeper is a mistake (or a cycle the walk would not end). */
const MAX_DEPTH = 64

class Checker {
  readonly issues: Issue[] = []
  /** The objects on the way down a walk of data (empty between walks). */
  readonly #seen = new Set<object>()

  problem(path: Path, message: string): void {
    this.issues.push({ path, message })
  }
  string(v: unknown, path: Path, what: string, optional = false): void {
    if (v === undefined && optional) return
    if (typeof v !== 'string') this.problem(path, `expected ${what} (a string), got ${typeName(v)}`)
  }
  boolean(v: unknown, path: Path): void {
    if (v !== undefined && typeof v !== 'boolean')
      this.problem(path, `expected true or false, got ${typeName(v)}`)
  }
  object(v: unknown, path: Path, what: string, optional = false): v is Record<string, unknown> {
    if (v === undefined && optional) return false
    if (isObject(v)) return true
    this.problem(path, `expected ${what} (an object), got ${typeName(v)}`)
    return false
  }
  list(v: unknown, path: Path, what: string, optional = false): v is unknown[] {
    if (v === undefined && optional) return false
    if (Array.isArray(v)) return true
    this.problem(path, `expected ${what} (a list), got ${typeName(v)}`)
    return false
  }
  /**
   * Plain data: no value that holds itself, no function, not too deep. `path` grows and shrinks as
   * the walk goes (copied only for a problem): most params are a few strings.
   */
  data(v: unknown, path: Path): void {
    const seen = this.#seen
    if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
      this.problem([...path], `expected plain data, got ${typeName(v)}`)
      return
    }
    if (typeof v !== 'object' || v === null) return
    if (seen.has(v)) {
      this.problem([...path], 'holds itself (a cycle): params must be plain data')
      return
    }
    if (seen.size >= MAX_DEPTH) {
      this.problem([...path], `nests deeper than ${MAX_DEPTH} levels`)
      return
    }
    seen.add(v)
    if (Array.isArray(v))
      for (let i = 0; i < v.length; i++) {
        path.push(i)
        this.data(v[i], path)
        path.pop()
      }
    else
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue
        path.push(k)
        this.data((v as Record<string, unknown>)[k], path)
        path.pop()
      }
    seen.delete(v)
  }
  end(v: unknown, path: Path): void {
    if (!this.object(v, path, 'a resource by `kind` and `name`')) return
    this.string(v.kind, [...path, 'kind'], 'a kind')
    this.string(v.name, [...path, 'name'], 'a name')
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'object' ? 'an object' : `${typeof v === 'undefined' ? 'nothing' : `a ${typeof v}`}`
}

/** Throws GraphInvalid, every problem with its path, unless `spec` has a GraphSpec's shape. */
export function checkSpec(spec: unknown): asserts spec is GraphSpec {
  const c = new Checker()
  if (!c.object(spec, [], 'a graph with `name`, `resources` and `edges`')) throw new GraphInvalid(c.issues)
  c.string(spec.name, ['name'], 'the graph’s name')
  if (c.list(spec.resources, ['resources'], 'the resources'))
    spec.resources.forEach((r, i) => {
      const at = ['resources', i]
      if (!c.object(r, at, 'a resource')) return
      c.string(r.kind, [...at, 'kind'], 'a kind')
      c.string(r.name, [...at, 'name'], 'a name')
      if (c.object(r.params, [...at, 'params'], 'the params by name')) c.data(r.params, [...at, 'params'])
      if (c.object(r.meta, [...at, 'meta'], 'the metaparams by name', true)) c.data(r.meta, [...at, 'meta'])
      c.boolean(r.exported, [...at, 'exported'])
      c.list(r.origin, [...at, 'origin'], 'a key path', true)
      if (c.object(r.annotations, [...at, 'annotations'], 'annotations', true))
        c.data(r.annotations, [...at, 'annotations'])
    })
  if (c.list(spec.edges, ['edges'], 'the edges'))
    spec.edges.forEach((e, i) => {
      const at = ['edges', i]
      if (!c.object(e, at, 'an edge')) return
      c.string(e.name, [...at, 'name'], 'a name')
      c.end(e.from, [...at, 'from'])
      c.end(e.to, [...at, 'to'])
      c.boolean(e.notify, [...at, 'notify'])
      c.string(e.send, [...at, 'send'], 'a key the sender sends', true)
      c.string(e.recv, [...at, 'recv'], 'a param that receives', true)
      c.list(e.origin, [...at, 'origin'], 'a key path', true)
    })
  if (c.list(spec.collect, ['collect'], 'what to collect', true))
    spec.collect.forEach((x, i) => {
      const at = ['collect', i]
      if (!c.object(x, at, 'a kind to collect')) return
      c.string(x.kind, [...at, 'kind'], 'a kind')
      for (const k of ['name', 'host', 'pattern'] as const) c.string(x[k], [...at, k], `a ${k}`, true)
    })
  if (c.issues.length) throw new GraphInvalid(c.issues)
}
