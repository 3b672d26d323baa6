/**
 * `--prometheus` through the real command: the original's prometheus-3 and prometheus-4 checks
 * (counts after a known graph, a soft failure being retried), `promtool check metrics` on the live
 * endpoint, and the listen address's errors.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt, startMgmt } from '../testing/cli.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-metrics-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The original's prometheus-3 graph, in `root`: three files, and a fourth in noop. */
const prometheus3 = (root: string, file1 = `${root}/f1`, meta1 = '') => `graph: mygraph
resources:
  file:
  - name: file1
    path: "${file1}"
    content: |
      i am f1
    state: exists${meta1}
  - name: file2
    path: "${root}/f2"
    content: |
      i am f2
    state: exists
  - name: file3
    path: "${root}/f3"
    content: |
      i am f3
    state: exists
  - name: file4
    path: "${root}/f4"
    content: |
      i am f4
    state: exists
    meta:
      noop: true
`

/** Starts mgmt on `graph` with metrics on a free port; returns it and the metrics URL. */
async function withMetrics(name: string, graph: string) {
  const root = await mkdtemp(join(dir, `${name}-`))
  const file = join(root, 'graph.yaml')
  await writeFile(file, graph.replaceAll('@', root))
  const m = startMgmt([
    'run',
    '--tmp-prefix',
    '--prometheus',
    '--prometheus-listen',
    '127.0.0.1:0',
    'yaml',
    file,
  ])
  await m.waitFor(/Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/)
  const url = /Prometheus metrics on (\S+)/.exec(m.output())![1]!
  return { m, url, root }
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return res.text()
}

/** The value of the sample named exactly `series` (`name{labels}`). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test('prometheus-3: checkApply counts of a known graph; the graph start time; promtool accepts it', async () => {
  const { m, url } = await withMetrics('p3', prometheus3('@'))
  try {
    await m.waitFor(/converged: 4 resources/)
    const text = await scrape(url)
    // Three files created, one that would have been (noop).
    assert.equal(
      sample(text, 'mgmt_checkapply_total{apply="true",errorful="false",eventful="true",kind="file"}'),
      3,
    )
    assert.equal(
      sample(text, 'mgmt_checkapply_total{apply="false",errorful="false",eventful="true",kind="file"}'),
      1,
    )
    assert.equal(sample(text, 'mgmt_resources{kind="file"}'), 4)
    assert.equal(sample(text, 'mgmt_failures{failure="soft",kind="file"}'), 0)
    const started = sample(text, 'mgmt_graph_start_time_seconds')!
    assert.ok(Math.abs(started - Date.now() / 1000) < 3600, `graph start time ${started}`)
    assert.ok((sample(text, 'mgmt_checkapply_duration_seconds_count{kind="file"}') ?? 0) >= 4)
    assert.ok(sample(text, 'process_cpu_seconds_total') !== undefined, "Node's default metrics")
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    assert.equal(lint.error, undefined, 'promtool (Debian prometheus) is installed')
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`)
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
})

test('prometheus-4: a file that cannot be written is a soft failure, retried and counted', async () => {
  const graph = prometheus3('@', '@/NONEXIST/f1', '\n    meta:\n      retry: -1\n      delay: 50')
  const { m, url } = await withMetrics('p4', graph)
  try {
    // file1 failed twice; the others were checked (their checkApply has returned: it logged first).
    await m.waitFor(/(file\[file1\]: error: [^\n]*\n[\s\S]*){2}/)
    for (const line of [/file\[file2\]: created/, /file\[file3\]: created/, /file\[file4\]: would create/])
      await m.waitFor(line)
    const text = await scrape(url)
    assert.equal(sample(text, 'mgmt_resources{kind="file"}'), 4)
    assert.equal(
      sample(text, 'mgmt_checkapply_total{apply="false",errorful="false",eventful="true",kind="file"}'),
      1,
    )
    assert.equal(
      sample(text, 'mgmt_checkapply_total{apply="true",errorful="false",eventful="true",kind="file"}'),
      2,
    )
    assert.ok(
      (sample(text, 'mgmt_checkapply_total{apply="true",errorful="true",eventful="true",kind="file"}') ??
        0) >= 2,
    )
    assert.equal(sample(text, 'mgmt_failures{failure="soft",kind="file"}'), 1, 'one soft failure now')
    assert.equal(sample(text, 'mgmt_failures{failure="hard",kind="file"}'), 0)
    assert.ok(
      (sample(text, 'mgmt_failures_total{failure="soft",kind="file"}') ?? 0) >= 2,
      'several since start',
    )
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
})

test('a bad listen address is a usage error; a port in use fails the run before anything is applied', async () => {
  const bad = await runMgmt([
    'run',
    '--tmp-prefix',
    '--prometheus',
    '--prometheus-listen',
    'localhost:http',
    'empty',
  ])
  assert.equal(bad.code, 2, bad.output)
  assert.match(bad.output, /--prometheus-listen expects HOST:PORT/)
  const holder = createServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  const port = (holder.address() as { port: number }).port
  try {
    const root = await mkdtemp(join(dir, 'busy-'))
    const file = join(root, 'graph.yaml')
    await writeFile(file, prometheus3(root))
    const r = await runMgmt([
      'run',
      '--tmp-prefix',
      '--converged-timeout',
      '0',
      '--prometheus',
      '--prometheus-listen',
      `127.0.0.1:${port}`,
      'yaml',
      file,
    ])
    assert.equal(r.code, 1, r.output)
    assert.match(
      r.output,
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} for Prometheus metrics .*EADDRINUSE`),
    )
    assert.doesNotMatch(r.output, /\n\s+at /, 'no stack trace')
    assert.equal(existsSync(join(root, 'f2')), false, 'nothing applied')
  } finally {
    holder.close()
  }
})
