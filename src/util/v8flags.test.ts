import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { OPTIMIZE_FROM_RESOURCES } from './v8flags.js'

/**
 * Runs a hot function in a Node.js of its own (V8's flags are the process's), after the calls
 * given, and says whether V8 optimized it (`%GetOptimizationStatus`'s "optimized" bit).
 */
function optimizedAfter(calls: string): boolean {
  const script = `
    import { expectResources, graphSize, optimizing, sizeOptimizersToGraph } from ${JSON.stringify(new URL('./v8flags.js', import.meta.url).href)}
    ${calls}
    function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 2; return s }
    const a = Array.from({ length: 1000 }, (_, i) => i)
    for (let i = 0; i < 20000; i++) hot(a);
    %FinalizeOptimization()
    process.stdout.write(JSON.stringify({ optimized: (%GetOptimizationStatus(hot) & 16) !== 0, optimizing: optimizing() }))`
  const out = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  )
  const { optimized, optimizing } = JSON.parse(out) as { optimized: boolean; optimizing: boolean }
  assert.equal(optimizing, optimized, 'optimizing() says what V8 does')
  return optimized
}

test("a small graph turns V8's optimizing compilers off in the command's process", () => {
  assert.equal(optimizedAfter('sizeOptimizersToGraph({}); expectResources(1000)'), false)
})

test('a large graph leaves them on, and a graph that grows large turns them on again', () => {
  assert.equal(optimizedAfter(`sizeOptimizersToGraph({}); expectResources(${OPTIMIZE_FROM_RESOURCES})`), true)
  const grown = `sizeOptimizersToGraph({}); expectResources(10); graphSize(${OPTIMIZE_FROM_RESOURCES}); expectResources(10)`
  assert.equal(optimizedAfter(grown), true)
})

test("a program that uses the library, or the build's warm-up, keeps V8's settings as they are", () => {
  assert.equal(optimizedAfter('expectResources(10)'), true)
  assert.equal(
    optimizedAfter("sizeOptimizersToGraph({ MGMT_CODE_CACHE_OUT: '/x' }); expectResources(10)"),
    true,
  )
})

test('a small graph that the engine runs, unannounced, turns nothing off', () => {
  assert.equal(optimizedAfter('sizeOptimizersToGraph({}); graphSize(10)'), true)
})
