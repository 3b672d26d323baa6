/**
 * The results of a bench run, the targets they are held to (DESIGN §11, and the stricter ones of
 * the performance work: ratios to cf-agent, drift, memory), and the printed table.
 */
import type { ClusterFigures } from './cluster.js'
import type { Idle } from './daemon.js'
import type { Clobber } from './drift.js'
import type { ScaleFigures } from './scale.js'
import type { StartupFigures } from './startup.js'
import { type Summary, summarize } from './stats.js'

export interface Machine {
  readonly cpus: number
  readonly model: string
  readonly memoryMiB: number
  readonly node: string
  /**
   * NODE_EXTRA_CA_CERTS is set, on a Node.js older than 24: Node.js 20 reads and parses those
   * certificates at every start, whatever the program does (43 ms a start on the machine of
   * docs/benchmarks.md); Node.js 24 reads them when TLS is first used.
   */
  readonly extraCaCerts?: boolean
  readonly kernel: string
  readonly date: string
  /** Where the workload lives. */
  readonly dir: string
}

export interface OneShotFigures {
  readonly cold: Summary
  readonly noChange: Summary
  readonly peakRssKb?: number
}

export interface PeerFigures extends OneShotFigures {
  readonly name: string
  readonly version: string
}

export interface DriftFigures {
  readonly all: Summary
  /** Kinds of clobber without samples (fewer repairs than kinds) are absent. */
  readonly byClobber: Partial<Record<Clobber, Summary>>
}

export interface EngineFigures {
  readonly vmHwmKb: number
  /** VmRSS after `--settle` seconds alone (undefined with `--settle 0`). */
  readonly settledKb?: number
  readonly idleAfterConverge: Idle
  readonly idleAfterDrift: Idle
}

export interface Results {
  readonly machine: Machine
  readonly params: { readonly files: number; readonly runs: number; readonly repairs: number }
  readonly nodeStartup: Summary
  readonly mgmt: OneShotFigures & { readonly drift: DriftFigures; readonly engine: EngineFigures }
  readonly peer: PeerFigures | { readonly skipped: string }
  /** The scale phase; undefined with `--no-scale`. */
  readonly scale?: ScaleFigures
  /** The cluster phase; undefined with `--no-cluster`. */
  readonly cluster?: ClusterFigures
  /** `mgmt --version` and chains of noops, as whole processes. */
  readonly startup: StartupFigures
}

export interface Target {
  readonly goal: string
  /** undefined: could not be judged (no peer). */
  readonly met: boolean | undefined
  readonly detail: string
}

/** Idle means less than half a percent of one core. */
const IDLE_CPU_FRACTION = 0.005
const DRIFT_MEDIAN_MS = 5
const DRIFT_P99_MS = 20
const BIG_GRAPH_FILES = 10_000
const BIG_GRAPH_RSS_MIB = 300
/** "A few seconds". */
const BIG_GRAPH_COLD_MS = 5000
const LIVE_CHANGE_MS = 50
/** "Well under a second": a quarter of one. */
const AUTO_PASSES_MS = 250
const EXPORT_MEDIAN_MS = 50
/** The performance work's no-change ratio to cf-agent: at 1,000 files, and at 5,000 and more. */
const NO_CHANGE_RATIO_1000 = 0.7
const NO_CHANGE_RATIO_5000 = 0.5
/** The stricter drift goal: ms, median and p99. */
const DRIFT_TIGHT_MEDIAN_MS = 1
const DRIFT_TIGHT_P99_MS = 5
/** The long-running engine's memory, in MB (10^6 bytes), at 1,000 and at 10,000 files. */
const ENGINE_MB_1000 = 70
const ENGINE_MB_10000 = 150
/** `mgmt --version` against `node -e ''`, a ratio of medians. */
const VERSION_RATIO = 1.3
/** A chain of 1,000 noops above a graph of one. */
const CHAIN_1000_ABOVE_MS = 300
/** A chain of 4,000 noops with --no-autogroup, the whole run. */
const CHAIN_4000_MS = 500

export const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0))
const MB = (kb: number): string => `${((kb * 1024) / 1e6).toFixed(0)} MB`
export const mib = (kb: number | undefined): string =>
  kb === undefined ? '—' : `${(kb / 1024).toFixed(1)} MiB`
const medMin = (s: Summary): string => `${ms(s.median)} ms (min ${ms(s.min)})`
const idle = (i: Idle): string => `${ms(i.cpuMs)} ms CPU, ${i.wakeups} wake-ups in ${i.seconds} s`

/**
 * mgmt's median against cf-agent's: faster than it, or (`limit`) at most that multiple of it. Not
 * judged without the peer.
 */
function againstPeer(
  what: string,
  mine: Summary,
  peer: Results['peer'],
  pick: (p: PeerFigures) => Summary,
  limit?: number,
): Target {
  const goal = limit === undefined ? `${what} faster than cf-agent` : `${what} ≤ ${limit}× cf-agent`
  if ('skipped' in peer) return { goal, met: undefined, detail: peer.skipped }
  const theirs = pick(peer)
  const ratio = mine.median / theirs.median
  return {
    goal,
    met: limit === undefined ? ratio < 1 : ratio <= limit,
    detail: `${ms(mine.median)} vs ${ms(theirs.median)} ms median (×${ratio.toFixed(2)})`,
  }
}

export function targets(r: Results): Target[] {
  const d = r.mgmt.drift.all
  const worstIdle = [r.mgmt.engine.idleAfterConverge, r.mgmt.engine.idleAfterDrift].reduce((a, b) =>
    a.cpuMs / a.seconds >= b.cpuMs / b.seconds ? a : b,
  )
  const out: Target[] = [
    againstPeer('cold converge', r.mgmt.cold, r.peer, p => p.cold),
    againstPeer('no-change run', r.mgmt.noChange, r.peer, p => p.noChange),
    {
      goal: `drift repair median ≤ ${DRIFT_MEDIAN_MS} ms`,
      met: d.median <= DRIFT_MEDIAN_MS,
      detail: `${ms(d.median)} ms`,
    },
    { goal: `drift repair p99 ≤ ${DRIFT_P99_MS} ms`, met: d.p99 <= DRIFT_P99_MS, detail: `${ms(d.p99)} ms` },
    {
      goal: 'idle engine uses no CPU',
      met: worstIdle.cpuMs <= worstIdle.seconds * 1000 * IDLE_CPU_FRACTION,
      detail: idle(worstIdle),
    },
  ]
  out.push(...tightTargets(r))
  out.push(...startupTargets(r))
  if (r.scale) out.push(...scaleTargets(r.scale))
  if (r.cluster)
    out.push({
      goal: `export change on one host → collected file on another, median ≤ ${EXPORT_MEDIAN_MS} ms`,
      met: r.cluster.exports.median <= EXPORT_MEDIAN_MS,
      detail: `${ms(r.cluster.exports.median)} ms p50, ${ms(r.cluster.exports.p99)} ms p99`,
    })
  if (r.params.files >= BIG_GRAPH_FILES)
    out.push({
      goal: `resident memory ≤ ${BIG_GRAPH_RSS_MIB} MB, drift engine at ${r.params.files} files`,
      met: r.mgmt.engine.vmHwmKb <= BIG_GRAPH_RSS_MIB * 1024,
      detail: mib(r.mgmt.engine.vmHwmKb),
    })
  return out
}

/** Memory of a long-running engine against `limitMB`: its peak and, when read, its settled RSS. */
function memoryTargets(
  what: string,
  limitMB: number,
  peakKb: number,
  settledKb: number | undefined,
): Target[] {
  const within = (kb: number): boolean => kb * 1024 <= limitMB * 1e6
  const out: Target[] = [
    {
      goal: `${what}, peak ≤ ${limitMB} MB`,
      met: within(peakKb),
      detail: `${MB(peakKb)} (${mib(peakKb)}) VmHWM`,
    },
  ]
  if (settledKb !== undefined)
    out.push({
      goal: `${what}, settled ≤ ${limitMB} MB`,
      met: within(settledKb),
      detail: `${MB(settledKb)} (${mib(settledKb)}) VmRSS, left alone`,
    })
  return out
}

/** The performance work's targets that are stricter than DESIGN §11's. */
function tightTargets(r: Results): Target[] {
  const d = r.mgmt.drift.all
  const limit = r.params.files >= 5000 ? NO_CHANGE_RATIO_5000 : NO_CHANGE_RATIO_1000
  const out = [againstPeer('no-change run', r.mgmt.noChange, r.peer, p => p.noChange, limit)]
  out.push({
    goal: `drift repair p50 ≤ ${DRIFT_TIGHT_MEDIAN_MS} ms, p99 ≤ ${DRIFT_TIGHT_P99_MS} ms`,
    met: d.median <= DRIFT_TIGHT_MEDIAN_MS && d.p99 <= DRIFT_TIGHT_P99_MS,
    detail: `${ms(d.median)} / ${ms(d.p99)} ms`,
  })
  if (r.params.files === 1000)
    out.push(
      ...memoryTargets(
        'engine memory, 1,000 files',
        ENGINE_MB_1000,
        r.mgmt.engine.vmHwmKb,
        r.mgmt.engine.settledKb,
      ),
    )
  return out
}

function startupTargets(r: Results): Target[] {
  const st = r.startup
  const ratio = st.version.median / r.nodeStartup.median
  const above = st.chain1000.median - st.oneNoop.median
  return [
    {
      goal: `mgmt --version ≤ ${VERSION_RATIO}× node -e ''`,
      met: ratio <= VERSION_RATIO,
      detail: `${ms(st.version.median)} vs ${ms(r.nodeStartup.median)} ms median (×${ratio.toFixed(2)})`,
    },
    {
      goal: `chain of 1,000 noops ≤ ${CHAIN_1000_ABOVE_MS} ms above a graph of one`,
      met: above <= CHAIN_1000_ABOVE_MS,
      detail: `${ms(above)} ms above (${ms(st.chain1000.median)} vs ${ms(st.oneNoop.median)} ms median)`,
    },
    {
      goal: `chain of 4,000 noops, --no-autogroup, ≤ ${CHAIN_4000_MS} ms`,
      met: st.chain4000.median <= CHAIN_4000_MS,
      detail: `${ms(st.chain4000.median)} ms median, the whole run`,
    },
  ]
}

/** The autoedges + autogroup figure judged: the larger of the two ways of timing it. */
const autoPassesMs = (s: ScaleFigures): number =>
  Math.max(s.compile.autoDiffMs, s.compile.autoEdgePass.median + s.compile.autoGroupPass.median)

/** Graph swaps that restarted anything but the edited resource. */
const restartedOthers = (s: ScaleFigures): number =>
  s.live.swaps.filter(w => w.changed !== 1 || w.added !== 0 || w.removed !== 0).length

function scaleTargets(s: ScaleFigures): Target[] {
  const big = s.files >= BIG_GRAPH_FILES
  const judge = (ok: boolean): boolean | undefined => (big ? ok : undefined)
  const at = big ? '' : ` (only ${s.files} files)`
  const rss = Math.max(s.peakRssKb ?? 0, s.live.vmHwmKb)
  const live = s.live.applied
  const memory = big
    ? memoryTargets('engine memory, 10,000 files', ENGINE_MB_10000, s.live.vmHwmKb, s.live.rssSettledKb)
    : []
  return [
    ...memory,
    {
      goal: `${BIG_GRAPH_FILES} resources converged from cold in a few (≤ ${BIG_GRAPH_COLD_MS / 1000}) s`,
      met: judge(s.cold.median <= BIG_GRAPH_COLD_MS),
      detail: `${ms(s.cold.median)} ms median${at}`,
    },
    {
      goal: `resident memory ≤ ${BIG_GRAPH_RSS_MIB} MB at ${BIG_GRAPH_FILES} resources`,
      met: judge(rss <= BIG_GRAPH_RSS_MIB * 1024),
      detail: `${mib(rss)} peak${at}`,
    },
    {
      goal: `live change of one resource applied in ≤ ${LIVE_CHANGE_MS} ms`,
      met: judge(live.max <= LIVE_CHANGE_MS),
      detail: `${ms(live.median)} ms p50, ${ms(live.max)} ms max${at}`,
    },
    {
      goal: 'a live change restarts nothing else',
      met: restartedOthers(s) === 0,
      detail: `${restartedOthers(s)} of ${s.live.swaps.length} swaps restarted more`,
    },
    {
      goal: `autoedges + autogroup well under a second (≤ ${AUTO_PASSES_MS} ms)`,
      met: judge(autoPassesMs(s) <= AUTO_PASSES_MS),
      detail: `${ms(autoPassesMs(s))} ms${at}`,
    },
  ]
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map(r => (r[c] ?? '').length)))
  return rows
    .map(r => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('   '))
    .join('\n')
}

function figureRows(r: Results): string[][] {
  const peer = 'skipped' in r.peer ? undefined : r.peer
  const m = r.mgmt
  const dist = (s: Summary): string => `${ms(s.median)} / ${ms(s.p90)} / ${ms(s.p99)} / ${ms(s.max)} ms`
  const rows: string[][] = [
    ['', 'mgmt', peer ? `${peer.name} (${peer.version})` : 'cf-agent'],
    ['cold converge', medMin(m.cold), peer ? medMin(peer.cold) : '—'],
    ['no-change run', medMin(m.noChange), peer ? medMin(peer.noChange) : '—'],
    ['peak RSS, cold run', mib(m.peakRssKb), mib(peer?.peakRssKb)],
    [`drift repair p50 / p90 / p99 / max (${m.drift.all.n})`, dist(m.drift.all), '—'],
  ]
  for (const [how, s] of Object.entries(m.drift.byClobber))
    rows.push([`  after ${how} (${s.n})`, dist(s), '—'])
  rows.push(
    ['engine peak RSS (VmHWM)', mib(m.engine.vmHwmKb), '—'],
    ['engine RSS, settled (left alone)', mib(m.engine.settledKb), '—'],
    ['engine idle, after converging', idle(m.engine.idleAfterConverge), '—'],
    ['engine idle, after the drift phase', idle(m.engine.idleAfterDrift), '—'],
    ["node start-up (node -e '')", medMin(r.nodeStartup), ''],
    ['mgmt --version', medMin(r.startup.version), ''],
    ['run of a graph of one noop', medMin(r.startup.oneNoop), ''],
    ['run of a chain of 1,000 noops', medMin(r.startup.chain1000), ''],
    ['run of a chain of 4,000 noops, --no-autogroup', medMin(r.startup.chain4000), ''],
  )
  return rows
}

/** The distinct (changed, added, removed) counts of the swaps, with how often each came. */
function swapCounts(s: ScaleFigures): string {
  const seen = new Map<string, number>()
  for (const w of s.live.swaps) {
    const key = `${w.changed} changed, ${w.added} added, ${w.removed} removed, ${w.kept} kept`
    seen.set(key, (seen.get(key) ?? 0) + 1)
  }
  return [...seen].map(([key, n]) => `${key} (×${n})`).join('; ')
}

/** The first of a run of edits apart from the others (it runs the engine's code cold): `12.3; 10.1 / 15.2 ms`. */
function firstAndLater(xs: readonly number[]): string {
  if (xs.length < 2) return xs.length ? `${ms(xs[0]!)} ms` : '—'
  const later = summarize(xs.slice(1))
  return `${ms(xs[0]!)}; ${ms(later.median)} / ${ms(later.max)} ms`
}

function scaleRows(s: ScaleFigures): string[][] {
  const c = s.compile
  const l = s.live
  const p50max = (x: Summary): string => `${ms(x.median)} / ${ms(x.max)} ms`
  return [
    [`scale: ${s.files} files, ${s.resources} resources`, 'mgmt'],
    ['cold converge (CLI)', medMin(s.cold)],
    ['no-change run (CLI)', medMin(s.noChange)],
    ['peak RSS, CLI runs', mib(s.peakRssKb)],
    ['engine: cold start to converged', `${ms(l.coldStartMs)} ms`],
    [
      'engine RSS: converged / after edits / peak / settled',
      `${mib(l.rssConvergedKb)} / ${mib(l.rssAfterKb)} / ${mib(l.vmHwmKb)} / ${mib(l.rssSettledKb)}`,
    ],
    [`live change, save → applied p50 / max (${l.applied.n})`, p50max(l.applied)],
    ['  the first edit; the later ones p50 / max', firstAndLater(l.swaps.map(x => x.ms))],
    ['  the engine’s swap time p50 / max', p50max(l.engineSwap)],
    ['  each swap', swapCounts(s)],
    ['YAML load (parse + compile), first / median', `${ms(c.loadFirstMs)} / ${ms(c.load.median)} ms`],
    ['YAML reload after a one-file edit (compile cache), median', `${ms(c.reload.median)} ms`],
    ['compileGraph, with / without auto passes', `${ms(c.compile.median)} / ${ms(c.compileBare.median)} ms`],
    ['  autoedges + autogroup (difference)', `${ms(c.autoDiffMs)} ms`],
    [
      '  addAutoEdges / autoGroup alone',
      `${ms(c.autoEdgePass.median)} / ${ms(c.autoGroupPass.median)} ms (${c.autoEdges} edges, ${c.resources} → ${c.vertices} vertices)`,
    ],
  ]
}

export function render(r: Results, ts: readonly Target[]): string {
  const mc = r.machine
  const verdict = (t: Target): string => (t.met === undefined ? 'n/a' : t.met ? 'met' : 'MISSED')
  const head =
    `mgmt bench: ${r.params.files} files, ${r.params.runs} runs each, ${r.params.repairs} repairs\n` +
    `${mc.cpus} × ${mc.model}, ${mc.memoryMiB} MiB, Node ${mc.node}, Linux ${mc.kernel}, ${mc.date}, in ${mc.dir}\n` +
    (mc.extraCaCerts
      ? 'NODE_EXTRA_CA_CERTS is set: this Node.js reads those certificates at every start\n'
      : '')
  const peerNote = 'skipped' in r.peer ? `\ncf-agent: skipped (${r.peer.skipped})\n` : ''
  const targetRows = [['target', 'verdict', 'figure'], ...ts.map(t => [t.goal, verdict(t), t.detail])]
  const scale = r.scale ? `\n${table(scaleRows(r.scale))}\n` : ''
  const cluster = r.cluster ? `\n${table(clusterRows(r.cluster))}\n` : ''
  return `${head}\n${table(figureRows(r))}\n${peerNote}${scale}${cluster}\n${table(targetRows)}\n`
}

function clusterRows(c: ClusterFigures): string[][] {
  const dist = (s: Summary): string => `${ms(s.median)} / ${ms(s.p90)} / ${ms(s.p99)} / ${ms(s.max)} ms`
  return [
    ['cluster: hosts on a real etcd', 'p50 / p90 / p99 / max'],
    [`export change on host a → collected file on host b (${c.exports.n})`, dist(c.exports)],
    [`three t3 hosts, spawn → converged with every file (${c.converge.n})`, dist(c.converge)],
  ]
}
