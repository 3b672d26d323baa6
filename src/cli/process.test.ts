/**
 * The engine as a process among others: a closed stderr does not end it, SIGHUP reloads its graph,
 * SIGUSR1 opens no debugger, SIGUSR2 does not end it, a graph file that is a FIFO holds no stop,
 * and no command an exec started outlives it, whichever way it ends.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { mainJs, startMgmt } from '../testing/cli.js'
import { deadline } from '../testing/deadline.js'
import { pidsWithMarker } from '../testing/proc.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-7-process-'))
})
after(async () => {
  // This file's own markers only: another run of these tests may be under way beside this one.
  for (const pid of pidsWithMarker(`mgmt-7-marker-${process.pid}-`)) process.kill(pid, 'SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

/** A `sleep` that `withMarker` finds by its odd duration. */
let sleeps = 0
const markedSleep = (): { cmd: string; marker: string } => {
  const marker = `mgmt-7-marker-${process.pid}-${++sleeps}`
  // `exec -a` names the process by the marker; sleep itself runs for 300 s.
  return { cmd: `exec -a ${marker} sleep 300`, marker }
}

/** The TCP ports that process `pid` listens on, from its descriptors and the kernel's tables. */
function listeningPorts(pid: number): number[] {
  const sockets = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]
      if (inode) sockets.add(inode)
    } catch {}
  }
  const ports: number[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6'])
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[3] === '0A' && sockets.has(f[9]!)) ports.push(Number.parseInt(f[1]!.split(':')[1]!, 16))
    }
  return ports
}

test("SIGUSR1 is said and ignored: Node.js's debugger, open to any local user, never listens", async () => {
  const m = startMgmt(['run', '--tmp-prefix', 'empty'])
  try {
    await m.waitFor(/running no local graph/, 30_000)
    assert.deepEqual(listeningPorts(m.child.pid!), [])
    m.child.kill('SIGUSR1')
    await m.waitFor(/SIGUSR1 ignored: it would open Node\.js's debugger/)
    // Node.js would open it a moment after the signal: look a while later.
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.deepEqual(listeningPorts(m.child.pid!), [], m.output())
    assert.doesNotMatch(m.output(), /Debugger listening/)
    m.child.kill('SIGINT')
    assert.equal(await m.exited, 0, m.output())
  } finally {
    await m.kill()
  }
})

test('SIGUSR2 is said and ignored: the engine runs on, and stops in order when asked', async () => {
  const m = startMgmt(['run', '--tmp-prefix', 'empty'])
  try {
    await m.waitFor(/running no local graph/, 30_000)
    m.child.kill('SIGUSR2')
    await m.waitFor(/SIGUSR2 ignored: it means nothing to mgmt/)
    // Node.js's default would have ended the process by the signal: it answers SIGINT instead.
    m.child.kill('SIGINT')
    assert.equal(await m.exited, 0, m.output())
    assert.equal(m.child.signalCode, null, m.output())
  } finally {
    await m.kill()
  }
})

test('a closed stderr (`2>&1 | head -1`) never ends the engine: the graph is applied, exit 0', async () => {
  const out = join(dir, 'epipe-out')
  const file = join(dir, 'epipe.yaml')
  await writeFile(
    file,
    `graph: g
resources:
  exec:
  - {name: slow, cmd: "sleep 0.3"}
  print:
  - {name: after, msg: "printed after head exited"}
  file:
  - {name: f, path: ${out}, state: exists, content: "written\\n"}
edges:
- {name: e1, from: {kind: exec, name: slow}, to: {kind: print, name: after}}
- {name: e2, from: {kind: print, name: after}, to: {kind: file, name: f}}
`,
  )
  const status = execFileSync(
    'bash',
    [
      '-c',
      `"${process.execPath}" "${mainJs}" run --tmp-prefix --converged-timeout 0 yaml "${file}" 2>&1 | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`,
    ],
    { encoding: 'utf8' },
  )
  assert.equal(status.trim(), '0')
  assert.equal(await readFile(out, 'utf8'), 'written\n')
})

test('a run exits once it is done, whatever else holds the process, its output whole in a pipe', async () => {
  // Preloaded: an interval that would hold the process for a minute.
  const hold = join(dir, 'hold.cjs')
  await writeFile(hold, 'setInterval(() => {}, 60_000)\n')
  // 1,500 lines on stderr, more than a pipe's buffer holds.
  const file = join(dir, 'prints.yaml')
  const prints = Array.from({ length: 1500 }, (_, i) => `  - {name: p${i}, msg: "line ${i} of the output"}\n`)
  await writeFile(file, `graph: g\nresources:\n  print:\n${prints.join('')}`)
  const out = spawnSync(
    process.execPath,
    [mainJs, 'run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', file],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--require ${hold}` }, timeout: 30_000 },
  )
  assert.equal(out.status, 0)
  assert.ok(out.stderr.length > 64 << 10)
  assert.equal(out.stderr.match(/: line \d+ of the output$/gm)?.length, 1500)
  assert.match(out.stderr, /converged: 1500 resources, 1 changed .*\n$/)
})

test('SIGHUP reloads the graph (also with --no-watch); running commands stay; SIGTERM ends them', async () => {
  const file = join(dir, 'hup.yaml')
  const watched = markedSleep()
  const text = (msg: string) => `graph: g
resources:
  exec:
  - name: watcher
    cmd: "true"
    watchcmd: "${watched.cmd}"
    watchshell: /bin/bash
  print:
  - {name: p, msg: "${msg}"}
`
  await writeFile(file, text('first'))
  const m = startMgmt(['run', '--tmp-prefix', '--no-watch', 'yaml', file])
  try {
    await m.waitFor(/print\[p\]: first/)
    await m.waitFor(/exec\[watcher\]: exited 0/)
    // Looked at once it runs as its marker: while the kernel execs setpriv, then bash, then sleep,
    // a process's command line reads empty for a moment, and a loaded machine may be in one.
    await until(() => pidsWithMarker(watched.marker).some(named(watched.marker)), 'the watch command runs')
    const sleeping = pidsWithMarker(watched.marker)
    assert.equal(sleeping.length, 1, 'one watch command')
    await writeFile(file, text('second'))
    m.child.kill('SIGHUP')
    await m.waitFor(/print\[p\]: second/)
    assert.match(m.output(), /SIGHUP: reloading/)
    assert.equal(m.child.exitCode, null, 'SIGHUP did not end the engine')
    assert.deepEqual(pidsWithMarker(watched.marker), sleeping, 'the unchanged exec kept its watch command')
    m.child.kill('SIGTERM')
    assert.equal(await m.exited, 0, m.output())
  } finally {
    await m.kill()
  }
  assert.deepEqual(pidsWithMarker(watched.marker), [], 'no command outlives the engine')
})

test('no command outlives the engine: --max-runtime, and a third ^C while a command ignores the stop', async () => {
  const watched = markedSleep()
  const file = join(dir, 'timed.yaml')
  await writeFile(
    file,
    `graph: g\nresources:\n  exec:\n  - {name: watcher, cmd: "true", watchcmd: "${watched.cmd}", watchshell: /bin/bash}\n`,
  )
  const timed = startMgmt(['run', '--tmp-prefix', '--max-runtime', '1', 'yaml', file])
  try {
    await timed.waitFor(/exec\[watcher\]: exited 0/)
    await until(() => pidsWithMarker(watched.marker).some(named(watched.marker)), 'the watch command runs')
    assert.equal(pidsWithMarker(watched.marker).length, 1)
    assert.equal(await timed.exited, 0, timed.output())
  } finally {
    await timed.kill()
  }
  assert.deepEqual(pidsWithMarker(watched.marker), [], 'the watch command is gone')

  // A command that ignores SIGTERM outlives the second ^C's stop for its grace period; the third
  // ^C exits at once, and takes the command with it.
  const stubborn = markedSleep()
  const file2 = join(dir, 'stubborn.yaml')
  await writeFile(
    file2,
    `graph: g\nresources:\n  exec:\n  - {name: long, cmd: "trap '' TERM; ${stubborn.cmd}", shell: /bin/bash}\n`,
  )
  // Its throwaway prefix is made in a directory of the test's own, to see that it goes too.
  const tmp = await mkdtemp(join(dir, 'tmpdir-'))
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file2], { env: { TMPDIR: tmp } })
  try {
    // Running as its marker: bash has set the trap and exec-ed sleep, which keeps it ignoring TERM.
    // (A stop that came between the command's start and its trap killed it at once.)
    await until(
      () => pidsWithMarker(stubborn.marker).some(named(stubborn.marker)),
      'the stubborn command runs',
    )
    assert.equal(readdirSync(tmp).length, 1, 'the throwaway prefix is there while it runs')
    const said = (n: number) => m.waitFor(new RegExp(`(SIGINT: [\\s\\S]*){${n}}`))
    for (let n = 1; n <= 3; n++) {
      m.child.kill('SIGINT')
      await said(n)
    }
    assert.equal(await m.exited, 1, m.output())
  } finally {
    await m.kill()
  }
  assert.deepEqual(pidsWithMarker(stubborn.marker), [], 'the stubborn command is gone')
  assert.deepEqual(readdirSync(tmp), [], 'the throwaway prefix is gone')
})

test('a one-shot run with a throwaway prefix removes it as it ends', async () => {
  const tmp = await mkdtemp(join(dir, 'tmpdir-'))
  const file = join(dir, 'oneshot.yaml')
  const out = join(dir, 'oneshot-out')
  await writeFile(
    file,
    `graph: g\nresources:\n  file:\n  - {name: f, path: ${out}, state: exists, content: "x\\n"}\n`,
  )
  const m = startMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', file], {
    env: { TMPDIR: tmp },
  })
  try {
    assert.equal(await m.exited, 0, m.output())
  } finally {
    await m.kill()
  }
  assert.equal(await readFile(out, 'utf8'), 'x\n')
  assert.deepEqual(readdirSync(tmp), [], 'the throwaway prefix is gone')
})

test('a long-running engine collects its garbage as it starts and once it settles after a commit; a one-shot run never', async () => {
  const g = join(dir, 'collect.yaml')
  const out = join(dir, 'collect-out')
  // Large enough for its first converge to grow the heap past COLLECT_GROWN (not grouped: 5,000
  // vertices).
  const noops = Array.from({ length: 5000 }, (_, i) => `  - {name: n${i}}\n`).join('')
  await writeFile(
    g,
    `graph: g\nresources:\n  noop:\n${noops}  file:\n  - {name: f, path: ${out}, state: exists, content: "one\\n"}\n`,
  )
  const collections = (output: string): string[] =>
    [...output.matchAll(/collected garbage (.*?): [\d.]+ → [\d.]+ MB in [\d.]+ ms/g)].map(c => c[1]!)
  const m = startMgmt(['run', '--debug', '--no-autogroup', '--tmp-prefix', 'yaml', g])
  try {
    await m.waitFor(/converged: 5001 resources, 1 changed \(file\[f\]: startup\)/)
    await m.waitFor(/collected garbage once settled/)
    assert.equal(await readFile(out, 'utf8'), 'one\n')
    assert.deepEqual(collections(m.output()), ['before the first graph starts', 'once settled'])
  } finally {
    await m.kill()
  }
  const once = startMgmt([
    'run',
    '--debug',
    '--no-autogroup',
    '--tmp-prefix',
    '--converged-timeout',
    '0',
    'yaml',
    g,
  ])
  try {
    assert.equal(await once.exited, 0, once.output())
    assert.deepEqual(collections(once.output()), [])
  } finally {
    await once.kill()
  }
})

/** A graph of one file resource. */
const oneFile = (graph: string, path: string, content: string): string =>
  `graph: ${graph}\nresources:\n  file:\n  - {name: f, path: ${path}, state: exists, content: "${content}\\n"}\n`

/**
 * Resolves once process `pid` reads the FIFO `file`: the FIFO among its descriptors, or one of its
 * threads asleep in the kernel for a writer (a blocking open). No line says so: looked at every
 * 50 ms, for at most 15 s.
 */
async function readingFifo(m: ReturnType<typeof startMgmt>, file: string): Promise<void> {
  const pid = m.child.pid!
  const links = (dir: string, read: (p: string) => string): string[] => {
    try {
      return readdirSync(dir).map(e => {
        try {
          return read(join(dir, e))
        } catch {
          return ''
        }
      })
    } catch {
      return []
    }
  }
  const reading = (): boolean =>
    links(`/proc/${pid}/fd`, readlinkSync).includes(file) ||
    links(`/proc/${pid}/task`, t => readFileSync(join(t, 'wchan'), 'utf8')).includes('wait_for_partner')
  for (let waited = 0; !reading(); waited += 50) {
    if (m.child.exitCode !== null || waited > 15_000) assert.fail(`mgmt never read ${file}:\n${m.output()}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** The exit code of `m`, or `running` if it has not exited `ms` after the call. */
function exitWithin(m: ReturnType<typeof startMgmt>, ms: number): Promise<number | 'running'> {
  return new Promise(resolve => {
    const d = deadline(ms, () => resolve('running'))
    void m.exited.then(code => {
      d.cancel()
      resolve(code)
    })
  })
}

test('a graph file that becomes a FIFO: what its writer writes is applied, and ^C ends the run while it waits for one', async () => {
  const file = join(dir, 'fifo.yaml')
  const one = join(dir, 'fifo-one')
  const two = join(dir, 'fifo-two')
  await writeFile(file, oneFile('g1', one, 'one'))
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file])
  try {
    await m.waitFor(/converged: 1 resource, 1 changed/, 30_000)
    const fifo = join(dir, 'fifo.new')
    execFileSync('mkfifo', [fifo])
    await rename(fifo, file)
    // Our open for writing waits for the engine's reader: it reads the FIFO as the file changed.
    await writeFile(file, oneFile('g2', two, 'two'))
    await m.waitFor(/converged: 1 resource, 1 changed \(file\[f\]: graph change\)/)
    assert.equal(await readFile(two, 'utf8'), 'two\n')
    // Read again, with no writer this time: the engine waits for one, holding no thread. (The
    // writer's own events may have it read again first: then that read is the one waiting.)
    m.child.kill('SIGHUP')
    await readingFifo(m, file)
    m.child.kill('SIGINT')
    // Before, the wait held the process after its stop, until a writer came or a second ^C.
    assert.equal(await exitWithin(m, 15_000), 0, m.output())
  } finally {
    await m.kill()
  }
})

test('a graph file that is a FIFO with no writer yet: ^C ends the wait, and the run, exit 0', async () => {
  const file = join(dir, 'first.fifo')
  execFileSync('mkfifo', [file])
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file])
  try {
    await readingFifo(m, file)
    m.child.kill('SIGINT')
    assert.equal(await exitWithin(m, 15_000), 0, m.output())
    assert.doesNotMatch(m.output(), /internal error|\n\s+at /)
  } finally {
    await m.kill()
  }
})

test('kill -9 of the engine: the command it was running goes too (the kernel kills it)', async () => {
  const marked = markedSleep()
  const file = join(dir, 'killed.yaml')
  await writeFile(
    file,
    `graph: g\nresources:\n  exec:\n  - {name: long, cmd: "${marked.cmd}", shell: /bin/bash}\n`,
  )
  // A kill -9 leaves the throwaway prefix: in the test's directory, removed with it.
  const tmp = await mkdtemp(join(dir, 'tmpdir-'))
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file], { env: { TMPDIR: tmp } })
  try {
    await m.waitFor(/exec\[long\]: running/)
    // Started, and past setpriv's and bash's start-up: the sleep itself runs, named by the marker.
    await until(() => pidsWithMarker(marked.marker).some(named(marked.marker)), 'the command started')
    m.child.kill('SIGKILL')
    await m.exited
    // Neither ours nor the engine's child any more: nothing signals its end, so look (every 50 ms).
    await until(() => pidsWithMarker(marked.marker).length === 0, 'the command is gone')
  } finally {
    await m.kill()
  }
})

/**
 * systemd's stop of a service (KillMode=control-group): SIGTERM to the main process, then to every
 * other process of the service's cgroup. The commands of a running apply, a check and a watch die of
 * it too, and that is the stop, not a failure, whichever death mgmt sees first: its own signal, or
 * a command's (`commandsFirst`, as a loaded machine may deliver them).
 */
async function controlGroupStop(tag: string, commandsFirst: boolean): Promise<void> {
  const [applying, checking, watching] = [markedSleep(), markedSleep(), markedSleep()]
  const file = join(dir, `${tag}.yaml`)
  await writeFile(
    file,
    `graph: g
resources:
  exec:
  - {name: applying, cmd: "${applying.cmd}", shell: /bin/bash}
  - {name: checking, cmd: "true", ifcmd: "${checking.cmd}", ifshell: /bin/bash}
  - {name: watching, cmd: "true", watchcmd: "${watching.cmd}", watchshell: /bin/bash}
`,
  )
  const m = startMgmt(['run', '--tmp-prefix', 'yaml', file])
  try {
    const all = [applying, checking, watching].map(c => c.marker)
    await until(
      () => all.every(marker => pidsWithMarker(marker).some(named(marker))),
      'the three commands run',
    )
    if (!commandsFirst) m.child.kill('SIGTERM')
    // Each one that is still there: the engine's stop may have ended one already.
    for (const marker of all)
      for (const pid of pidsWithMarker(marker))
        try {
          process.kill(pid, 'SIGTERM')
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e
        }
    if (commandsFirst) m.child.kill('SIGTERM')
    assert.equal(await m.exited, 0, m.output())
    assert.match(m.output(), /SIGTERM: shutting down/)
    assert.doesNotMatch(m.output(), /error|failed/, m.output())
  } finally {
    await m.kill()
  }
}

test("a stop sent to the whole control group (systemd's KillMode=control-group) ends the run cleanly", () =>
  controlGroupStop('cgroup', false))

test('commands that die of the stop before the engine sees its own signal are the stop, not failures', () =>
  controlGroupStop('cgroup-first', true))

/** Whether the process `pid` runs under the name `name` (its argv[0]). */
const named =
  (name: string) =>
  (pid: number): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === name
    } catch {
      return false
    }
  }

/** Resolves once `cond` holds, looked at every 50 ms; fails after 10 s, saying `what`. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !cond(); await new Promise(r => setTimeout(r, 50)))
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`)
}

test('no inotify instance or watch left: a clear error naming the limit and its sysctl, never a crash', async t => {
  // The limits of a user namespace of the test's own: lowering them there leaves every other
  // process on the machine alone.
  try {
    execFileSync('unshare', ['--user', '--map-root-user', 'true'], { stdio: 'ignore' })
  } catch {
    return t.skip('no user namespaces here')
  }
  const file = join(dir, 'limits.yaml')
  await writeFile(
    file,
    `graph: g\nresources:\n  file:\n  - {name: f, path: ${join(dir, 'limits-out')}, state: exists, content: "x\\n"}\n`,
  )
  for (const [knob, sysctl, what] of [
    ['max_inotify_instances', 'fs.inotify.max_user_instances', 'instance'],
    ['max_inotify_watches', 'fs.inotify.max_user_watches', 'watch'],
  ] as const) {
    const run = `echo 0 > /proc/sys/user/${knob} && exec "${process.execPath}" "${mainJs}" run --tmp-prefix --converged-timeout 0 yaml "${file}"`
    let out = ''
    let code = 0
    try {
      out = execFileSync('unshare', ['--user', '--map-root-user', 'sh', '-c', `${run} 2>&1`], {
        encoding: 'utf8',
        timeout: 30_000,
      })
    } catch (e) {
      const err = e as { status: number; stdout: string }
      code = err.status
      out = err.stdout
    }
    const limit = `no inotify ${what} is left (${sysctl} = `
    assert.ok(out.includes(`cannot watch ${file}: cannot watch `) && out.includes(limit), out)
    assert.ok(out.includes(`sysctl -w ${sysctl}=`), out)
    assert.match(out, /file\[f\]: error: watch: cannot watch .*no inotify/)
    assert.doesNotMatch(out, /internal error|\n\s+at /, 'no crash, no stack trace')
    assert.equal(code, 1, out)
  }
})
