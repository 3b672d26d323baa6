/**
 * Descriptors of a large graph written from scratch. A file resource that acts holds its pinned
 * directory open for its check, and an atomic write holds its temporary file open while its
 * fdatasync waits for the thread pool: the writes in flight are bounded (file/atomic.ts), so that N
 * files need about N descriptors, not 2N. The real command, under a lowered descriptor limit.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt } from '../testing/cli.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-12-fds-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const N = 600
/** Room for N pinned directories and Node's own descriptors, not for N temporary files more. */
const LIMIT = 900

test(`${N} files from scratch under a limit of ${LIMIT} descriptors: every one written`, async () => {
  const out = join(dir, 'out')
  const files = Array.from(
    { length: N },
    (_, i) =>
      `  - name: f${i}\n    path: ${out}/f${i}\n    state: exists\n    content: "${i}\\n"\n    mode: "0644"\n`,
  )
  const graph = join(dir, 'g.yaml')
  await writeFile(
    graph,
    `graph: fds\nresources:\n  file:\n  - name: out\n    path: ${out}/\n    state: exists\n    mode: "0755"\n${files.join('')}edges: []\n`,
  )
  const { code, output } = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', graph], {
    via: ['prlimit', `--nofile=${LIMIT}:${LIMIT}`, '--'],
    ms: 60_000,
  })
  assert.doesNotMatch(output, /EMFILE|too many open files/)
  assert.equal(code, 0, output.slice(-2000))
  for (const i of [0, 299, N - 1]) assert.equal(await readFile(join(out, `f${i}`), 'utf8'), `${i}\n`)
})
