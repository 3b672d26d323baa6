/**
 * The orchestrator from code, against a real sshd on loopback: a world link's tunnel (the etcd
 * world points it at its etcd) is opened for the remote run and closed at the end, and the host
 * counts for convergence until its run says it has converged (its own status, without the world's
 * keys).
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Converger } from '../engine/converger.js'
import { builtinRegistry } from '../resources/index.js'
import { newKeyPair, startSshd } from '../testing/sshd.js'
import { memoryLogger } from '../util/logger.js'
import { loadCredentials } from './auth.js'
import { loadRemoteFiles } from './files.js'
import { Remotes } from './orchestrator.js'

test('a world link opens a reverse tunnel for the remote run; the host counts for convergence', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-orchestrator-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const client = await newKeyPair(dir, 'client')
  const sshd = await startSshd({
    dir: join(dir, 'sshd'),
    authorizedKeys: [client.pub],
    env: { MGMT_PREFIX: join(dir, 'prefix'), HOME: join(dir, 'home') },
  })
  t.after(() => sshd.stop())
  const echo = createServer(s => s.pipe(s))
  await new Promise<void>(r => echo.listen(0, '127.0.0.1', r))
  t.after(() => echo.close())
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`)
  const file = join(dir, 'h.yaml')
  await writeFile(file, `graph: h\nremote: root@127.0.0.1:${sshd.port}\nhostname: lo\n`)
  const log = memoryLogger('info')
  const remotes = new Remotes({
    plans: await loadRemoteFiles([file], builtinRegistry(), {}),
    cconns: 0,
    depth: 0,
    flags: { watch: false, convergedTimeout: 0, caching: true, cconns: 0 },
    credentials: await loadCredentials({ explicit: client.file, home: dir, log }),
    knownHosts: join(dir, 'known_hosts'),
    log,
    check: async () => undefined,
    world: {
      target: async () => ({ host: '127.0.0.1', port: (echo.address() as { port: number }).port }),
      args: () => [],
    },
  })
  const converger = new Converger(0)
  const converged = new Promise<void>(r => converger.onChange(c => c && r()))
  remotes.start(
    () => converger.register(),
    () => {},
  )
  await converged
  const line = log.lines.find(l => l.startsWith('lo: tunnel: port '))
  assert.ok(line, log.lines.join('\n'))
  const port = Number(/port (\d+)/.exec(line)![1])
  // sshd listens on our loopback here: the tunnel's far end is reachable from this test.
  const got = await new Promise<string>((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1', () => s.write('through'))
    s.on('data', d => {
      resolve(d.toString())
      s.end()
    })
    s.on('error', reject)
  })
  assert.equal(got, 'through')
  const [outcome] = await remotes.stop()
  assert.equal(outcome?.error, undefined, log.lines.join('\n'))
  assert.deepEqual(await readdir(join(dir, 'prefix', 'remote')), ['mgmt.mjs'])
  await assert.rejects(
    new Promise((resolve, reject) =>
      tcpConnect(port, '127.0.0.1', () => resolve(undefined)).on('error', reject),
    ),
    /ECONNREFUSED/,
    'the tunnel is closed',
  )
  converger.close()
})
