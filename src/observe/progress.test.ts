/**
 * Progress: the line itself (with mocked timers), and through the real command in a terminal
 * (`script` gives it one): shown during a long first converge, never in JSON logs nor off a terminal.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, mock, test } from 'node:test'
import type { EngineEvent } from '../engine/events.js'
import { mainJs, runMgmt } from '../testing/cli.js'
import { Progress } from './progress.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-progress-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const ESC = '\x1b'
/** Back to the start of the line, and clear it. */
const ERASE = `\r${ESC}[2K`

const state = (id: string, s: 'checking' | 'changed' | 'clean'): EngineEvent => ({
  type: 'state',
  time: 0,
  id,
  kind: 'file',
  state: s,
})

test('the progress line: after half a second of work, redrawn, under the log lines, erased when idle', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] })
  try {
    const out: string[] = []
    const p = new Progress({ write: t => out.push(t), columns: 80 })
    const ids = ['file[a]', 'file[b]', 'file[c]']
    p.apply({
      type: 'graph',
      time: 0,
      name: 'g',
      vertices: ids.map(id => ({ id, kind: 'file', name: id.slice(5, -1), members: [] })),
      edges: [],
      started: ids,
      removed: [],
    })
    p.apply(state('file[a]', 'checking'))
    mock.timers.tick(499)
    assert.deepEqual(out, [], 'short work shows nothing')
    mock.timers.tick(1)
    assert.deepEqual(out, [`${ERASE}converging graph g: 0/3 resources (1 running)`])
    p.apply(state('file[a]', 'changed'))
    p.apply(state('file[b]', 'clean'))
    mock.timers.tick(100)
    assert.equal(out.at(-1), `${ERASE}converging graph g: 2/3 resources`)
    out.length = 0
    p.writeLine('12:00:00.000 file[c]: created')
    assert.deepEqual(out, [ERASE, '12:00:00.000 file[c]: created\n', 'converging graph g: 2/3 resources'])
    out.length = 0
    p.apply({
      type: 'idle',
      time: 0,
      resources: 3,
      checks: 3,
      changes: [],
      failed: [],
      skipped: [],
      afterCommit: true,
    })
    assert.deepEqual(out, [ERASE], 'erased')
    mock.timers.tick(10_000)
    p.writeLine('later')
    assert.deepEqual(out, [ERASE, 'later\n'], 'no timer left, nothing redrawn')
  } finally {
    mock.timers.reset()
  }
})

/** Runs mgmt in a pseudo-terminal (util-linux `script`); resolves with everything it printed. */
function inTerminal(args: string[]): Promise<string> {
  const command = [process.execPath, mainJs, ...args].map(a => `'${a.replace(/'/g, "'\\''")}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', d => {
      out += d
    })
    child.stderr.on('data', d => {
      out += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('exit', code => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`exit ${code}:\n${out}`))
    })
  })
}

test('in a terminal a long first converge shows progress; with JSON logs or off a terminal it does not', async () => {
  const file = join(dir, 'slow.yaml')
  // Two commands one after the other, 0.4 s each: the line shows from 0.5 s, during the second.
  await writeFile(
    file,
    `graph: slow
resources:
  exec:
  - {name: one, cmd: "sleep 0.4", shell: /bin/sh}
  - {name: two, cmd: "sleep 0.4", shell: /bin/sh}
edges:
- {name: e1, from: {kind: exec, name: one}, to: {kind: exec, name: two}}
`,
  )
  const args = ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', file]
  const [tty, json, quiet, piped] = await Promise.all([
    inTerminal(args),
    inTerminal(['run', '--log-format', 'json', ...args.slice(1)]),
    inTerminal(['run', '--no-progress', ...args.slice(1)]),
    runMgmt(args),
  ])
  assert.ok(tty.includes(`${ERASE}converging graph slow: 1/2 resources (1 running)`), tty)
  assert.match(tty, /converged: 2 resources, 2 changed/)
  assert.doesNotMatch(json, /converging/)
  for (const line of json.trim().split(/\r?\n/)) JSON.parse(line)
  assert.doesNotMatch(quiet, /converging/)
  assert.equal(piped.code, 0, piped.output)
  assert.doesNotMatch(piped.output, /converging/)
  assert.ok(!piped.output.includes(ESC), 'no terminal codes')
})

test("a large first run on a terminal counts its resources' info lines instead of printing them", () => {
  const out: string[] = []
  const p = new Progress({ write: t => out.push(t), columns: 80 })
  const vertices = Array.from({ length: 150 }, (_v, i) => ({
    id: `file[f${i}]`,
    kind: 'file',
    name: `f${i}`,
    members: [],
  }))
  p.apply({
    type: 'graph',
    time: 0,
    name: 'big',
    vertices,
    edges: [],
    started: vertices.map(v => v.id),
    removed: [],
  })
  for (let i = 0; i < 150; i++) p.writeLine(`12:00:00.000 file[f${i}]: created`, 'info')
  p.writeLine('12:00:00.000 file[f7]: warn: careful', 'warn')
  p.writeLine('12:00:00.000 graph swap or another engine line', 'info')
  p.apply({
    type: 'idle',
    time: 0,
    resources: 150,
    checks: 150,
    changes: [],
    failed: [],
    skipped: [],
    afterCommit: true,
  })
  p.writeLine('12:00:01.000 file[f1]: content updated', 'info')
  p.close()
  assert.deepEqual(out, [
    '12:00:00.000 file[f7]: warn: careful\n',
    '12:00:00.000 graph swap or another engine line\n',
    '(150 info lines of resources not shown during the first run; --no-progress shows them)\n',
    '12:00:01.000 file[f1]: content updated\n',
  ])
})
