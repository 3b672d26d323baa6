/**
 * The shape of a graph given to the library as plain data (`run(spec)`, `start(spec)`): TypeScript
 * checks it at compile time, but a spec built at run time (parsed JSON, JavaScript) can be anything.
 * Checked before it is compiled, a wrong shape is an invalid graph, every problem with its path,
 * never a TypeError from deep inside; params that hold themselves (a cycle) are refused too.
 */
import { GraphInvalid } from '../engine/compile.js'
import type { GraphSpec } from '../engine/spec.js'
import type { Issue } from '../util/errors.js'

type Path = (string | number)[]

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** How deep params may nest: deeper is a mistake (or a cycle the walk would not end). */
const MAX_DEPTH = 64

/**
 * The checks, each at a key under the current path (`path`, a stack the walk pushes to and pops
 * from): a path is copied only for a problem, so a large spec that is right costs no allocation.
 */
class Checker {
  readonly issues: Issue[] = []
  readonly path: Path = []
  /** The objects on the way down a walk of data (empty between walks). */
  readonly #seen = new Set<object>()

  problem(key: string | number | undefined, message: string): void {
    this.issues.push({ path: key === undefined ? [...this.path] : [...this.path, key], message })
  }
  /** Runs `f` one key further down. */
  in(key: string | number, f: () => void): void {
    this.path.push(key)
    f()
    this.path.pop()
  }
  string(v: unknown, key: string, what: string, optional = false): void {
    if (v === undefined && optional) return
    if (typeof v !== 'string') this.problem(key, `expected ${what} (a string), got ${typeName(v)}`)
  }
  boolean(v: unknown, key: string): void {
    if (v !== undefined && typeof v !== 'boolean')
      this.problem(key, `expected true or false, got ${typeName(v)}`)
  }
  object(
    v: unknown,
    key: string | number | undefined,
    what: string,
    optional = false,
  ): v is Record<string, unknown> {
    if (v === undefined && optional) return false
    if (isObject(v)) return true
    this.problem(key, `expected ${what} (an object), got ${typeName(v)}`)
    return false
  }
  list(v: unknown, key: string, what: string, optional = false): v is unknown[] {
    if (v === undefined && optional) return false
    if (Array.isArray(v)) return true
    this.problem(key, `expected ${what} (a list), got ${typeName(v)}`)
    return false
  }
  /** A list at `key` whose every item is an object, each checked by `f` one key further down. */
  items(
    v: unknown,
    key: string,
    what: { readonly list: string; readonly item: string; readonly optional?: boolean },
    f: (x: Record<string, unknown>) => void,
  ): void {
    if (!this.list(v, key, what.list, what.optional)) return
    this.in(key, () => {
      for (let i = 0; i < v.length; i++) {
        const x = v[i]
        if (this.object(x, i, what.item)) this.in(i, () => f(x))
      }
    })
  }
  /** An object of plain data at `key`: no value that holds itself, no function, not too deep. */
  record(v: unknown, key: string, what: string, optional = false): void {
    if (this.object(v, key, what, optional)) this.in(key, () => this.data(v))
  }
  data(v: unknown): void {
    const seen = this.#seen
    if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
      this.problem(undefined, `expected plain data, got ${typeName(v)}`)
      return
    }
    if (typeof v !== 'object' || v === null) return
    if (seen.has(v)) {
      this.problem(undefined, 'holds itself (a cycle): params must be plain data')
      return
    }
    if (seen.size >= MAX_DEPTH) {
      this.problem(undefined, `nests deeper than ${MAX_DEPTH} levels`)
      return
    }
    seen.add(v)
    const path = this.path
    if (Array.isArray(v))
      for (let i = 0; i < v.length; i++) {
        path.push(i)
        this.data(v[i])
        path.pop()
      }
    else
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue
        path.push(k)
        this.data((v as Record<string, unknown>)[k])
        path.pop()
      }
    seen.delete(v)
  }
  end(v: unknown, key: string): void {
    if (!this.object(v, key, 'a resource by `kind` and `name`')) return
    this.in(key, () => {
      this.string(v.kind, 'kind', 'a kind')
      this.string(v.name, 'name', 'a name')
    })
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
  if (!c.object(spec, undefined, 'a graph with `name`, `resources` and `edges`'))
    throw new GraphInvalid(c.issues)
  c.string(spec.name, 'name', 'the graph’s name')
  c.items(spec.resources, 'resources', { list: 'the resources', item: 'a resource' }, r => {
    c.string(r.kind, 'kind', 'a kind')
    c.string(r.name, 'name', 'a name')
    c.record(r.params, 'params', 'the params by name')
    c.record(r.meta, 'meta', 'the metaparams by name', true)
    c.boolean(r.exported, 'exported')
    c.list(r.origin, 'origin', 'a key path', true)
    c.record(r.annotations, 'annotations', 'annotations', true)
  })
  c.items(spec.edges, 'edges', { list: 'the edges', item: 'an edge' }, e => {
    c.string(e.name, 'name', 'a name')
    c.end(e.from, 'from')
    c.end(e.to, 'to')
    c.boolean(e.notify, 'notify')
    c.string(e.send, 'send', 'a key the sender sends', true)
    c.string(e.recv, 'recv', 'a param that receives', true)
    c.list(e.origin, 'origin', 'a key path', true)
  })
  const collect = { list: 'what to collect', item: 'a kind to collect', optional: true }
  c.items(spec.collect, 'collect', collect, x => {
    c.string(x.kind, 'kind', 'a kind')
    for (const k of ['name', 'host', 'pattern'] as const) c.string(x[k], k, `a ${k}`, true)
  })
  if (c.issues.length) throw new GraphInvalid(c.issues)
}
