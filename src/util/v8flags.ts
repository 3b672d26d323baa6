/**
 * V8's settings for the command.
 *
 * On the command line that starts Node.js, `--max-semi-space-size=2` (MB): V8 reads the size of its
 * young generation once, as it sets up the heap, so it cannot be set from JavaScript. V8 grows the
 * young generation while scavenges see many survivors, which a first converge does (it keeps most
 * of what it makes: workers, contexts, watches), up to two semi-spaces of 16 MB under Node.js 24.
 * Those 32 MB were most of a long-running engine's peak over its settled memory at 1,000 files.
 * Capped at 2 MB, the peak is about 18 MiB lower, and a one-shot run takes no longer
 * (docs/benchmarks.md, the eighth pass). The command's launcher (the `#!/bin/sh` line of
 * `dist/mgmt.mjs`), the build's warm-up that makes its code cache, and a remote host's command line
 * all start Node.js with these flags. Node.js 20 keys its code cache on them too: the cache is made
 * and read under the same flags.
 *
 * From JavaScript, V8's optimizing compilers (Maglev, TurboFan), sized to the graph. For a small
 * graph they do not pay: they compile, on the second core, code that runs a thousand times and is
 * done, and their code and zones are a sixth of the memory of a run over 1,000 files. So the
 * command (`sizeOptimizersToGraph`) turns them off when the graph it is about to load is small
 * (`expectResources`, as early as a frontend can tell: before it parses), and on again for good if
 * a graph grows to OPTIMIZE_FROM_RESOURCES (`graphSize`). They are not off from the start: turned
 * on in the middle of a run, they work less well than on from its start (docs/benchmarks.md, the
 * ninth pass), so a large graph's run never has them off. A program that uses the library keeps
 * V8's settings as it set them.
 */
import { setFlagsFromString } from 'node:v8'

export const V8_FLAGS: readonly string[] = ['--max-semi-space-size=2']

/** The size of a graph, in resources, from which V8's optimizing compilers pay for themselves. */
export const OPTIMIZE_FROM_RESOURCES = 3000

/** `untouched`: the process's own settings, not ours to change (the library, the build's warm-up). */
let optimizers: 'untouched' | 'default' | 'off' | 'on' = 'untouched'

/**
 * Lets the size of the graphs decide whether V8 optimizes (the command's own process). Not in the
 * build's warm-up: under Node.js 20, a code cache written with the compilers turned off would not
 * be taken by a start that has them on.
 */
export function sizeOptimizersToGraph(env: NodeJS.ProcessEnv = process.env): void {
  if (optimizers === 'untouched' && env.MGMT_CODE_CACHE_OUT === undefined) optimizers = 'default'
}

/**
 * A frontend says, before it parses, about how many resources its graph has: a small one turns the
 * compilers off, unless a graph already turned them on.
 */
export function expectResources(resources: number): void {
  if (optimizers === 'default' && resources < OPTIMIZE_FROM_RESOURCES) {
    setOptimizers(false)
    optimizers = 'off'
  } else graphSize(resources)
}

/**
 * The engine says how many resources the graph it runs has: a large one turns the compilers on
 * for good. A small one turns nothing off: that pays only before the frontend's work, which has
 * run by then (a frontend that cannot tell its graph's size early keeps V8's settings).
 */
export function graphSize(resources: number): void {
  if (optimizers === 'untouched' || optimizers === 'on' || resources < OPTIMIZE_FROM_RESOURCES) return
  if (optimizers === 'off') setOptimizers(true)
  optimizers = 'on'
}

/** Whether V8's optimizing compilers are on: false only once a small graph turned them off. */
export const optimizing = (): boolean => optimizers !== 'off'

function setOptimizers(on: boolean): void {
  for (const compiler of ['maglev', 'turbofan']) setFlagsFromString(`--${on ? '' : 'no-'}${compiler}`)
}
