/**
 * `mgmt run --remote` end to end: the initiator and each host in their own network namespace, each
 * host with a real sshd; the graphs write files, which the test reads (the namespaces share the
 * file system). See src/testing/remotelab.ts.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { mainJs } from '../testing/cli.js'
import { whenContent } from '../testing/fswait.js'
import { createRemoteLab, type RemoteLab } from '../testing/remotelab.js'
import { shq } from './exec.js'

let lab: RemoteLab
let graphs: string
before(async () => {
  lab = await createRemoteLab('remote', [
    { name: 'h1', bridges: [0, 1] },
    { name: 'h2', bridges: [0], passwords: true },
    { name: 'h3', bridges: [0], noNode: true },
    { name: 'c', bridges: [1] },
  ])
  graphs = join(lab.dir, 'graphs')
  await mkdir(graphs)
})
after(() => lab?.cleanup())

/** Writes a remote graph file that keeps `<host dir>/out/<file>` holding `content`. */
async function remoteFile(
  name: string,
  o: { url: string; host: string; file?: string; content: string; hostname?: string; extra?: string },
): Promise<string> {
  const path = join(graphs, `${name}.yaml`)
  await writeFile(
    path,
    [
      `graph: ${name}`,
      `remote: ${o.url}`,
      ...(o.hostname ? [`hostname: ${o.hostname}`] : []),
      ...(o.extra ? [o.extra] : []),
      'resources:',
      '  file:',
      '  - name: out',
      `    path: ${outPath(o.host, o.file ?? name)}`,
      '    state: exists',
      `    content: ${JSON.stringify(`${o.content}\n`)}`,
      '',
    ].join('\n'),
  )
  return path
}

const outPath = (host: string, file: string): string => join(lab.hosts[host]!.dir, 'out', file)
const ip = (host: string, bridge = 0): string => lab.hosts[host]!.addr(bridge)
const keyed = (): string[] => ['--ssh-key', lab.clientKey.file, '--known-hosts', lab.knownHosts]

/** The bytes a host says were copied, from its `ready` line. */
function copied(output: string, host: string): { program: number; node: number } {
  const m = new RegExp(`${host}: ready in [\\d.]+ s: copied (\\d+) program bytes, (\\d+) Node.js bytes`).exec(
    output,
  )
  assert.ok(m, `no ready line for ${host}:\n${output}`)
  return { program: Number(m[1]), node: Number(m[2]) }
}

test('a host applies its graph, follows a live edit, and stops on ^C; a second run finds the program cached', async () => {
  const file = await remoteFile('live', {
    url: `ssh://root@${ip('h1')}`,
    host: 'h1',
    content: 'one',
    hostname: 'h1',
  })
  const m = lab.mgmt([
    'run',
    '--prefix',
    join(lab.dir, 'init', 'prefix'),
    '--remote',
    file,
    ...keyed(),
    'empty',
  ])
  try {
    await whenContent(outPath('h1', 'live'), 'one\n')
    assert.ok(copied(m.output(), 'h1').program > 0)
    await writeFile(file, (await readFile(file, 'utf8')).replace('"one\\n"', '"two\\n"'))
    await whenContent(outPath('h1', 'live'), 'two\n')
    m.child.kill('SIGINT')
    assert.equal(await m.exited, 0, m.output())
  } finally {
    await m.kill()
  }
  assert.match(m.output(), /live\.yaml changed: copied/)
  assert.match(m.output(), /h1: stopped/)
  assert.deepEqual(await lab.lab.processes(lab.hosts.h1!, 'mgmt.mjs'), [], 'no mgmt left running on h1')
  const cache = join(lab.hosts.h1!.dir, 'prefix', 'remote')
  assert.deepEqual(
    (await readdir(cache)).sort(),
    ['mgmt.mjs'],
    'the program stays cached; the run directory goes',
  )

  const again = lab.mgmt(['run', '--converged-timeout', '0', '--remote', file, ...keyed(), 'empty'])
  assert.equal(await again.exited, 0, again.output())
  assert.deepEqual(copied(again.output(), 'h1'), { program: 0, node: 0 })
})

test('a remote run ends when its initiator is killed', async () => {
  const file = await remoteFile('orphan', {
    url: `root@${ip('h1')}`,
    host: 'h1',
    content: 'x',
    hostname: 'h1',
  })
  // A prefix of its own: killed, the initiator leaves its registration in its etcd's data, which
  // a next run with the same prefix would wait to expire.
  const prefix = join(lab.dir, 'init', 'killed')
  const m = lab.mgmt(['run', '--prefix', prefix, '--remote', file, ...keyed(), 'empty'])
  try {
    await m.waitFor(/h1: running graph/)
    assert.equal((await lab.lab.processes(lab.hosts.h1!, 'mgmt.mjs')).length, 1)
    m.child.kill('SIGKILL')
    await m.exited
  } finally {
    await m.kill()
  }
  // Another namespace's processes give no event when they exit: look every 50 ms.
  const deadline = Date.now() + 15_000
  const etcd = (): Promise<number[]> => lab.lab.processes(lab.init, `--data-dir=${prefix}`)
  while (
    ((await lab.lab.processes(lab.hosts.h1!, 'mgmt.mjs')).length || (await etcd()).length) &&
    Date.now() < deadline
  )
    await new Promise(r => setTimeout(r, 50))
  assert.deepEqual(await lab.lab.processes(lab.hosts.h1!, 'mgmt.mjs'), [], 'the orphaned run has stopped')
  assert.deepEqual(await etcd(), [], "the initiator's etcd went with it")
})

test('password login and --no-caching: the password is never shown or stored, and no file is left', async () => {
  const user = lab.user!
  const file = await remoteFile('pw', {
    url: `ssh://${user.name}:${encodeURIComponent(user.password)}@${ip('h2')}:22`,
    host: 'h2',
    content: 'by password',
    hostname: 'h2',
  })
  // No key anywhere for the initiator: only the password can log in.
  const m = lab.mgmt(['run', '--no-caching', '--remote', file, '--known-hosts', lab.knownHosts, 'empty'])
  try {
    await whenContent(outPath('h2', 'pw'), 'by password\n')
    const [tmp] = await readdir(join(lab.hosts.h2!.dir, 'tmp'))
    assert.match(tmp!, /^mgmt-remote\./, 'the run is in a fresh temporary directory')
    const copy = await readFile(join(lab.hosts.h2!.dir, 'tmp', tmp!, 'run-h2', 'pw.yaml'), 'utf8')
    assert.ok(
      !copy.includes(user.password) &&
        copy.includes(`${user.name}:${'*'.repeat(encodeURIComponent(user.password).length)}@`),
    )
    for (const h of [lab.init, lab.hosts.h2!])
      assert.deepEqual(await lab.lab.processes(h, user.password), [], 'the password is in no command line')
    m.child.kill('SIGINT')
    assert.equal(await m.exited, 0, m.output())
  } finally {
    await m.kill()
  }
  assert.ok(!m.output().includes(user.password))
  assert.deepEqual(await readdir(join(lab.hosts.h2!.dir, 'tmp')), [], 'the temporary directory is removed')
  assert.deepEqual(await readdir(join(lab.hosts.h2!.dir, 'prefix')), [], 'nothing was cached')
})

test('--allow-interactive asks for the password at the terminal, without echoing it', async () => {
  const user = lab.user!
  const file = await remoteFile('typed', {
    url: `ssh://${user.name}@${ip('h2')}`,
    host: 'h2',
    content: 'typed',
    hostname: 'h2',
  })
  const argv = [process.execPath, mainJs, 'run', '--converged-timeout', '0', '--allow-interactive']
  const cmd = [...argv, '--remote', file, '--known-hosts', lab.knownHosts, 'empty'].map(shq).join(' ')
  // `script` gives the command a terminal; what is written to its input is typed there.
  const child = spawn('ip', ['netns', 'exec', lab.init.ns, 'script', '-qfec', cmd, '/dev/null'], {
    // The initiator's own prefix, as lab.mgmt gives it.
    env: {
      ...process.env,
      HOME: join(lab.dir, 'init'),
      MGMT_PREFIX: join(lab.dir, 'init', 'prefix'),
      SSH_AUTH_SOCK: '',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let out = ''
  const exited = new Promise<number | null>(r => child.on('exit', code => r(code)))
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes(`password for ${user.name}@${ip('h2')}: `)) resolve()
      })
      void exited.then(() => reject(new Error(`exited before the prompt:\n${out}`)))
    })
    child.stdin!.write(`${user.password}\r`)
    assert.equal(await exited, 0, out)
  } finally {
    child.kill('SIGKILL')
  }
  assert.equal(await readFile(outPath('h2', 'typed'), 'utf8'), 'typed\n')
  assert.ok(!out.includes(user.password), `the password is not echoed: ${JSON.stringify(out)}`)
})

test('--cconns 1 runs three hosts one after the other; a host without Node.js gets this one', async () => {
  const files = [
    await remoteFile('w1', { url: `root@${ip('h1')}`, host: 'h1', content: 'w1', hostname: 'h1' }),
    await remoteFile('w2', {
      url: `ssh://${lab.user!.name}:${encodeURIComponent(lab.user!.password)}@${ip('h2')}`,
      host: 'h2',
      content: 'w2',
      hostname: 'h2',
    }),
    await remoteFile('w3', { url: `root@${ip('h3')}`, host: 'h3', content: 'w3', hostname: 'h3' }),
  ]
  const m = lab.mgmt([
    'run',
    '--cconns',
    '1',
    '--converged-timeout',
    '0',
    ...files.flatMap(f => ['--remote', f]),
    ...keyed(),
    'empty',
  ])
  assert.equal(await m.exited, 0, m.output())
  for (const h of ['h1', 'h2', 'h3'])
    assert.equal(await readFile(outPath(h, `w${h[1]}`), 'utf8'), `w${h[1]}\n`)
  const out = m.output()
  // One connection at a time: each host has finished before the next one is ready.
  const at = (re: RegExp): number => out.search(re)
  assert.ok(at(/h1: finished/) < at(/h2: ready/) && at(/h2: finished/) < at(/h3: ready/), out)
  assert.ok(copied(out, 'h3').node > 0, 'the Node.js binary went to h3')
  assert.match(out, /h3: ready .*no Node\.js there: this Node\.js [\d.]+ copied along/)
  assert.equal(copied(out, 'h1').node, 0)
})

test('unreachable, refused and unknown hosts are named with their reason; the others carry on; exit 1', async () => {
  const knownWithoutH3 = join(lab.dir, 'known_hosts_without_h3')
  const h3Key = lab.hosts.h3!.sshd.hostKey
  await writeFile(
    knownWithoutH3,
    (await readFile(lab.knownHosts, 'utf8'))
      .split('\n')
      .filter(l => !l.includes(h3Key))
      .join('\n'),
  )
  const files = [
    await remoteFile('ok', { url: `root@${ip('h1')}`, host: 'h1', content: 'ok', hostname: 'h1' }),
    await remoteFile('closed', {
      url: `root@${ip('h2')}:2222`,
      host: 'h2',
      content: 'x',
      hostname: 'closed',
    }),
    await remoteFile('wrongpw', {
      url: `ssh://${lab.user!.name}:not-the-password@${ip('h2')}`,
      host: 'h2',
      content: 'x',
      hostname: 'wrongpw',
    }),
    await remoteFile('stranger', { url: `root@${ip('h3')}`, host: 'h3', content: 'x', hostname: 'stranger' }),
  ]
  const m = lab.mgmt([
    'run',
    '--converged-timeout',
    '0',
    ...files.flatMap(f => ['--remote', f]),
    '--known-hosts',
    knownWithoutH3,
    '--ssh-key',
    lab.clientKey.file,
    'empty',
  ])
  assert.equal(await m.exited, 1, m.output())
  const out = m.output()
  assert.equal(await readFile(outPath('h1', 'ok'), 'utf8'), 'ok\n')
  assert.match(out, new RegExp(`error: closed: cannot reach root@${ip('h2')}:2222: connection refused`))
  assert.match(
    out,
    new RegExp(
      `error: wrongpw: ${lab.user!.name}@${ip('h2')}:22: authentication refused \\(tried: the password in the URL, key `,
    ),
  )
  assert.match(
    out,
    new RegExp(
      `error: stranger: root@${ip('h3')}:22: host key not known \\(ssh-ed25519 SHA256:\\S+ is not in ${knownWithoutH3}\\); if that is the host's key, trust it with: ssh-keyscan -p 22 -t ed25519 ${ip('h3')} >> ${knownWithoutH3}`,
    ),
  )
  assert.match(out, /3 remote hosts failed: closed, wrongpw, stranger/)
  assert.ok(!out.includes('not-the-password'))
})

test('hierarchy: a host configures a host that only it can reach', async () => {
  const child = await remoteFile('child', {
    url: `root@${ip('c', 1)}`,
    host: 'c',
    content: 'from the middle',
    hostname: 'c',
  })
  const middle = await remoteFile('middle', {
    url: `root@${ip('h1')}`,
    host: 'h1',
    content: 'middle',
    hostname: 'h1',
    extra: 'remotes: [child.yaml]',
  })
  // The initiator cannot reach c itself (and with no local graph, the run ends with its last host).
  const direct = lab.mgmt(['run', '--remote', child, ...keyed(), 'empty'])
  assert.equal(await direct.exited, 1)
  assert.match(
    direct.output(),
    /c: cannot reach root@10\.200\.1\.\d+:22: (the network is unreachable|no route)/,
  )
  // Through h1, with the initiator logging in by the SSH agent, and h1 by its own key.
  const { spawn, execFileSync } = await import('node:child_process')
  const sock = join(lab.dir, 'agent.sock')
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' })
  try {
    const { whenEntry } = await import('../testing/fswait.js')
    await whenEntry(lab.dir, 'agent.sock')
    execFileSync('ssh-add', ['-q', lab.clientKey.file], {
      env: { ...process.env, SSH_AUTH_SOCK: sock },
      stdio: 'ignore',
    })
    const m = lab.mgmt(
      ['run', '--converged-timeout', '0', '--remote', middle, '--known-hosts', lab.knownHosts, 'empty'],
      {
        env: { SSH_AUTH_SOCK: sock },
      },
    )
    assert.equal(await m.exited, 0, m.output())
    assert.equal(await readFile(outPath('c', 'child'), 'utf8'), 'from the middle\n')
    assert.equal(await readFile(outPath('h1', 'middle'), 'utf8'), 'middle\n')
    assert.match(m.output(), /h1: c: ready in/)
  } finally {
    agent.kill('SIGTERM')
  }
  assert.ok(!existsSync(join(lab.hosts.c!.dir, 'prefix', 'remote', 'run-c')))
})
