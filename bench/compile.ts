/**
 * Loading the scale graph in this process: the YAML text parsed and compiled (`loadYaml`), a reload
 * after a one-resource edit through a compile cache (what a live change costs the engine), the same
 * graph compiled from a prepared spec with and without automatic edges and grouping, and those two
 * passes timed on their own. Each figure is taken `runs` times, the variants in turn, so that a slow
 * patch of the machine or a garbage collection does not fall on one variant only.
 */
import { performance } from 'node:perf_hooks'
import { editContent, scaleResources, scaleYaml } from './scaleload.js'
import { type Summary, summarize } from './stats.js'

export interface CompileFigures {
  /** Resources declared. */
  readonly resources: number
  /** Vertices after grouping. */
  readonly vertices: number
  /** Automatic edges added. */
  readonly autoEdges: number
  /** The first `loadYaml` of this process (cold code, as in a CLI run). */
  readonly loadFirstMs: number
  /** `loadYaml`: parse and compile, automatic edges and grouping included. */
  readonly load: Summary
  /** `loadYaml` with a compile cache of the previous text, after an edit of one file's content. */
  readonly reload: Summary
  /** `compileGraph` of a prepared spec, with automatic edges and grouping. */
  readonly compile: Summary
  /** `compileGraph` with `noAutoEdges` and `noAutoGroup`. */
  readonly compileBare: Summary
  /** median(compile) − median(compileBare). */
  readonly autoDiffMs: number
  /** `addAutoEdges` alone, on a graph compiled without it. */
  readonly autoEdgePass: Summary
  /** `autoGroup` alone, on a graph compiled without it (and with automatic edges). */
  readonly autoGroupPass: Summary
}

export interface CompileOptions {
  /** Files of the graph, and the directory they live in. */
  readonly n: number
  readonly root: string
  /** The graph file's name, for messages. */
  readonly file: string
  readonly runs: number
}

const time = <T>(f: () => T): [number, T] => {
  const t0 = performance.now()
  const v = f()
  return [performance.now() - t0, v]
}

/** A stride coprime with 100 and most N, as the live edits use. */
const STRIDE = 7919

async function engine() {
  const { loadYaml } = await import('../src/frontends/yaml/parse.js')
  const { builtinRegistry } = await import('../src/resources/index.js')
  const { compileGraph } = await import('../src/engine/compile.js')
  const { CompileCache } = await import('../src/engine/compiled.js')
  const { addAutoEdges } = await import('../src/engine/features/autoedge.js')
  const { autoGroup } = await import('../src/engine/features/autogroup.js')
  return { loadYaml, registry: builtinRegistry(), CompileCache, compileGraph, addAutoEdges, autoGroup }
}

type Engine = Awaited<ReturnType<typeof engine>>

/** Reloads through one cache, each text one edited file away from the one before. */
function reloads(e: Engine, o: CompileOptions, text: string): number[] {
  const cache = new e.CompileCache()
  e.loadYaml(text, o.file, e.registry, { cache })
  const edits = new Map<number, string>()
  const out: number[] = []
  for (let r = 0; r < o.runs; r++) {
    const j = ((r + 1) * STRIDE) % o.n
    edits.set(j, editContent(r, j))
    const edited = scaleYaml(scaleResources(o.n, o.root, edits))
    out.push(time(() => e.loadYaml(edited, o.file, e.registry, { cache }))[0])
  }
  return out
}

export async function measureCompile(o: CompileOptions): Promise<CompileFigures> {
  const e = await engine()
  const resources = scaleResources(o.n, o.root, new Map())
  const text = scaleYaml(resources)
  const spec = { name: 'scale', resources, edges: [] }
  const bare = { noAutoEdges: true, noAutoGroup: true }
  const [loadFirstMs, first] = time(() => e.loadYaml(text, o.file, e.registry))
  const xs = { load: [] as number[], compile: [] as number[], bare: [] as number[], edges: [] as number[] }
  const groups: number[] = []
  let autoEdges = 0
  for (let r = 0; r < o.runs; r++) {
    xs.load.push(time(() => e.loadYaml(text, o.file, e.registry))[0])
    xs.compile.push(time(() => e.compileGraph(spec, e.registry))[0])
    const [ms, g] = time(() => e.compileGraph(spec, e.registry, bare))
    xs.bare.push(ms)
    const [edgeMs, result] = time(() => e.addAutoEdges(g.graph))
    xs.edges.push(edgeMs)
    autoEdges = result.added
    groups.push(time(() => e.autoGroup(g.graph))[0])
  }
  const compile = summarize(xs.compile)
  const compileBare = summarize(xs.bare)
  return {
    resources: resources.length,
    vertices: first.graph.size,
    autoEdges,
    loadFirstMs,
    load: summarize(xs.load),
    reload: summarize(reloads(e, o, text)),
    compile,
    compileBare,
    autoDiffMs: compile.median - compileBare.median,
    autoEdgePass: summarize(xs.edges),
    autoGroupPass: summarize(groups),
  }
}
