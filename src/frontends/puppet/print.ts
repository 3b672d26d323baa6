/**
 * `mgmt run puppet --print-graph`: the translated graph as YAML in the format `mgmt run yaml` reads,
 * so that the mapping of each Puppet resource can be seen, checked and kept. Values that came from
 * Puppet's `Sensitive()` are left out (with a comment saying which), so a secret is never printed.
 */
import { Document, isMap, isSeq } from 'yaml'
import type { GraphSpec } from '../../engine/spec.js'

type Obj = Record<string, unknown>

/** Whether `v`, or any value inside it (a list's, a hash's), holds one of `secrets`. */
function holds(v: unknown, secrets: readonly string[]): boolean {
  if (Array.isArray(v)) return v.some(x => holds(x, secrets))
  if (typeof v === 'object' && v !== null) return Object.values(v).some(x => holds(x, secrets))
  if (typeof v === 'string') return secrets.some(s => s !== '' && v.includes(s))
  return typeof v === 'number' && secrets.includes(String(v))
}

/** Drops every value that holds a secret from a params object; returns the keys dropped. */
function redact(params: Obj, secrets: readonly string[], at = ''): { params: Obj; dropped: string[] } {
  const out: Obj = {}
  const dropped: string[] = []
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const inner = redact(v as Obj, secrets, `${at}${k}.`)
      out[k] = inner.params
      dropped.push(...inner.dropped)
    } else if (holds(v, secrets)) dropped.push(`${at}${k}`)
    else out[k] = v
  }
  return { params: out, dropped }
}

/** A `pippet`'s params without those Puppet marked sensitive, whatever their values (a boolean too). */
function withoutMarked(params: Obj): { params: Obj; dropped: string[] } {
  const marked = new Set(Array.isArray(params.sensitive) ? params.sensitive.map(String) : [])
  const inner = params.params
  if (!marked.size || typeof inner !== 'object' || inner === null || Array.isArray(inner))
    return { params, dropped: [] }
  const keys = Object.keys(inner)
  const kept = Object.fromEntries(Object.entries(inner).filter(([k]) => !marked.has(k)))
  return {
    params: { ...params, params: kept },
    dropped: keys.filter(k => marked.has(k)).map(k => `params.${k}`),
  }
}

/** The YAML text of `spec`, `header` as its leading comment, `secrets` left out. */
export function graphYaml(spec: GraphSpec, header: string, secrets: readonly string[] = []): string {
  const resources: Record<string, Obj[]> = {}
  const notes: { kind: string; index: number; dropped: string[] }[] = []
  for (const r of spec.resources) {
    const marked = withoutMarked({ ...r.params })
    const redacted = redact(marked.params, secrets)
    const params = redacted.params
    const dropped = [...new Set([...marked.dropped, ...redacted.dropped])]
    const list = resources[r.kind] ?? []
    resources[r.kind] = list
    if (dropped.length) notes.push({ kind: r.kind, index: list.length, dropped })
    // An exported resource is `@@name` in YAML. Its annotations (the Puppet resource) are not
    // printed: YAML has no place for them, so a Puppet manifest cannot collect the printed export.
    const name = r.exported ? `@@${r.name}` : r.name
    list.push({ name, ...params, ...(r.meta && Object.keys(r.meta).length ? { meta: r.meta } : {}) })
  }
  const edges = spec.edges.map(e => ({
    name: e.name,
    from: { kind: e.from.kind, name: e.from.name },
    to: { kind: e.to.kind, name: e.to.name },
    ...(e.notify ? { notify: true } : {}),
  }))
  const doc = new Document({ graph: spec.name, resources, edges })
  doc.commentBefore = header
  for (const n of notes) {
    const node = doc.getIn(['resources', n.kind, n.index], true)
    if (isMap(node)) node.commentBefore = ` sensitive, not printed: ${n.dropped.join(', ')}`
  }
  // Edge ends on one line each: `from: { kind: file, name: /etc/motd }`.
  const list = doc.get('edges', true)
  if (isSeq(list))
    for (const e of list.items)
      if (isMap(e))
        for (const end of ['from', 'to']) {
          const node = e.get(end, true)
          if (isMap(node)) node.flow = true
        }
  const text = doc.toString({ lineWidth: 0 })
  return text.endsWith('\n') ? text : `${text}\n`
}
