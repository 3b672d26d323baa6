/**
 * `mgmt run puppet --print-graph`: the translated graph as YAML in the format `mgmt run yaml` reads,
 * so that the mapping of each Puppet resource can be seen, checked and kept. Values that came from
 * Puppet's `Sensitive()` are left out (with a comment saying which), so a secret is never printed.
 */
import { Document, isMap, isSeq } from 'yaml'
import type { GraphSpec } from '../../engine/compile.js'

type Obj = Record<string, unknown>

/** Drops every string that holds a secret, from a params object; returns the keys dropped. */
function redact(params: Obj, secrets: readonly string[], at = ''): { params: Obj; dropped: string[] } {
  const out: Obj = {}
  const dropped: string[] = []
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'string' && secrets.some(s => s !== '' && v.includes(s))) {
      dropped.push(`${at}${k}`)
      continue
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const inner = redact(v as Obj, secrets, `${at}${k}.`)
      out[k] = inner.params
      dropped.push(...inner.dropped)
      continue
    }
    out[k] = v
  }
  return { params: out, dropped }
}

/** The YAML text of `spec`, `header` as its leading comment, `secrets` left out. */
export function graphYaml(spec: GraphSpec, header: string, secrets: readonly string[] = []): string {
  const resources: Record<string, Obj[]> = {}
  const notes: { kind: string; index: number; dropped: string[] }[] = []
  for (const r of spec.resources) {
    const { params, dropped } = redact({ ...r.params }, secrets)
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
