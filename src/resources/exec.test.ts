import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { stateFiles } from '../engine/context.js'
import { parseParams } from '../engine/params.js'
import { startResource } from '../testing/timeline.js'
import { isMgmtError } from '../util/errors.js'
import { findEntry } from '../util/ids.js'
import { noOutputs, readOutputs, writeOutputs } from './exec/cache.js'
import { resolveCredentials } from './exec/credentials.js'
import { runCommand } from './exec/run.js'
import { exec } from './exec.js'

async function tmp(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-exec-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A FIFO the command writes its pids to; reading it returns once the command has written them. */
async function pidPipe(dir: string): Promise<{ path: string; read: () => Promise<number[]> }> {
  const path = join(dir, 'pids')
  execFileSync('mkfifo', [path])
  return { path, read: async () => (await readFile(path, 'utf8')).trim().split(/\s+/).map(Number) }
}

/** PF_EXITING in /proc/<pid>/stat flags: the process is inside exit(), past the point of return. */
const PF_EXITING = 0x4

/** A process as /proc shows it, or undefined when there is no such process. */
async function procStat(pid: number): Promise<{ dead: boolean; pgrp: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const state = f[0] ?? ''
    const flags = Number(f[6])
    return { dead: state === 'Z' || state === 'X' || (flags & PF_EXITING) !== 0, pgrp: Number(f[2]) }
  } catch {
    return undefined
  }
}

/**
 * Dead: gone (ESRCH), a zombie, or exiting. An orphan killed with its group is re-parented to
 * PID 1, which in a container may never reap it; it has exited all the same. And a process whose
 * open files are closed (what the command's end waits for) may not be a zombie yet, but it is
 * already inside exit().
 */
async function isDead(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
  return (await procStat(pid))?.dead ?? true
}

/** Live processes of process group `pgid`. */
async function liveMembers(pgid: number): Promise<number[]> {
  const live: number[] = []
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue
    const s = await procStat(Number(e))
    if (s && s.pgrp === pgid && !s.dead) live.push(Number(e))
  }
  return live
}

const sh = '/bin/sh'

test('exec runs its command at each checkApply and logs it', async t => {
  const dir = await tmp(t)
  const h = await startResource(exec, 'marker', { shell: sh, cmd: 'echo x >> marker', cwd: dir })
  t.after(() => h.stop())
  await h.startup()
  assert.equal(await h.checkApply(), false)
  assert.equal(await readFile(join(dir, 'marker'), 'utf8'), 'x\n')
  // The engine's clean-state cache is what keeps a converged exec from running again.
  assert.equal(await h.checkApply(), false)
  assert.equal(await readFile(join(dir, 'marker'), 'utf8'), 'x\nx\n')
  assert.ok(h.logs.includes('exec[marker]: running: echo x >> marker'))
  assert.ok(h.logs.includes('exec[marker]: exited 0'))
})

test('exec splits cmd on whitespace and runs it with no shell', async t => {
  const dir = await tmp(t)
  const h = await startResource(exec, 'touch a b', { cwd: dir })
  t.after(() => h.stop())
  await h.startup()
  assert.equal(await h.checkApply(), false)
  assert.ok(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b')))

  const h2 = await startResource(exec, 'home', { cmd: 'echo $HOME', env: { HOME: '/root' } })
  t.after(() => h2.stop())
  await h2.startup()
  await h2.checkApply()
  assert.equal(h2.sent?.stdout, '$HOME\n')

  const h3 = await startResource(exec, 'home', { cmd: 'echo $HOME', shell: sh, env: { HOME: '/root' } })
  t.after(() => h3.stop())
  await h3.startup()
  await h3.checkApply()
  assert.equal(h3.sent?.stdout, '/root\n')
})

test('exec runs with an empty environment unless env is given', async t => {
  const dir = await tmp(t)
  const h = await startResource(exec, 'env', { shell: sh, cmd: 'env > out', cwd: dir })
  t.after(() => h.stop())
  await h.startup()
  await h.checkApply()
  const lines = (await readFile(join(dir, 'out'), 'utf8')).split('\n').filter(Boolean)
  assert.deepEqual(
    lines.filter(l => !l.startsWith('PWD=')),
    [],
  )

  const h2 = await startResource(exec, 'env2', { cmd: 'env', env: { FOO: 'bar baz', A: '1' } })
  t.after(() => h2.stop())
  await h2.startup()
  await h2.checkApply()
  assert.deepEqual(String(h2.sent?.stdout).split('\n').filter(Boolean).sort(), ['A=1', 'FOO=bar baz'])
})

test('exec passes args verbatim and runs in cwd', async t => {
  const dir = await tmp(t)
  const h = await startResource(exec, 'printf', { args: ['%s|', 'a b', "c'd"] })
  t.after(() => h.stop())
  await h.startup()
  await h.checkApply()
  assert.equal(h.sent?.stdout, "a b|c'd|")

  const h2 = await startResource(exec, 'pwd', { cwd: dir })
  t.after(() => h2.stop())
  await h2.startup()
  await h2.checkApply()
  assert.equal(h2.sent?.stdout, `${dir}\n`)
})

test('exec sends stdout, stderr and their interleaving', async t => {
  const h = await startResource(exec, 'out', { shell: sh, cmd: 'echo out; echo err >&2' })
  t.after(() => h.stop())
  await h.startup()
  await h.checkApply()
  assert.equal(h.sent?.stdout, 'out\n')
  assert.equal(h.sent?.stderr, 'err\n')
  assert.deepEqual(String(h.sent?.output).split('\n').sort(), ['', 'err', 'out'])
})

test('a failing command throws ERR_EXEC_FAILED with its exit code and stderr', async t => {
  const h = await startResource(exec, 'fail', { shell: sh, cmd: 'echo oops >&2; exit 3' })
  t.after(() => h.stop())
  await h.startup()
  await assert.rejects(h.checkApply(), e => {
    assert.ok(isMgmtError(e, 'ERR_EXEC_FAILED'))
    assert.deepEqual(e.details, {
      command: 'echo oops >&2; exit 3',
      exitCode: 3,
      signal: null,
      timedOut: false,
      stderr: 'oops\n',
    })
    assert.match(e.message, /exited with code 3: oops/)
    return true
  })
  assert.equal(h.sent, undefined)
})

test('a command that cannot start is an error', async t => {
  const h = await startResource(exec, 'no-such-command-for-mgmt-tests --flag', {})
  t.after(() => h.stop())
  await h.startup()
  await assert.rejects(h.checkApply(), /cannot start `no-such-command-for-mgmt-tests --flag`/)

  const h2 = await startResource(exec, 'true', { cwd: '/no/such/dir/for/mgmt' })
  t.after(() => h2.stop())
  await h2.startup()
  // The directory is named as what is missing, not the program (ENOENT is the spawn's).
  await assert.rejects(
    h2.checkApply(),
    /^Error: cannot start `true`: its directory \/no\/such\/dir\/for\/mgmt does not exist$/,
  )

  // More environment than execve takes (a single string may be at most 128 KiB).
  const h3 = await startResource(exec, 'true', { env: { BIG: 'x'.repeat(3 << 20) } })
  t.after(() => h3.stop())
  await h3.startup()
  await assert.rejects(
    h3.checkApply(),
    /^Error: cannot start `true`: its arguments and environment are larger than the system takes \(E2BIG\)$/,
  )
})

test('timeout stops the whole process group', async t => {
  const dir = await tmp(t)
  const pipe = await pidPipe(dir)
  const h = await startResource(exec, 'slow', {
    shell: sh,
    cmd: `sleep 30 & echo "$$ $!" > ${pipe.path}; wait`,
    timeout: 1,
  })
  t.after(() => h.stop())
  await h.startup()
  const started = Date.now()
  const run = h.checkApply()
  const [shPid = 0, sleepPid = 0] = await pipe.read()
  await assert.rejects(run, e => {
    assert.ok(isMgmtError(e, 'ERR_EXEC_FAILED'))
    assert.equal(e.details.signal, 'SIGTERM')
    assert.equal(e.details.timedOut, true)
    assert.match(e.message, /timed out after 1 s/)
    return true
  })
  assert.ok(Date.now() - started < 4000, 'stopped long before sleep 30 would end')
  assert.ok(await isDead(shPid))
  assert.ok(await isDead(sleepPid))
  assert.deepEqual(await liveMembers(shPid), [])
})

test('an abort of checkApply stops the process group with sig', async t => {
  const dir = await tmp(t)
  const pipe = await pidPipe(dir)
  const h = await startResource(exec, 'slow', {
    shell: sh,
    cmd: `sleep 30 & echo "$$ $!" > ${pipe.path}; wait`,
    sig: 'hup',
  })
  t.after(() => h.stop())
  await h.startup()
  const ac = new AbortController()
  const run = h.instance.checkApply(true, ac.signal)
  const [shPid = 0, sleepPid = 0] = await pipe.read()
  ac.abort()
  await assert.rejects(run, { name: 'AbortError' })
  assert.ok(await isDead(shPid))
  assert.ok(await isDead(sleepPid))
  assert.deepEqual(await liveMembers(shPid), [])
})

test('a command that ignores the stop signal is killed after the grace period', async t => {
  const dir = await tmp(t)
  const pipe = await pidPipe(dir)
  const ac = new AbortController()
  const cmd = {
    display: 'stubborn',
    file: sh,
    args: ['-c', `trap '' TERM; sleep 30 & echo "$$ $!" > ${pipe.path}; wait`],
    env: {},
  }
  const run = runCommand(cmd, { signal: ac.signal, graceMs: 200 })
  const [shPid = 0, sleepPid = 0] = await pipe.read()
  ac.abort()
  const r = await run
  assert.equal(r.aborted, true)
  assert.equal(r.signal, 'SIGKILL')
  assert.ok(await isDead(shPid))
  assert.ok(await isDead(sleepPid))
})

test('interrupt kills running commands at once', async t => {
  const dir = await tmp(t)
  const pipe = await pidPipe(dir)
  const h = await startResource(exec, 'stubborn', {
    shell: sh,
    cmd: `trap '' TERM; sleep 30 & echo "$$ $!" > ${pipe.path}; wait`,
  })
  t.after(() => h.stop())
  await h.startup()
  const run = h.checkApply()
  const [shPid = 0, sleepPid = 0] = await pipe.read()
  h.instance.interrupt?.()
  await assert.rejects(run, e => isMgmtError(e, 'ERR_EXEC_FAILED') && e.details.signal === 'SIGKILL')
  assert.ok(await isDead(shPid))
  assert.ok(await isDead(sleepPid))
})

test('ifcmd and ifequals guard the command', async t => {
  const dir = await tmp(t)
  const marker = join(dir, 'marker')
  const run = async (extra: Record<string, unknown>): Promise<boolean> => {
    await rm(marker, { force: true })
    const h = await startResource(exec, 'guarded', { cmd: `touch ${marker}`, ...extra })
    try {
      await h.startup()
      const ok = await h.checkApply()
      assert.equal(existsSync(marker), !ok)
      assert.deepEqual(h.sent, noOutputs)
      return ok
    } finally {
      await h.stop()
    }
  }
  assert.equal(await run({ ifcmd: 'false' }), true)
  assert.equal(await run({ ifcmd: 'true' }), false)
  assert.equal(await run({ ifcmd: 'echo same', ifequals: 'same\n' }), true)
  assert.equal(await run({ ifcmd: 'echo same', ifequals: 'other' }), false)
  assert.equal(await run({ ifcmd: 'test -d .', ifcwd: dir, ifshell: sh, ifequals: '' }), true)
  // ifequals_stdout ignores what ifcmd says on stderr.
  const both = { ifcmd: 'echo yes; echo warning >&2', ifshell: sh }
  assert.equal(await run({ ...both, ifequals_stdout: 'yes\n' }), true)
  assert.equal(await run({ ...both, ifequals: 'yes\n' }), false)
  assert.equal(await run({ ...both, ifequals_stdout: 'no\n' }), false)
  assert.equal(await run({ nifcmd: 'true' }), true)
  assert.equal(await run({ nifcmd: 'false' }), false)
  assert.equal(await run({ nifcmd: `test -e ${join(dir, 'nope')}`, nifshell: sh }), false)
})

test('creates skips the command when the path exists, and its creation is an event', async t => {
  const dir = await tmp(t)
  const created = join(dir, 'created')
  const h = await startResource(exec, 'creates', {
    shell: sh,
    cmd: 'echo ran; echo warn >&2',
    creates: created,
  })
  t.after(() => h.stop())
  await h.startup()
  assert.equal(await h.checkApply(), false)
  assert.deepEqual(h.sent, { output: 'ran\nwarn\n', stdout: 'ran\n', stderr: 'warn\n' })
  const event = h.nextEvent() // counted from now: the write's event may come before writeFile resolves
  await writeFile(created, '')
  await event
  assert.equal(await h.checkApply(), true)
  // Skipped, it still sends the last outputs.
  assert.deepEqual(h.sent, { output: 'ran\nwarn\n', stdout: 'ran\n', stderr: 'warn\n' })
  assert.equal(h.logs.filter(l => l.startsWith('exec[creates]: running:')).length, 1)
})

test('watchfiles: a change of a watched file or directory is an event', async t => {
  const dir = await tmp(t)
  await writeFile(join(dir, 'conf'), 'a')
  const h = await startResource(exec, 'watchfiles', {
    cmd: 'true',
    watchfiles: [join(dir, 'conf'), join(dir, 'sub/')],
  })
  t.after(() => h.stop())
  await h.startup()
  await h.expectEvent(() => writeFile(join(dir, 'conf'), 'b'))
  await h.expectEvent(() => import('node:fs/promises').then(f => f.mkdir(join(dir, 'sub'))))
  await h.expectEvent(() => writeFile(join(dir, 'sub/deep'), 'x'))
})

test('mtimes: a file modified since the last run forces the command, past creates and ifcmd', async t => {
  const dir = await tmp(t)
  const input = join(dir, 'input')
  const log = join(dir, 'log')
  await writeFile(input, 'v1')
  await writeFile(join(dir, 'created'), '')
  const h = await startResource(exec, 'mtimes', {
    shell: sh,
    cmd: `echo run >> ${log}`,
    mtimes: [input],
    creates: join(dir, 'created'),
    ifcmd: 'false',
  })
  t.after(() => h.stop())
  await h.startup()
  // Never ran: every file counts as modified since.
  assert.equal(await h.checkApply(), false)
  assert.equal(await h.checkApply(), true)
  // Modified: an event, and the command runs again.
  await h.expectEvent(() => writeFile(input, 'v2'))
  assert.equal(await h.checkApply(), false)
  assert.equal(await h.checkApply(), true)
  assert.equal(await readFile(log, 'utf8'), 'run\nrun\n')
  await rm(input)
  await assert.rejects(h.checkApply(), /input \(in mtimes\) does not exist/)
})

test('send_output, send_stdout, send_stderr are sent while the command never ran', async t => {
  const dir = await tmp(t)
  await writeFile(join(dir, 'created'), '')
  const h = await startResource(exec, 'fallback', {
    cmd: 'echo never',
    creates: join(dir, 'created'),
    send_output: 'o',
    send_stdout: 'so',
  })
  t.after(() => h.stop())
  await h.startup()
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.sent, { output: 'o', stdout: 'so', stderr: '' })
})

test('refreshonly runs the command only on a notification', async t => {
  const dir = await tmp(t)
  const marker = join(dir, 'marker')
  const h = await startResource(exec, 'refreshonly', { cmd: `touch ${marker}`, refreshonly: true })
  t.after(() => h.stop())
  await h.startup()
  assert.equal(await h.checkApply(), true)
  assert.ok(!existsSync(marker))
  h.setRefresh(true)
  assert.equal(await h.checkApply(), false)
  assert.ok(existsSync(marker))
})

test('noop mode does not run the command', async t => {
  const dir = await tmp(t)
  const marker = join(dir, 'marker')
  const h = await startResource(exec, 'noop', { cmd: `touch ${marker}` })
  t.after(() => h.stop())
  await h.startup()
  assert.equal(await h.checkApply(false), false)
  assert.ok(!existsSync(marker))
  assert.ok(h.logs.includes(`exec[noop]: would run: touch ${marker}`))
})

test('donecmd runs after a successful command, and its failure is an error', async t => {
  const dir = await tmp(t)
  const h = await startResource(exec, 'done', { cmd: 'true', donecmd: 'touch done', donecwd: dir })
  t.after(() => h.stop())
  await h.startup()
  assert.equal(await h.checkApply(), false)
  assert.ok(existsSync(join(dir, 'done')))

  const h2 = await startResource(exec, 'done2', { cmd: 'false', donecmd: `touch ${join(dir, 'not')}` })
  t.after(() => h2.stop())
  await h2.startup()
  await assert.rejects(h2.checkApply(), { code: 'ERR_EXEC_FAILED' })
  assert.ok(!existsSync(join(dir, 'not')))

  const h3 = await startResource(exec, 'done3', { cmd: 'true', donecmd: 'false' })
  t.after(() => h3.stop())
  await h3.startup()
  await assert.rejects(
    h3.checkApply(),
    e => isMgmtError(e, 'ERR_EXEC_FAILED') && e.details.command === 'false',
  )
})

test('user and group run the command with other credentials', async t => {
  const run = async (raw: Record<string, unknown>): Promise<unknown> => {
    const h = await startResource(exec, 'id', raw)
    try {
      await h.startup()
      await h.checkApply()
      return h.sent?.stdout
    } finally {
      await h.stop()
    }
  }
  assert.equal(await run({ cmd: 'id -u', user: 'nobody' }), '65534\n')
  assert.equal(await run({ cmd: 'id -g', user: 'nobody' }), '65534\n')
  assert.equal(await run({ cmd: 'id -g', group: 'nogroup' }), '65534\n')
  assert.equal(await run({ cmd: 'id -u', user: '65534', group: '0' }), '65534\n')
  const h = await startResource(exec, 'id', { cmd: 'id', user: 'no-such-user-for-mgmt' })
  t.after(() => h.stop())
  await h.startup()
  await assert.rejects(h.checkApply(), /unknown user `no-such-user-for-mgmt`/)
})

test('credentials resolve names and numbers', async () => {
  const passwd = '# comment\nroot:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n'
  assert.deepEqual(findEntry(passwd, 'nobody'), { id: 65534, gid: 65534, name: 'nobody' })
  assert.deepEqual(findEntry(passwd, '0'), { id: 0, gid: 0, name: 'root' })
  assert.equal(findEntry(passwd, 'x'), undefined)
  assert.deepEqual(findEntry('nogroup:x:65534:\n', 'nogroup'), { id: 65534, gid: undefined, name: 'nogroup' })
  assert.deepEqual(await resolveCredentials('', ''), { uid: undefined, gid: undefined })
  assert.deepEqual(await resolveCredentials('nobody', 'root'), { uid: 65534, gid: 0 })
  await assert.rejects(resolveCredentials('', 'no-such-group-for-mgmt'), /unknown group/)
})

test('watchcmd: each output line is an event, its exit a watch error', async t => {
  const dir = await tmp(t)
  const fifo = join(dir, 'go')
  execFileSync('mkfifo', [fifo])
  const h = await startResource(exec, 'w', {
    cmd: 'true',
    watchshell: sh,
    watchcmd: `echo one; echo two; cat ${fifo}`,
  })
  t.after(() => h.stop())
  await h.startup()
  while (h.events < 3) await h.nextEvent()
  assert.ok(h.logs.some(l => /^exec\[w\]: debug: \[\d+\] two$/.test(l)))
  await writeFile(fifo, '')
  await assert.rejects(h.nextEvent(), e => isMgmtError(e, 'ERR_EXEC_FAILED') && e.details.exitCode === 0)
})

test('stopping watch stops the watch command group', async t => {
  const dir = await tmp(t)
  const pipe = await pidPipe(dir)
  const h = await startResource(exec, 'w', {
    cmd: 'true',
    watchshell: sh,
    watchcmd: `sleep 30 & echo "$$ $!" > ${pipe.path}; wait`,
  })
  await h.startup()
  const [shPid = 0, sleepPid = 0] = await pipe.read()
  await h.stop()
  assert.equal(h.watchError, undefined)
  assert.ok(await isDead(shPid))
  assert.ok(await isDead(sleepPid))
  t.diagnostic(`watch command ${shPid} stopped`)
})

test('the output cache survives a restart and belongs to its command', async t => {
  const dir = await tmp(t)
  assert.equal(await readOutputs(stateFiles(dir), 'echo hi'), undefined)
  const o = { output: 'hi\nerr\n', stdout: 'hi\n', stderr: 'err\n' }
  await writeOutputs(stateFiles(dir), 'echo hi', o)
  assert.deepEqual(await readOutputs(stateFiles(dir), 'echo hi'), o)
  assert.equal(await readOutputs(stateFiles(dir), 'echo other'), undefined)
  assert.deepEqual(await readdir(dir), ['outputs.json'])
  await writeFile(join(dir, 'outputs.json'), '{"command":"echo hi","output":')
  assert.equal(await readOutputs(stateFiles(dir), 'echo hi'), undefined)
})

test('exec params: defaults, obsolete keys of the original, and cross-field checks', () => {
  const issues = (raw: Record<string, unknown>): string[] =>
    parseParams(exec, 'n', raw).issues.map(i => `${i.path.join('.')}: ${i.message}`)
  const r = parseParams(exec, 'sleep 10s', {
    shell: '',
    timeout: 0,
    watchcmd: '',
    watchshell: '',
    ifcmd: '',
    ifshell: '',
    pollint: 0,
    state: 'present',
    user: 'nobody',
    group: 'nogroup',
  })
  assert.deepEqual(r.issues, [])
  assert.equal(r.params?.cmd, 'sleep 10s')
  assert.equal(r.params?.sig, 'SIGTERM')
  assert.deepEqual(
    r.warnings.map(w => w.path[0]),
    ['pollint', 'state'],
  )
  assert.equal(parseParams(exec, 'n', { sig: 'kill' }).params?.sig, 'SIGKILL')
  assert.equal(parseParams(exec, 'n', { sig: '9' }).params?.sig, 'SIGKILL')
  assert.deepEqual(issues({ sig: 'SIGNOPE' }), ['sig: unknown signal `SIGNOPE`'])
  assert.deepEqual(issues({ args: ['a'], shell: sh }), ['args: args cannot be used with a shell'])
  assert.deepEqual(issues({ cmd: 'echo a', args: ['b'] }), [
    'args: args cannot be used when cmd has arguments',
  ])
  assert.deepEqual(issues({ creates: 'rel/path' }), ['creates: must be an absolute path'])
  assert.deepEqual(issues({ ifequals: 'x' }), ['ifequals: ifequals needs ifcmd'])
  assert.deepEqual(issues({ ifequals_stdout: 'x' }), ['ifequals_stdout: ifequals_stdout needs ifcmd'])
  assert.deepEqual(issues({ watchfiles: ['rel'], mtimes: ['/ok', 'rel'] }), [
    'watchfiles.0: must be an absolute path',
    'mtimes.1: must be an absolute path',
  ])
  assert.deepEqual(issues({ ifcmd: '  ' }), ['ifcmd: the command is blank'])
  assert.deepEqual(issues({ timeout: -1 }).length, 1)
  assert.deepEqual(parseParams(exec, 'n', { env: { PORT: 8080, DEBUG: true } }).params?.env, {
    PORT: '8080',
    DEBUG: 'true',
  })
})

test('an exec depends on the file resources of its programs', async () => {
  const { compileGraph } = await import('../engine/compile.js')
  const { builtinRegistry } = await import('./index.js')
  const { graph } = compileGraph(
    {
      name: 'g',
      resources: [
        {
          kind: 'file',
          name: 'tool',
          params: { path: '/opt/t/bin/tool', state: 'exists', content: '#!/bin/sh\n' },
        },
        { kind: 'file', name: 'sh', params: { path: '/opt/t/sh', state: 'exists', content: '' } },
        {
          kind: 'exec',
          name: 'run',
          params: { cmd: '/opt/t/bin/tool --go', ifcmd: 'test -e /x', ifshell: '/opt/t/sh' },
        },
      ],
      edges: [],
    },
    builtinRegistry(),
  )
  assert.deepEqual([...graph.incoming('exec[run]').keys()].sort(), ['file[sh]', 'file[tool]'])
})

test('an exec depends on the user and the group it runs as', async () => {
  const { compileGraph } = await import('../engine/compile.js')
  const { builtinRegistry } = await import('./index.js')
  const { graph } = compileGraph(
    {
      name: 'g',
      resources: [
        { kind: 'user', name: 'app', params: { state: 'exists' } },
        { kind: 'group', name: 'web', params: { state: 'exists' } },
        { kind: 'exec', name: 'run', params: { cmd: 'id', user: 'app', group: 'web' } },
      ],
      edges: [],
    },
    builtinRegistry(),
  )
  assert.deepEqual([...graph.incoming('exec[run]').keys()].sort(), ['group[web]', 'user[app]'])
})
