/**
 * The Puppet frontend: a manifest (or inline code) compiled by Puppet in a persistent child
 * process, translated in TypeScript into mgmt's graph, and run by the same engine as YAML graphs.
 * The manifest and the module path are watched; an edit compiles again and applies the difference.
 * A manifest that collects exported resources (`<<| |>>`) collects what other hosts exported to
 * this one, and compiles again when that changes (`exports.ts`).
 */
import type { CompileOptions } from '../../engine/compiled.js'
import type { Registry } from '../../engine/registry.js'
import { formatPath } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import type { World } from '../../world/world.js'
import { emptyGraph, type Frontend, type GraphStream } from '../frontend.js'
import type { PuppetSettings } from './child.js'
import { type Built, build, checkManifest, type PuppetSource, sourceName } from './compiler.js'
import { OthersExports, type PuppetExport } from './exports.js'
import { leasePuppet, setFallbackSettings } from './pool.js'
import { graphYaml } from './print.js'
import { followManifest, type WatchedPath } from './watch.js'

export interface PuppetOptions {
  readonly source: PuppetSource
  readonly settings: PuppetSettings
  /** `--puppet-interval`: seconds between compiles and between checks of `pippet` resources; 0: never. */
  readonly interval: number
  /** `--puppet-timeout`: seconds a compile may take before Puppet is stopped; 0: no limit. */
  readonly timeout?: number
}

/** What an edit of which must compile again. */
function watchedPaths(o: PuppetOptions, first: Built, manifestDir: boolean): WatchedPath[] {
  const paths: WatchedPath[] = []
  if (o.source.manifest) paths.push({ path: o.source.manifest, recursive: manifestDir })
  for (const d of first.result.modulepath) paths.push({ path: d, recursive: true })
  for (const f of [o.source.factsFile, o.settings.config]) if (f) paths.push({ path: f, recursive: false })
  return paths
}

function buildWith(
  o: PuppetOptions,
  registry: Registry,
  compile: CompileOptions,
  log: Logger,
  live?: { readonly world?: World; readonly signal: AbortSignal },
) {
  setFallbackSettings(o.settings)
  const lease = leasePuppet(o.settings, log)
  const stopped = live?.signal ?? new AbortController().signal
  const others = new OthersExports(live?.world, stopped, m => log.warn(m))
  let collecting = false
  let exported: readonly PuppetExport[] = []
  const once = (refreshFacts: boolean): Promise<Built> =>
    build(lease.child, o.source, registry, {
      compile,
      pollInterval: o.interval,
      log,
      catalog: { refreshFacts, exported, timeoutS: o.timeout ?? 0 },
    })
  /**
   * Compiles, the collections (if the last compile had any) from what other hosts export now.
   * With `onlyExports`, compiles only when those exports changed, else resolves undefined.
   */
  const run = async (refreshFacts = false, onlyExports = false): Promise<Built | undefined> => {
    if (collecting) {
      const now = await others.read()
      if (onlyExports && !now.changed) return undefined
      exported = now.exports
    } else if (onlyExports) return undefined
    let b = await once(refreshFacts)
    const collects = b.result.collections.length > 0
    // The manifest collects from now on: once more, with what the others export.
    if (collects && !collecting && others.available) {
      exported = (await others.read()).exports
      if (exported.length) b = await once(false)
    }
    collecting = collects
    return b
  }
  return {
    lease,
    run: async (refreshFacts = false): Promise<Built> => (await run(refreshFacts))!,
    rebuild: run,
    collecting: () => collecting,
    watchExports: (signal: AbortSignal, onChange: () => void) => others.watch(signal, onChange),
  }
}

export function puppetFrontend(o: PuppetOptions): Frontend {
  return async ctx => {
    const log = ctx.log.child('puppet')
    const manifestDir = o.source.manifest ? await checkManifest(o.source.manifest) : false
    // Stopping mgmt stops the child, even in the middle of a compile that would never finish;
    // nothing is applied then.
    // A run stopped before its first compile ended applies nothing.
    const nothing = (): GraphStream => ({ first: emptyGraph(ctx) })
    if (ctx.signal.aborted) return nothing()
    const { lease, run, rebuild, collecting, watchExports } = buildWith(
      o,
      ctx.registry,
      ctx.compile,
      log,
      ctx,
    )
    ctx.signal.addEventListener('abort', () => void lease.release(), { once: true })
    let first: Built
    try {
      first = await run()
    } catch (err) {
      await lease.release()
      if (ctx.signal.aborted) return nothing()
      throw err
    }
    const name = first.result.catalog.name
    log.info(
      `compiled ${sourceName(o.source)} for ${name} in ${first.ms} ms (Puppet ${lease.child.version ?? ''})`,
    )
    for (const w of first.warnings) log.warn(w)
    for (const w of first.compiled.warnings) log.warn(`${formatPath(w.path)}: ${w.message}`)
    for (const c of first.collected) log.info(c)
    // Exports come and go whatever `--no-watch` says, as for a YAML graph that collects.
    const live = ctx.watch || o.interval > 0 || collecting()
    if (!live) return { first: first.compiled }
    return {
      first: first.compiled,
      later: followManifest({
        first,
        rebuild,
        paths: ctx.watch ? watchedPaths(o, first, manifestDir) : [],
        interval: o.interval,
        collecting,
        watchExports,
        log,
        signal: ctx.signal,
      }),
    }
  }
}

/**
 * One compile outside a run (`--print-graph`, `mgmt check puppet`): Puppet's warnings and what was
 * collected are logged, `use` gets the build, and Puppet's child is let go; throws like the
 * frontend does.
 */
async function compileOnce<T>(
  o: PuppetOptions,
  registry: Registry,
  log: Logger,
  use: (b: Built) => T,
): Promise<T> {
  if (o.source.manifest) await checkManifest(o.source.manifest)
  const { lease, run } = buildWith(o, registry, {}, log)
  try {
    const b = await run()
    for (const w of b.warnings) log.warn(w)
    for (const c of b.collected) log.info(c)
    return use(b)
  } finally {
    await lease.release()
  }
}

/** `--print-graph`: the translated graph as YAML on `write`. */
export function printGraph(
  o: PuppetOptions,
  registry: Registry,
  log: Logger,
  write: (text: string) => void,
): Promise<void> {
  return compileOnce(o, registry, log, b => {
    const header = ` mgmt run puppet --print-graph: ${sourceName(o.source)} for ${b.result.catalog.name}; run it with \`mgmt run yaml FILE\``
    write(graphYaml(b.spec, header, b.secrets))
  })
}

/**
 * `mgmt check puppet`: compiles and translates, and checks the graph as a run would, applying
 * nothing. Resolves with a one-line summary; the graph's warnings are logged.
 */
export function checkPuppet(o: PuppetOptions, registry: Registry, log: Logger): Promise<string> {
  return compileOnce(o, registry, log, b => {
    for (const w of b.compiled.warnings) log.warn(`${formatPath(w.path)}: ${w.message}`)
    const n = b.compiled.graph.size
    return `${sourceName(o.source)}: ok (${n} resource${n === 1 ? '' : 's'} for ${b.result.catalog.name})`
  })
}
