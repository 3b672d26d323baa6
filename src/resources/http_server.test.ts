/**
 * http:server and http:server:file against real sockets on loopback: the server listens on a free
 * port that it logs, and the test requests raw paths (no URL normalisation on the client side).
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { parseParams } from '../engine/params.js'
import type { GraphSpec, ResourceSpec } from '../engine/spec.js'
import { start } from '../lib/run.js'
import { httpGet as get } from '../testing/http.js'
import { type WaitingLogger, waitingLogger } from '../testing/logwait.js'
import { tempPrefix } from '../testing/prefix.js'
import { httpServer } from './http_server.js'
import { httpServerFile } from './http_server_file.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-14-http-server-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const r = (kind: string, name: string, params: Record<string, unknown> = {}): ResourceSpec => ({
  kind,
  name,
  params,
})

/** Runs `graph` until `fn` is done; `fn` gets the port the server logged. */
async function serving(
  graph: GraphSpec,
  fn: (port: number, log: WaitingLogger) => Promise<void>,
): Promise<string[]> {
  const log = waitingLogger('debug')
  const run = start(graph, { prefix: tempPrefix(), log })
  try {
    const m = await log.waitFor(/^http:server\[[^\]]+\]: listening on 127\.0\.0\.1:(\d+)$/)
    await fn(Number(m[1]), log)
  } finally {
    run.shutdown()
    const result = await run.done
    assert.deepEqual(result.failed, [], log.lines.join('\n'))
  }
  return log.lines
}

test('serves its parts first, then root; HEAD, 304 on If-None-Match and If-Modified-Since, 404, 405', async () => {
  const root = join(dir, 'root')
  const pub = join(dir, 'pub')
  await mkdir(join(root, 'sub'), { recursive: true })
  await mkdir(pub)
  await writeFile(join(root, 'hello.txt'), 'hello from root\n')
  await writeFile(join(root, 'sub', 'deep.cfg'), 'deep\n')
  await writeFile(join(root, 'ks.cfg'), 'shadowed by the part\n')
  await writeFile(join(pub, 'a.bin'), Buffer.from([0, 1, 2, 255]))
  const graph: GraphSpec = {
    name: 'http',
    resources: [
      r('http:server', 'web', { address: '127.0.0.1:0', root }),
      r('http:server:file', '/ks.cfg', { server: 'web', data: 'install\nrootpw --lock\n' }),
      r('http:server:file', 'pub', { filename: '/pub/', path: `${pub}/` }),
    ],
    edges: [],
  }
  await serving(graph, async port => {
    const ks = await get(port, '/ks.cfg')
    assert.equal(ks.status, 200)
    assert.equal(ks.body, 'install\nrootpw --lock\n')
    assert.equal(ks.headers['content-type'], 'text/plain; charset=utf-8')
    assert.equal(ks.headers['content-length'], '22')
    const etag = ks.headers.etag!
    assert.match(etag, /^"[\w-]+"$/)
    assert.equal((await get(port, '/ks.cfg', { headers: { 'if-none-match': etag } })).status, 304)
    assert.equal((await get(port, '/ks.cfg', { headers: { 'if-none-match': '"other"' } })).status, 200)

    const hello = await get(port, '/hello.txt')
    assert.equal(hello.body, 'hello from root\n')
    const since = { 'if-modified-since': hello.headers['last-modified']! }
    assert.equal((await get(port, '/hello.txt', { headers: since })).status, 304)
    assert.equal((await get(port, '/sub/deep.cfg')).body, 'deep\n')
    assert.equal((await get(port, '/./sub//deep.cfg')).body, 'deep\n')

    const bin = await get(port, '/pub/a.bin')
    assert.equal(bin.status, 200)
    assert.equal(bin.headers['content-type'], 'application/octet-stream')
    assert.equal(bin.headers['content-length'], '4')

    const head = await get(port, '/hello.txt', { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.headers['content-length'], '16')
    assert.equal(head.body, '')

    assert.equal((await get(port, '/nothing')).status, 404)
    assert.equal((await get(port, '/sub')).status, 404, 'no directory listings')
    assert.equal((await get(port, '/')).status, 404)
    const post = await get(port, '/hello.txt', { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.allow, 'GET, HEAD')
  })
})

test('a client that shuts its side down after the request still gets the whole answer', async () => {
  const root = join(dir, 'half')
  await mkdir(root)
  const big = Buffer.alloc(4 << 20, 'x')
  await writeFile(join(root, 'big'), big)
  const graph: GraphSpec = {
    name: 'half',
    resources: [r('http:server', 'half', { address: '127.0.0.1:0', root })],
    edges: [],
  }
  await serving(graph, async port => {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      const c = connect(port, '127.0.0.1', () => c.end('GET /big HTTP/1.0\r\nHost: x\r\n\r\n'))
      c.on('data', (d: Buffer) => chunks.push(d))
      c.on('error', reject)
      c.on('close', () => resolve(Buffer.concat(chunks)))
    })
    const text = answer.toString('latin1')
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/)
    assert.equal(answer.length - (text.indexOf('\r\n\r\n') + 4), big.length)
  })
})

test('connections beyond max_connections are closed at once and said once; the others are served', async () => {
  const root = join(dir, 'bounded')
  await mkdir(root)
  await writeFile(join(root, 'f'), 'served\n')
  const graph: GraphSpec = {
    name: 'bounded',
    resources: [r('http:server', 'bounded', { address: '127.0.0.1:0', root, max_connections: 2 })],
    edges: [],
  }
  const lines = await serving(graph, async (port, log) => {
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => resolve(c))
        c.on('error', reject)
      })
    /** Sends a request on `c`; resolves with all it got once the connection closes. */
    const ask = (c: Socket): Promise<string> =>
      new Promise(resolve => {
        let got = ''
        c.on('data', (d: Buffer) => {
          got += d.toString()
        })
        c.on('close', () => resolve(got))
        c.write('GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      })
    // Two connections hold both places; each more is closed without an answer.
    const held = [await open(), await open()]
    for (let i = 0; i < 3; i++) assert.equal(await ask(await open()), '', 'closed without an answer')
    await log.waitFor(/2 connections at once \(max_connections\): closing more, from 127\.0\.0\.1 first/)
    // The connections within the bound are served.
    assert.match(await ask(held[0]!), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nserved\n$/)
    held[1]!.destroy()
  })
  assert.equal(lines.filter(l => /warn: .*max_connections/.test(l)).length, 1, lines.join('\n'))
})

test('path traversal is refused: .., encoded .., and links that lead out of root or a part', async () => {
  const root = join(dir, 'trav-root')
  const pub = join(dir, 'trav-pub')
  const secret = join(dir, 'secret.txt')
  await mkdir(root)
  await mkdir(pub)
  await writeFile(secret, 'TOP SECRET\n')
  await writeFile(join(root, 'ok.txt'), 'ok\n')
  await symlink(secret, join(root, 'leak.txt'))
  await symlink(dir, join(pub, 'up'))
  await symlink(join(root, 'ok.txt'), join(root, 'inside.txt'))
  const graph: GraphSpec = {
    name: 'http',
    resources: [
      r('http:server', 'web', { address: '127.0.0.1:0', root }),
      r('http:server:file', 'pub', { filename: '/pub/', path: `${pub}/` }),
    ],
    edges: [],
  }
  await serving(graph, async port => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/sub/../../secret.txt',
      '/pub/../../secret.txt',
      '/pub/%2E%2E/%2E%2E/secret.txt',
      `/..${'%2f..'.repeat(20)}${secret}`,
    ]) {
      const reply = await get(port, path)
      assert.equal(reply.status, 403, path)
      assert.ok(!reply.body.includes('SECRET'), path)
    }
    for (const path of ['/leak.txt', '/pub/up/secret.txt']) {
      const reply = await get(port, path)
      assert.equal(reply.status, 403, path)
      assert.ok(!reply.body.includes('SECRET'), path)
    }
    assert.equal((await get(port, '/inside.txt')).body, 'ok\n', 'a link that stays inside is fine')
    assert.equal((await get(port, '/%zz')).status, 400)
  })
})

test('a received value is served as data', async () => {
  const graph: GraphSpec = {
    name: 'http',
    resources: [
      r('http:server', '127.0.0.1:0'),
      r('value', 'v', { any: 'from a value\n' }),
      r('http:server:file', '/v.txt'),
    ],
    edges: [
      {
        name: 'e',
        from: { kind: 'value', name: 'v' },
        to: { kind: 'http:server:file', name: '/v.txt' },
        send: 'any',
        recv: 'data',
      },
    ],
  }
  const lines = await serving(graph, async (port, log) => {
    await log.waitFor(/serving new data/)
    assert.equal((await get(port, '/v.txt')).body, 'from a value\n')
  })
  assert.ok(
    lines.includes('http:server:file[/v.txt]: serving new data at /v.txt (13 bytes)'),
    lines.join('\n'),
  )
  assert.ok(!lines.some(l => l.includes('from a value') && !l.startsWith('value[')), 'no data in the logs')
})

test('bad params are reported with their key', () => {
  const issues = (def: typeof httpServer | typeof httpServerFile, raw: Record<string, unknown>) =>
    parseParams(def, 'x', raw).issues.map(i => `${i.path.join('.')}: ${i.message}`)
  assert.match(issues(httpServer, { address: 'nonsense' })[0]!, /^address: expected host:port/)
  assert.match(issues(httpServer, { address: ':99999' })[0]!, /^address: port 99999 is out of range/)
  assert.match(issues(httpServer, { address: ':80', root: 'rel/dir' })[0]!, /^root: expected an absolute/)
  assert.match(issues(httpServerFile, { path: '/a', data: 'b' })[0]!, /^data: cannot be combined with `path`/)
  assert.match(issues(httpServerFile, { filename: '/../x' })[0]!, /^filename: expected a file name/)
  assert.match(issues(httpServerFile, { path: 'rel' })[0]!, /^path: expected an absolute path/)
})

test('a second server on a taken port fails with the reason', async () => {
  const log = waitingLogger('info')
  const first = start(
    { name: 'a', resources: [r('http:server', '127.0.0.1:0')], edges: [] },
    { prefix: tempPrefix(), log },
  )
  try {
    const port = (await log.waitFor(/listening on 127\.0\.0\.1:(\d+)$/))[1]
    const log2 = waitingLogger('info')
    const second = start(
      { name: 'b', resources: [r('http:server', `127.0.0.1:${port}`)], edges: [] },
      { prefix: tempPrefix(), log: log2, convergedTimeout: 5 },
    )
    await log2.waitFor(/EADDRINUSE/)
    second.shutdown()
    const result = await second.done
    assert.equal(result.failed.length, 1)
  } finally {
    first.shutdown()
    await first.done
  }
})
