/**
 * The Puppet frontend's live path, measured two ways, each over K one-line edits of the manifest
 * (one file's content changes; successive edits hit different files and earlier ones stay):
 *
 * - re-compiles in a persistent Puppet child driven from this process: the child's own compile
 *   time, the round trip from Node (the catalog's JSON both ways), and the translation plus
 *   `compileGraph`; the first compile (Ruby, Puppet and Facter loading) is reported apart;
 * - live edits under a running `mgmt run puppet`: from the rename that saves the manifest to the
 *   moment this process sees the new content in the edited file (its own `fs.watch`, no polling).
 *   After each edit the bench waits for the engine to converge again.
 */
import { type FSWatcher, readFileSync, renameSync, watch, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { compileGraph } from '../src/engine/compile.js'
import { PuppetChild } from '../src/frontends/puppet/child.js'
import { compileCatalog, kindParamsOf } from '../src/frontends/puppet/compiler.js'
import { translate } from '../src/frontends/puppet/translate.js'
import { builtinRegistry } from '../src/resources/index.js'
import { silentLogger } from '../src/util/logger.js'
import { convergedAfter, type Daemon, startDaemon, statusLines, stopDaemon } from './daemon.js'
import type { Command } from './proc.js'
import { type Summary, summarize } from './stats.js'
import { puppetManifest } from './workload.js'

/** Successive edits fall far apart in the manifest. */
const STRIDE = 7919

export interface EditOptions {
  readonly n: number
  readonly root: string
  readonly manifest: string
  readonly edits: number
}

export interface Recompiles {
  /** Wall time of the first compile, from the spawn of the child. */
  readonly first: number
  /** The child's own time per re-compile. */
  readonly child: Summary
  /** The same from Node: the request, the compile, the catalog's JSON back and parsed. */
  readonly roundTrip: Summary
  /** Translation of the catalog and `compileGraph` of the result. */
  readonly translate: Summary
}

/** Edit k: which file, and its new content. */
function edit(o: EditOptions, k: number, edits: Map<number, string>): { j: number; content: string } {
  const j = ((k + 1) * STRIDE) % o.n
  const content = `line for ${j}, edit ${k}\n`
  edits.set(j, content)
  return { j, content }
}

/** Saves the manifest the way editors do: a temporary file renamed over it; returns the time of the rename. */
function save(o: EditOptions, edits: ReadonlyMap<number, string>): number {
  writeFileSync(`${o.manifest}.saving`, puppetManifest(o.n, o.root, edits))
  const t = performance.now()
  renameSync(`${o.manifest}.saving`, o.manifest)
  return t
}

export async function measureRecompiles(o: EditOptions): Promise<Recompiles> {
  const child = new PuppetChild({}, silentLogger)
  const registry = builtinRegistry()
  const kindParams = kindParamsOf(registry)
  try {
    const t0 = performance.now()
    await compileCatalog(child, { manifest: o.manifest }, silentLogger)
    const first = performance.now() - t0
    const own: number[] = []
    const roundTrip: number[] = []
    const translation: number[] = []
    const edits = new Map<number, string>()
    for (let k = 0; k < o.edits; k++) {
      const { j, content } = edit(o, k, edits)
      save(o, edits)
      const t1 = performance.now()
      const { result, ms } = await compileCatalog(child, { manifest: o.manifest }, silentLogger)
      const t2 = performance.now()
      const { spec } = translate(result, { kindParams, pollInterval: 0 })
      compileGraph(spec, registry)
      const t3 = performance.now()
      const got = spec.resources.find(r => r.name === join(o.root, 'puppet', `f${j}`))?.params.content
      if (got !== content) throw new Error(`edit ${k}: the compiled graph has ${JSON.stringify(got)}`)
      own.push(ms)
      roundTrip.push(t2 - t1)
      translation.push(t3 - t2)
    }
    return {
      first,
      child: summarize(own),
      roundTrip: summarize(roundTrip),
      translate: summarize(translation),
    }
  } finally {
    await child.stop()
  }
}

/** Resolves with the time `file` first holds `want`, seen through a watch of its directory. */
function holds(dir: string, name: string, want: string, timeoutMs: number): Promise<number> {
  let w: FSWatcher | undefined
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not updated within ${timeoutMs} ms`)), timeoutMs)
    w = watch(dir, (_ev, changed) => {
      if (changed !== null && String(changed) !== name) return
      let now: string
      try {
        now = readFileSync(join(dir, name), 'utf8')
      } catch {
        return
      }
      if (now !== want) return
      clearTimeout(timer)
      resolve(performance.now())
    })
  }).finally(() => w?.close())
}

export interface LiveOptions extends EditOptions {
  /** `node [flags] <cli>`. */
  readonly node: Command
  readonly base: string
  readonly timeoutMs: number
  readonly track: (d: Daemon | undefined) => void
}

/** Rename → new content on disk, per edit, in ms. */
export async function measureLiveEdits(o: LiveOptions): Promise<number[]> {
  const status = join(o.base, 'status', 'converged')
  const args = ['run', '--tmp-prefix', '--converged-timeout', '0', '--converged-timeout-no-exit']
  const d = startDaemon(
    { ...o.node, args: [...o.node.args, ...args, '--converged-status-file', status, 'puppet', o.manifest] },
    status,
    join(o.base, 'logs', 'live.log'),
  )
  o.track(d)
  try {
    await convergedAfter(d, 0, o.timeoutMs)
    const out: number[] = []
    const edits = new Map<number, string>()
    const dir = join(o.root, 'puppet')
    for (let k = 0; k < o.edits; k++) {
      const { j, content } = edit(o, k, edits)
      const before = statusLines(d).length
      const seen = holds(dir, `f${j}`, content, o.timeoutMs)
      const t0 = save(o, edits)
      out.push((await seen) - t0)
      await convergedAfter(d, before, o.timeoutMs)
    }
    return out
  } finally {
    await stopDaemon(d)
    o.track(undefined)
  }
}
