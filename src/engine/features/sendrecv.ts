/**
 * Send/recv: along an edge, a value that one resource publishes (`sends`, e.g. password's
 * `password`) becomes a parameter of another (`file.content`).
 *
 * When a graph is compiled, every pair is checked: the sender's kind sends that key, the receiver's
 * kind has that parameter, their types agree, and no parameter has two senders. At run time,
 * before the receiver's checkApply, the engine copies each value; a different value is written
 * into the receiver's params, marks it dirty, re-validates it, and sets `recv()[param].changed`,
 * which stays set until a checkApply succeeds.
 */
import { isDeepStrictEqual } from 'node:util'
import type { z } from 'zod'
import type { Issue } from '../../util/errors.js'
import type { Res, ResEdge, ResGraph, SendRecvPair } from '../compiled.js'
import type { AnyResourceDef, RecvState } from '../resource.js'
import type { Origin } from '../spec.js'

export type { SendRecvPair }

/** The base type of a schema, through defaults, optionals and pipes: `string`, `number`, `any`... */
export function baseType(schema: z.ZodType): string {
  let s = schema as unknown as { def: { type: string; innerType?: unknown; in?: unknown; out?: unknown } }
  for (let i = 0; i < 10; i++) {
    const d = s.def
    if (
      ['default', 'optional', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type) &&
      d.innerType
    )
      s = d.innerType as typeof s
    else if (d.type === 'pipe' && d.in) s = d.in as typeof s
    else return d.type
  }
  return s.def.type
}

const fits = (from: string, to: string): boolean =>
  from === to || ['any', 'unknown'].includes(from) || ['any', 'unknown'].includes(to)

/** Compile-time checks of every send/recv pair of the graph; `origin(from, to)` locates an edge. */
export function checkSendRecv(graph: ResGraph, origin: (from: string, to: string) => Origin): Issue[] {
  const issues: Issue[] = []
  const fed = new Map<string, string>()
  for (const [from, to, e] of graph.edges()) {
    if (!e.sendRecv.length) continue
    const src = graph.vertex(from)!
    const dst = graph.vertex(to)!
    for (const p of e.sendRecv) {
      const at = origin(from, to)
      const problem = pairProblem(src.def, p, dst.def, from, to)
      if (problem) issues.push({ path: at, message: problem })
      const target = `${to}.${p.recv}`
      const other = fed.get(target)
      if (other && other !== `${from}.${p.send}`)
        issues.push({
          path: at,
          message: `${target} receives from two senders: ${other} and ${from}.${p.send}`,
        })
      fed.set(target, `${from}.${p.send}`)
    }
  }
  return issues
}

function pairProblem(
  sender: AnyResourceDef,
  p: SendRecvPair,
  receiver: AnyResourceDef,
  from: string,
  to: string,
): string | undefined {
  const sends = sender.sends ?? {}
  const out = sends[p.send]
  if (!out) {
    const keys = Object.keys(sends)
    return `${from} has no value \`${p.send}\` to send (${keys.length ? `it sends: ${keys.join(', ')}` : 'its kind sends nothing'})`
  }
  const param = receiver.params.shape[p.recv] as z.ZodType | undefined
  if (!param) return `${to} has no parameter \`${p.recv}\` to receive ${from}.${p.send}`
  const a = baseType(out)
  const b = baseType(param)
  if (!fits(a, b)) return `${from}.${p.send} is a ${a} but ${to}.${p.recv} is a ${b}`
  return undefined
}

/** A sender's values as the receiver sees them. */
export interface SenderView {
  readonly id: string
  /** The values of its last successful checkApply; undefined before any. */
  readonly sent: Readonly<Record<string, unknown>> | undefined
  /** Is the value it sends under `key` a secret? */
  sensitive(key: string): boolean
}

export interface Transfer {
  /** Keys whose value changed in this transfer. */
  readonly changed: string[]
  /** Log lines, `SendRecv: a[x].k -> b[y].p`. */
  readonly lines: string[]
  /** In a dry run: params whose sender has no value yet (it has never run); they keep their own. */
  readonly unknown: string[]
}

/**
 * Is a send of `def` sensitive? Its kind says so for the key, or the resource received a secret
 * (then everything it sends may carry it).
 */
export function sendIsSensitive(
  def: AnyResourceDef,
  key: string,
  recv: Readonly<Record<string, RecvState>>,
): boolean {
  if (def.sensitive?.includes(key)) return true
  for (const s of Object.values(recv)) if (s.sensitive) return true
  return false
}

/** A vertex that receives: its own resource, its params and received state, and its group's members. */
export interface ReceivingVertex {
  readonly id: string
  readonly res: Pick<Res, 'def'>
  readonly params: Record<string, unknown>
  readonly recvState: Record<string, RecvState>
  readonly members: ReadonlyMap<string, Receiving>
}

/** A resource that receives values (a vertex's own, or a member of its group). */
export interface Receiving {
  readonly def: AnyResourceDef
  readonly params: Record<string, unknown>
  readonly recvState: Record<string, RecvState>
}

const NO_TRANSFER: Transfer = { changed: [], lines: [], unknown: [] }

/** Does any of these edges carry values? */
function carriesValues(edges: ReadonlyMap<string, ResEdge>): boolean {
  for (const e of edges.values()) if (e.sendRecv.length) return true
  return false
}

/**
 * Everything `w` receives along its incoming edges of `graph`, copied into its params and its
 * members' (`transfer`); `senderOf` is the running sender of a vertex, if it has one.
 */
export function receiveValues(
  graph: ResGraph,
  w: ReceivingVertex,
  senderOf: (id: string) => SenderView | undefined,
  noop: boolean,
): Transfer {
  const edges = graph.incoming(w.id)
  if (!carriesValues(edges)) return NO_TRANSFER
  // By receiver: the vertex's own resource, or a member of its group (a pair's `to`).
  const incoming = new Map<string, { sender: SenderView; pairs: SendRecvPair[] }[]>()
  for (const [from, e] of edges)
    if (e.sendRecv.length) {
      const def = graph.vertex(from)?.def
      const sender = senderOf(from) ?? {
        id: from,
        sent: undefined,
        sensitive: (k: string) => def?.sensitive?.includes(k) === true,
      }
      for (const p of e.sendRecv) {
        const list = incoming.get(p.to ?? w.id) ?? []
        const last = list.at(-1)
        if (last?.sender === sender) last.pairs.push(p)
        else list.push({ sender, pairs: [p] })
        incoming.set(p.to ?? w.id, list)
      }
    }
  const out: Transfer = { changed: [], lines: [], unknown: [] }
  for (const [to, list] of incoming) {
    const r: Receiving | undefined =
      to === w.id ? { def: w.res.def, params: w.params, recvState: w.recvState } : w.members.get(to)
    if (!r) throw new Error(`${w.id} has no member ${to} to receive values`)
    const t = transfer(to, r.def, list, r.params, r.recvState, noop)
    out.changed.push(...t.changed)
    out.lines.push(...t.lines)
    out.unknown.push(...t.unknown)
  }
  return out
}

/**
 * Copies every incoming value into `params` (parsed by the param's schema), updating `state`. Throws
 * when a sender has sent nothing yet or lacks the key (a sender always runs first, so that is a bug
 * of the sender), except in a dry run (`noop`), where a sender that never ran has nothing to send
 * yet: the param is listed as unknown and keeps its own value.
 */
export function transfer(
  receiver: string,
  def: AnyResourceDef,
  incoming: readonly { sender: SenderView; pairs: readonly SendRecvPair[] }[],
  params: Record<string, unknown>,
  state: Record<string, RecvState>,
  noop = false,
): Transfer {
  const changed: string[] = []
  const lines: string[] = []
  const unknown: string[] = []
  for (const { sender, pairs } of incoming)
    for (const p of pairs) {
      const sensitive = sender.sensitive(p.send)
      if (!sender.sent || !(p.send in sender.sent)) {
        if (!noop) throw new Error(`received no value from ${sender.id}.${p.send} for ${receiver}.${p.recv}`)
        unknown.push(p.recv)
        lines.push(`would receive ${sender.id}.${p.send} -> ${receiver}.${p.recv}: no value before it runs`)
        if (sensitive) state[p.recv] = { from: sender.id, key: p.send, changed: true, sensitive }
        continue
      }
      // The param's own schema checks the value too: a sender of `any` type may send anything.
      const parsed = (def.params.shape[p.recv] as z.ZodType).safeParse(sender.sent[p.send])
      if (!parsed.success)
        throw new Error(
          `${sender.id}.${p.send} sent a value that ${receiver}.${p.recv} cannot take: ${parsed.error.issues[0]?.message}`,
        )
      const value = parsed.data
      const prev = state[p.recv]
      if (prev && isDeepStrictEqual(params[p.recv], value)) {
        if (!!prev.sensitive !== sensitive) state[p.recv] = { ...prev, sensitive }
        continue
      }
      params[p.recv] = value
      state[p.recv] = { from: sender.id, key: p.send, changed: true, ...(sensitive ? { sensitive } : {}) }
      changed.push(p.recv)
      lines.push(
        `SendRecv: ${sender.id}.${p.send} -> ${receiver}.${p.recv}${sensitive ? ' (sensitive)' : ''}`,
      )
    }
  return { changed, lines, unknown }
}

/** Every string inside a value (a secret may travel inside an object), at most `max` of them. */
export function stringsIn(v: unknown, out: Set<string> = new Set(), max = 64, depth = 0): Set<string> {
  if (out.size >= max || depth > 16) return out
  if (typeof v === 'string') {
    if (v !== '') out.add(v)
  } else if (Array.isArray(v)) for (const x of v) stringsIn(x, out, max, depth + 1)
  else if (v && typeof v === 'object') for (const x of Object.values(v)) stringsIn(x, out, max, depth + 1)
  return out
}

/** After a successful checkApply: the received values were applied. */
export function markApplied(state: Record<string, RecvState>): void {
  for (const [k, v] of Object.entries(state)) if (v.changed) state[k] = { ...v, changed: false }
}
