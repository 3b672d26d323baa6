/**
 * examples/yaml/provision.yaml through the real command, on free loopback ports: the kickstart it
 * renders from a template and a generated password is served over HTTP and TFTP (fetched with
 * tftp-hpa's client), carries the password's hash and never its cleartext, and follows live edits:
 * a new template (the graph file saved) and a new password (its token deleted).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Running, startMgmt } from '../testing/cli.js'
import { httpGet as get } from '../testing/http.js'

const run = promisify(execFile)
const example = fileURLToPath(new URL('../../../examples/yaml/provision.yaml', import.meta.url))

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-14-provision-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The n-th line matching `re` in the output so far, or later. */
const nth = (m: Running, re: RegExp, n: number): Promise<void> =>
  m.waitFor(new RegExp(`(?:[\\s\\S]*?${re.source}){${n}}`), 20_000)

async function tftpGet(port: string, name: string, local: string): Promise<string> {
  await run('tftp', ['-m', 'binary', '127.0.0.1', port, '-c', 'get', name, local], { timeout: 20_000 })
  return readFile(local, 'utf8')
}

/** The kickstart from both servers, which must agree. */
async function served(http: number, tftp: string, tag: string): Promise<string> {
  const reply = await get(http, '/ks.cfg')
  assert.equal(reply.status, 200)
  assert.equal(await tftpGet(tftp, 'ks.cfg', join(dir, `ks-${tag}.cfg`)), reply.body, 'http and tftp agree')
  return reply.body
}

/** The crypt hash in the kickstart matches the password in `rootpw`. */
async function hashMatches(ks: string, root: string): Promise<string> {
  const hash = /^rootpw --iscrypted (\$6\$([^$]+)\$\S+)$/m.exec(ks)
  assert.ok(hash, ks)
  const password = (await readFile(join(root, 'rootpw'), 'utf8')).trim()
  const { stdout } = await run('openssl', ['passwd', '-6', '-salt', hash[2]!, password])
  assert.equal(stdout.trim(), hash[1])
  return password
}

test('the provisioning example serves its rendered kickstart over http and tftp, live', async () => {
  const root = join(dir, 'provision')
  const prefix = join(dir, 'state')
  const graph = join(dir, 'provision.yaml')
  const text = (await readFile(example, 'utf8'))
    .replaceAll('/tmp/mgmt-provision', root)
    .replace('address: 127.0.0.1:8080', 'address: 127.0.0.1:0')
    .replace('address: 127.0.0.1:6969', 'address: 127.0.0.1:0')
  await writeFile(graph, text)
  const m = startMgmt(['run', '--prefix', prefix, 'yaml', graph])
  try {
    await m.waitFor(/http:server\[web\]: listening on 127\.0\.0\.1:(\d+)/)
    await m.waitFor(/tftp:server\[boot\]: listening on udp 127\.0\.0\.1:(\d+)/)
    const http = Number(/http:server\[web\]: listening on 127\.0\.0\.1:(\d+)/.exec(m.output())![1])
    const tftp = /tftp:server\[boot\]: listening on udp 127\.0\.0\.1:(\d+)/.exec(m.output())![1]!
    await nth(m, /tftp:file\[ks\.cfg\]: serving new data/, 1)
    await nth(m, /http:server:file\[\/ks\.cfg\]: serving new data/, 1)

    const first = await served(http, tftp, 'first')
    assert.match(first, /^timezone UTC --utc$/m)
    const password = await hashMatches(first, root)
    assert.match(password, /^[A-Za-z0-9]{24}$/)

    // A new template: the graph file saved with another line in it.
    await writeFile(graph, text.replace('timezone UTC --utc', 'timezone Europe/Paris'))
    await nth(m, /tftp:file\[ks\.cfg\]: serving new data/, 2)
    await nth(m, /http:server:file\[\/ks\.cfg\]: serving new data/, 2)
    const second = await served(http, tftp, 'second')
    assert.match(second, /^timezone Europe\/Paris$/m)
    assert.equal(await hashMatches(second, root), password, 'the same password')

    // A new password: its token deleted, so it generates another one.
    const state = join(prefix, 'engine', 'state')
    const token = (await readdir(state)).find(d => d.startsWith('password-root-'))
    assert.ok(token)
    await unlink(join(state, token, 'password'))
    await nth(m, /tftp:file\[ks\.cfg\]: serving new data/, 3)
    await nth(m, /http:server:file\[\/ks\.cfg\]: serving new data/, 3)
    const third = await served(http, tftp, 'third')
    assert.match(third, /^timezone Europe\/Paris$/m)
    const renewed = await hashMatches(third, root)
    assert.notEqual(renewed, password)

    for (const p of [password, renewed]) assert.ok(!m.output().includes(p), 'no password in the logs')
  } finally {
    assert.equal(await m.kill(), 0, m.output())
  }
})
