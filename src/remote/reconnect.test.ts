/**
 * A remote host whose SSH connection is lost while it runs, the hard way: the sshd processes that
 * serve the connection are killed (every child of the host's sshd), and the initiator must notice,
 * connect again, start the run again and repair drift through it; a run with
 * `--converged-timeout` waits for it; a middle host of a hierarchy reconnects its own child. What
 * is NOT retried: a remote run that exits by itself with an error, a login refused on the way back.
 * And a host that never comes back (its sshd gone): ^C during the wait, and `--reconnect-timeout`.
 * The backoff, the choices of reconnect.ts and the probe's stop of a lost run are checked alone first.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { whenContent } from '../testing/fswait.js'
import { childrenOf } from '../testing/proc.js'
import { createRemoteLab, type RemoteLab } from '../testing/remotelab.js'
import { MgmtError } from '../util/errors.js'
import { parseProbe, probeScript } from './probe.js'
import { Backoff, lossCause, reconnectWindowMs, retriable } from './reconnect.js'

const run = promisify(execFile)

test('the backoff doubles from 1 s to 30 s with a little jitter, and starts again when reset', () => {
  const mid = new Backoff(() => 0.5)
  assert.deepEqual(
    Array.from({ length: 7 }, () => mid.next()),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
  )
  mid.reset()
  assert.equal(mid.next(), 1000)
  assert.equal(new Backoff(() => 0).next(), 900)
  assert.equal(new Backoff(() => 1).next(), 1100)
})

test('only a lost transport is retried; the window depends on --converged-timeout', () => {
  const connectErr = new MgmtError('ERR_REMOTE_CONNECT', { remote: 'r', reason: 'connection refused' })
  const auth = new MgmtError('ERR_REMOTE_AUTH', { remote: 'r', tried: ['key k'] })
  const setup = new MgmtError('ERR_REMOTE_SETUP', { remote: 'r', step: 'copy x', reason: 'No space left' })
  assert.equal(retriable(connectErr, false), true)
  assert.equal(retriable(auth, true), false)
  assert.equal(retriable(setup, false), false, 'a step that failed on a live connection')
  assert.equal(retriable(setup, true), true, 'a step cut short by the loss')
  assert.equal(lossCause(undefined), 'the connection was closed')
  assert.equal(
    lossCause(Object.assign(new Error('Keepalive timeout'), { level: 'client-timeout' })),
    'no answer to 3 keepalives, 5 s apart',
  )
  assert.equal(lossCause(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'the connection was reset')
  assert.equal(reconnectWindowMs({ convergedTimeout: -1 }), Number.POSITIVE_INFINITY)
  assert.equal(reconnectWindowMs({ convergedTimeout: 5 }), 60_000)
  assert.equal(reconnectWindowMs({ convergedTimeout: 5, reconnectTimeout: -1 }), Number.POSITIVE_INFINITY)
  assert.equal(reconnectWindowMs({ convergedTimeout: -1, reconnectTimeout: 0 }), 0)
})

test("a reconnection's probe stops the lost run if it still goes, and nothing else", async t => {
  const prefix = await mkdtemp(join(tmpdir(), 'mgmt-reconn-probe-'))
  t.after(() => rm(prefix, { recursive: true, force: true }))
  const wd = join(prefix, 'remote')
  await mkdir(join(wd, 'run-h'), { recursive: true })
  /**
   * A process that looks like a remote run (mgmt.mjs on its command line), in `cwd`, ended by INT;
   * its parent (sh turned sleep) does not reap it, as the lost connection's stuck sshd would not.
   */
  const fake = async (cwd: string): Promise<number> => {
    const js = "process.on('SIGINT', () => process.exit(0)); setInterval(() => {}, 60_000); console.log('up')"
    const parent = spawn(
      'sh',
      ['-c', '"$0" -e "$1" mgmt.mjs & echo "$!"; exec sleep 600', process.execPath, js],
      {
        cwd,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    await new Promise<void>(resolve =>
      parent.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('up\n')) resolve()
      }),
    )
    const pid = Number(out.split('\n')[0])
    t.after(() => {
      for (const p of [pid, parent.pid!])
        try {
          process.kill(p, 'SIGKILL')
        } catch {}
    })
    return pid
  }
  const probeAgain = async (pid: number) => {
    const { stdout } = await run('sh', ['-c', probeScript(true, 'run-h', { wd, pid })], {
      env: { ...process.env, MGMT_PREFIX: prefix },
    })
    return parseProbe(stdout)
  }
  const lostRun = await fake(join(wd, 'run-h'))
  // Stopped by INT, not killed: once it has exited, its zombie is not waited for.
  assert.deepEqual((await probeAgain(lostRun)).previous, { pid: lostRun, killed: false })
  assert.ok(!alive(lostRun))
  // The same pid, now another program's (elsewhere): left alone.
  const other = await fake(prefix)
  assert.equal((await probeAgain(other)).previous, undefined)
  assert.ok(alive(other))
})

/** A lab test fails rather than hangs if what it waits for never comes (a retry that never ends). */
const LAB_TEST = { timeout: 60_000 }

let lab: RemoteLab
let graphs: string
before(async () => {
  // c is reached only through h1 (a hierarchy).
  lab = await createRemoteLab('reconn', [
    { name: 'h1', bridges: [0, 1] },
    { name: 'c', bridges: [1] },
  ])
  graphs = join(lab.dir, 'graphs')
  await mkdir(graphs)
})
after(() => lab?.cleanup())

const h1 = () => lab.hosts.h1!
const outPath = (file: string): string => join(h1().dir, 'out', file)

/** A remote graph for h1 that keeps `out/<name>` holding `content`. */
async function graph(
  name: string,
  content: string,
  o: { host?: string; bridge?: number; extra?: string } = {},
): Promise<string> {
  const host = o.host ?? 'h1'
  const path = join(graphs, `${name}.yaml`)
  await writeFile(
    path,
    [
      `graph: ${name}`,
      `remote: root@${lab.hosts[host]!.addr(o.bridge ?? 0)}`,
      `hostname: ${host}`,
      ...(o.extra ? [o.extra] : []),
      'resources:',
      '  file:',
      '  - name: out',
      `    path: ${join(lab.hosts[host]!.dir, 'out', name)}`,
      '    state: exists',
      `    content: ${JSON.stringify(`${content}\n`)}`,
      '',
    ].join('\n'),
  )
  return path
}

/** The initiator, with a prefix of its own per test (its etcd's data). */
const initiator = (tag: string, args: string[]) =>
  lab.mgmt([
    'run',
    '--prefix',
    join(lab.dir, 'init', tag),
    ...args,
    '--ssh-key',
    lab.clientKey.file,
    '--known-hosts',
    lab.knownHosts,
    'empty',
  ])

/** Kills the sshd processes serving a host's connections (its sshd's children), by PID. */
function killConnections(host = 'h1'): number[] {
  const served = childrenOf(lab.hosts[host]!.sshd.child.pid!)
  assert.ok(served.length > 0, `${host}'s sshd serves no connection`)
  for (const pid of served) process.kill(pid, 'SIGKILL')
  return served
}

/** Whether a process is still running (a zombie waiting for its parent no longer is). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

const remoteRuns = (host = 'h1'): Promise<number[]> => lab.lab.processes(lab.hosts[host]!, 'mgmt.mjs')

test(
  'a killed connection is made again: the run starts again in its directory, repairs drift, and stops on ^C',
  LAB_TEST,
  async () => {
    const file = await graph('again', 'one')
    // Without caching, the run's state is in its temporary directory: the reconnection goes back to it.
    const m = initiator('again', ['--no-caching', '--remote', file])
    const tmp = join(h1().dir, 'tmp')
    let runs: number[] = []
    try {
      await whenContent(outPath('again'), 'one\n')
      const dirs = await readdir(tmp)
      assert.equal(dirs.length, 1)
      const [first] = await remoteRuns()
      assert.ok(first, 'a remote run')
      runs.push(first)
      killConnections()
      await m.waitFor(/h1: back \d/, 30_000)
      const [second] = await remoteRuns()
      assert.ok(second && second !== first, `a new remote run (${first} before, ${second} now)`)
      runs.push(second)
      assert.ok(!alive(first), 'the lost run has ended')
      assert.deepEqual(await readdir(tmp), dirs, 'the same temporary directory')
      // Drift after the reconnection: the new run repairs the real file.
      await writeFile(outPath('again'), 'drift\n')
      await whenContent(outPath('again'), 'one\n')
      // And a live edit goes over the new connection.
      await writeFile(file, (await readFile(file, 'utf8')).replace('"one\\n"', '"two\\n"'))
      await whenContent(outPath('again'), 'two\n')
      m.child.kill('SIGINT')
      assert.equal(await m.exited, 0, m.output())
    } finally {
      await m.kill()
    }
    const out = m.output()
    assert.match(
      out,
      /h1: warn: connection lost \((the connection was closed|the connection was reset)\): reconnecting\n/,
    )
    assert.equal(out.match(/connection lost/g)?.length, 1, out)
    assert.match(
      out,
      /h1: ready in [\d.]+ s: copied 0 program bytes, 0 Node\.js bytes/,
      'the program is not copied again',
    )
    assert.match(out, /h1: stopped/)
    assert.deepEqual(await readdir(tmp), [], 'the temporary directory is removed at the end')
    runs = [...runs, ...(await remoteRuns())]
    assert.deepEqual(runs.filter(alive), [], 'no remote run is left')
  },
)

/** Resolves once the initiator's etcd has held `true` for the host's converged key (from its first revision). */
async function convergedInWorld(host: string): Promise<void> {
  const key = `/_mgmt/converged/${host}`
  const argv = ['netns', 'exec', lab.init.ns, 'etcdctl', '--endpoints=http://127.0.0.1:2379']
  const watch = spawn('ip', [...argv, 'watch', '--rev=1', key], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = ''
      watch.stdout!.on('data', (d: Buffer) => {
        seen += d.toString()
        if (seen.split('\n').includes('true')) resolve()
      })
      watch.once('exit', code => reject(new Error(`etcdctl watch exited (${code}): ${seen}`)))
    })
  } finally {
    watch.kill('SIGKILL')
  }
}

test(
  'with --converged-timeout, the run waits for a lost host to be back and converged',
  LAB_TEST,
  async () => {
    const file = await graph('waited', 'w')
    const m = initiator('waited', ['--converged-timeout', '1', '--remote', file])
    try {
      // Lost once its run has said in the world that it has converged: the world still says so of
      // the lost run for a while (until its registration is revoked or expires), and the run must
      // not end on that.
      await m.waitFor(/h1: running graph/)
      await convergedInWorld('h1')
      killConnections()
      assert.equal(await m.exited, 0, m.output())
    } finally {
      await m.kill()
    }
    const out = m.output()
    const back = out.search(/h1: back \d/)
    assert.ok(back > 0, out)
    assert.ok(back < out.search(/^\S+ converged: /m), `the run ended after the host was back:\n${out}`)
    assert.equal(await readFile(outPath('waited'), 'utf8'), 'w\n')
    assert.doesNotMatch(out, /stopped while reconnecting/)
  },
)

test('a remote run that exits by itself with an error is not started again', LAB_TEST, async () => {
  const file = await graph('failing', 'x')
  // Another process holds the host's prefix: the remote run gives up on it with an error.
  const lock = join(h1().dir, 'prefix', 'run.lock')
  const holder = spawn('sh', ['-c', 'exec 9>>"$1" && flock 9 && echo held && exec sleep 300', 'sh', lock], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve())
      holder.once('exit', () => reject(new Error('the lock holder exited')))
    })
    const m = initiator('failing', ['--remote', file])
    try {
      assert.equal(await m.exited, 1, m.output())
    } finally {
      await m.kill()
    }
    const out = m.output()
    assert.match(
      out,
      /another run \(pid \d+\) uses the state directory[\s\S]*error: h1: the run on h1 exited with code 1/,
    )
    assert.doesNotMatch(out, /connection lost|reconnect/)
    assert.equal(out.match(/h1: ready in/g)?.length, 1, out)
  } finally {
    holder.kill('SIGKILL')
  }
})

test('a login refused on the way back ends the host: no retry', LAB_TEST, async () => {
  const file = await graph('refused', 'y')
  const keys = join(h1().dir, 'sshd', 'authorized_keys.root')
  const saved = await readFile(keys, 'utf8')
  const m = initiator('refused', ['--remote', file])
  try {
    await whenContent(outPath('refused'), 'y\n')
    await writeFile(keys, '')
    killConnections()
    assert.equal(await m.exited, 1, m.output())
  } finally {
    await writeFile(keys, saved)
    await m.kill()
  }
  const out = m.output()
  assert.match(out, /error: h1: root@[\d.]+:22: authentication refused/)
  assert.equal(out.match(/authentication refused/g)?.length, 1, out)
  assert.deepEqual(await remoteRuns(), [])
})

/** Waits for every remote run to end (another namespace's processes give no event: looked at every 50 ms). */
async function noRemoteRuns(): Promise<void> {
  const deadline = Date.now() + 15_000
  while ((await remoteRuns()).length && Date.now() < deadline) await new Promise(r => setTimeout(r, 50))
  assert.deepEqual(await remoteRuns(), [], 'no remote run is left')
}

test(
  'a hierarchy: a lost child is reconnected by its middle host, a lost middle host by this one',
  LAB_TEST,
  async () => {
    await graph('child', 'c', { host: 'c', bridge: 1 })
    const middle = await graph('middle', 'm', { extra: 'remotes: [child.yaml]' })
    const m = initiator('hierarchy', ['--remote', middle])
    const out = join(lab.hosts.c!.dir, 'out', 'child')
    try {
      await whenContent(out, 'c\n')
      killConnections('c')
      await m.waitFor(/h1: c: back \d/, 30_000)
      await writeFile(out, 'drift\n')
      await whenContent(out, 'c\n')
      // The middle host's new run configures c again, through its new tunnel.
      killConnections('h1')
      await m.waitFor(/h1: back \d[\s\S]*h1: c: running graph/, 30_000)
      await writeFile(out, 'drift\n')
      await whenContent(out, 'c\n')
      m.child.kill('SIGINT')
      assert.equal(await m.exited, 0, m.output())
    } finally {
      await m.kill()
    }
    for (const h of ['h1', 'c']) assert.deepEqual(await remoteRuns(h), [], `no remote run is left on ${h}`)
  },
)

// Last: h1's sshd is stopped for good.
test(
  'a host that does not come back: ^C while reconnecting stops at once; --reconnect-timeout gives it up',
  LAB_TEST,
  async () => {
    const listener = h1().sshd.child.pid!
    const waiting = initiator('gone-wait', ['--remote', await graph('gone-wait', 'w')])
    try {
      await whenContent(outPath('gone-wait'), 'w\n')
      // A stopped sshd accepts connections but never answers them: the host cannot come back.
      process.kill(listener, 'SIGSTOP')
      killConnections()
      await waiting.waitFor(/h1: warn: connection lost .*: reconnecting\n/)
      waiting.child.kill('SIGINT')
      assert.equal(await waiting.exited, 0, waiting.output())
    } finally {
      process.kill(listener, 'SIGCONT')
      await waiting.kill()
    }
    assert.doesNotMatch(waiting.output(), /h1: back \d/)
    await noRemoteRuns()

    const given = initiator('gone-up', ['--remote', await graph('gone-up', 'u'), '--reconnect-timeout', '2'])
    try {
      await whenContent(outPath('gone-up'), 'u\n')
      process.kill(listener, 'SIGSTOP')
      killConnections()
      await h1().sshd.stop()
      assert.equal(await given.exited, 1, given.output())
    } finally {
      await given.kill()
    }
    assert.match(
      given.output(),
      /error: h1: cannot reach root@[\d.]+:22: the connection was lost \(.*\) and could not be made again within 2 s; the last attempt: (connection refused|the connection was reset)/,
    )
    assert.doesNotMatch(given.output(), /internal error/)
    await noRemoteRuns()
  },
)
