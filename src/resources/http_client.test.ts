/**
 * http:client against the test's own HTTP(S) server on loopback: conditional re-checks (one 200,
 * then 304s), a changed body reaching a file, failures (500, a body cut short, a wrong sha256)
 * that leave the file as it was, redirects, a restart that costs one 304, and HTTPS checked against
 * a CA bundle.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { varDirName } from '../engine/context.js'
import { parseParams } from '../engine/params.js'
import type { GraphSpec } from '../engine/spec.js'
import { run, start } from '../lib/run.js'
import { whenContent } from '../testing/fswait.js'
import { waitingLogger } from '../testing/logwait.js'
import { tempPrefix } from '../testing/prefix.js'
import { startResource } from '../testing/timeline.js'
import { httpClient } from './http_client.js'

/** The test's server: what it serves now, and the status of every answer it gave. */
interface Origin {
  port: number
  mode: 'ok' | '500' | 'truncated'
  data: string
  readonly statuses: number[]
  /** Resolves once the server has answered `n` requests in all. */
  answered(n: number): Promise<void>
  close(): Promise<void>
}

const etagOf = (data: string): string => `"${createHash('sha256').update(data).digest('hex').slice(0, 16)}"`
const sha = (data: string): string => createHash('sha256').update(data).digest('hex')

async function origin(data: string, make = createHttpServer as (h: Handler) => Server): Promise<Origin> {
  const waiters = new Set<() => void>()
  const o: Origin = {
    port: 0,
    mode: 'ok',
    data,
    statuses: [],
    answered: n =>
      new Promise(resolve => {
        const check = (): void => {
          if (o.statuses.length < n) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
    close: () =>
      new Promise(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  const answer = (res: ServerResponse, status: number, headers: Record<string, string | number> = {}) => {
    res.writeHead(status, headers)
    o.statuses.push(status)
    for (const w of [...waiters]) w()
    return res
  }
  const server = make((req: IncomingMessage, res: ServerResponse) => {
    const etag = etagOf(o.data)
    if (req.url === '/old') answer(res, 302, { location: '/data' }).end()
    else if (req.url === '/loop') answer(res, 302, { location: '/loop' }).end()
    else if (o.mode === '500') answer(res, 500).end()
    else if (o.mode === 'truncated') {
      answer(res, 200, { 'content-length': Buffer.byteLength(o.data) + 100, etag }).write(o.data)
      setImmediate(() => res.socket?.destroy())
    } else if (req.headers['if-none-match'] === etag) answer(res, 304, { etag }).end()
    else answer(res, 200, { etag, 'content-length': Buffer.byteLength(o.data) }).end(o.data)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  o.port = (server.address() as AddressInfo).port
  return o
}
type Handler = (req: IncomingMessage, res: ServerResponse) => void

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-14-http-client-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** http:client → file (send/recv), re-checking every `interval` seconds, retrying failures. */
const download = (url: string, out: string, client: Record<string, unknown> = {}): GraphSpec => ({
  name: 'download',
  resources: [
    { kind: 'http:client', name: 'dl', params: { url, ...client }, meta: { retry: -1, delay: 20 } },
    { kind: 'file', name: 'out', params: { path: out, state: 'exists' } },
  ],
  edges: [
    {
      name: 'e',
      from: { kind: 'http:client', name: 'dl' },
      to: { kind: 'file', name: 'out' },
      send: 'content',
      recv: 'content',
    },
  ],
})

const identity = async (path: string): Promise<string> => {
  const st = await stat(path)
  return `${st.ino}/${st.mtimeMs}`
}

test('an unchanged resource costs one 304 a check; a changed one reaches the file', async () => {
  const o = await origin('v1\n')
  const out = join(dir, 'etag.txt')
  const log = waitingLogger('info')
  const h = start(download(`http://127.0.0.1:${o.port}/data`, out, { interval: 0.05 }), {
    prefix: tempPrefix(),
    log,
  })
  try {
    await whenContent(out, 'v1\n')
    const first = await identity(out)
    await o.answered(5)
    assert.deepEqual(o.statuses.slice(0, 5), [200, 304, 304, 304, 304])
    assert.equal(await identity(out), first, 'the file was not touched')
    o.data = 'v2\n'
    await whenContent(out, 'v2\n')
    assert.equal(o.statuses.filter(s => s === 200).length, 2, o.statuses.join())
    assert.ok(
      log.lines.some(l => l === `http:client[dl]: downloaded 3 bytes from http://127.0.0.1:${o.port}/data`),
    )
    assert.ok(!log.lines.some(l => l.includes('v1') || l.includes('v2')), 'the body is never logged')
  } finally {
    h.shutdown()
    await h.done
    await o.close()
  }
})

test('a 500 or a body cut short never creates the file empty and leaves it as it was', async () => {
  const o = await origin('good\n')
  o.mode = '500'
  const out = join(dir, 'fail.txt')
  const log = waitingLogger('info')
  const h = start(download(`http://127.0.0.1:${o.port}/data`, out, { interval: 0.05 }), {
    prefix: tempPrefix(),
    log,
  })
  try {
    await log.waitFor(/http:client\[dl\]: error: GET .*: 500 Internal Server Error; retry \d+ in \d+ ms$/)
    await assert.rejects(stat(out), { code: 'ENOENT' }, 'not created')
    o.mode = 'ok'
    await whenContent(out, 'good\n')
    const kept = await identity(out)

    o.mode = '500'
    // Two failed answers: the client has handled the first one when it asks again.
    await o.answered(o.statuses.length + 2)
    assert.deepEqual(o.statuses.slice(-2), [500, 500])
    assert.equal(await identity(out), kept)
    o.mode = 'truncated'
    o.data = 'longer and newer\n'
    await log.waitFor(/error: GET .*: the body was cut short after \d+ of 117 bytes; retry \d+ in \d+ ms$/)
    await o.answered(o.statuses.length + 1)
    assert.equal(await readFile(out, 'utf8'), 'good\n')
    assert.equal(await identity(out), kept)
    o.mode = 'ok'
    await whenContent(out, 'longer and newer\n')
  } finally {
    h.shutdown()
    await h.done
    await o.close()
  }
})

test('a wrong sha256 is an error that sends nothing; the right one downloads', async () => {
  const o = await origin('checked\n')
  const h = await startResource(httpClient, 'sha', {
    url: `http://127.0.0.1:${o.port}/data`,
    sha256: sha('checked\n').toUpperCase(),
  })
  try {
    await h.startup()
    assert.equal(await h.checkApply(), false)
    assert.deepEqual(h.sent, { content: 'checked\n' })
    o.data = 'tampered\n'
    await assert.rejects(
      h.checkApply(),
      new RegExp(`the body's sha256 is ${sha('tampered\n')}, not ${sha('checked\n')}`),
    )
    assert.deepEqual(h.sent, { content: 'checked\n' }, 'nothing new was sent')
  } finally {
    await h.stop()
    await o.close()
  }
})

test('a server that never answers is a timeout error, and a later answer still arrives', async () => {
  let answer = false
  const server = createHttpServer((_req, res) => {
    if (answer) res.end('late\n')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const h = await startResource(httpClient, 'slow', { url: `http://127.0.0.1:${port}/data`, timeout: 0.2 })
  try {
    await h.startup()
    await assert.rejects(h.checkApply(), /GET http:\/\/127\.0\.0\.1:\d+\/data: no answer within 0\.2 s/)
    answer = true
    assert.equal(await h.checkApply(), false)
    assert.deepEqual(h.sent, { content: 'late\n' })
  } finally {
    await h.stop()
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
})

test('redirects are followed, a loop of them is not', async () => {
  const o = await origin('moved\n')
  const h = await startResource(httpClient, 'redir', { url: `http://127.0.0.1:${o.port}/old` })
  const loop = await startResource(httpClient, 'loop', { url: `http://127.0.0.1:${o.port}/loop` })
  try {
    await h.startup()
    assert.equal(await h.checkApply(), false)
    assert.deepEqual(h.sent, { content: 'moved\n' })
    assert.deepEqual(o.statuses, [302, 200])
    await loop.startup()
    await assert.rejects(loop.checkApply(), /more than 10 redirects \(the last to \/loop\)/)
  } finally {
    await h.stop()
    await loop.stop()
    await o.close()
  }
})

test('after a restart, the kept body is sent on a 304', async () => {
  const o = await origin('kept\n')
  const out = join(dir, 'restart.txt')
  const prefix = join(dir, 'restart-state')
  const graph = download(`http://127.0.0.1:${o.port}/data`, out)
  try {
    const one = await run(graph, { prefix, convergedTimeout: 0, log: 'silent' })
    assert.deepEqual(one.failed, [])
    assert.equal(await readFile(out, 'utf8'), 'kept\n')
    const two = await run(graph, { prefix, convergedTimeout: 0, log: 'silent' })
    assert.deepEqual(two.failed, [])
    assert.deepEqual(o.statuses, [200, 304])
    assert.equal(two.changed, 0)
    // A kept state broken by hand is no cache: the body is asked for whole again.
    await writeFile(
      join(prefix, 'engine', 'state', varDirName('http:client', 'dl'), 'kept.json'),
      '{"sha256": ',
    )
    const three = await run(graph, { prefix, convergedTimeout: 0, maxRuntime: 10, log: 'silent' })
    assert.deepEqual(three.failed, [])
    assert.deepEqual(o.statuses, [200, 304, 200])
  } finally {
    await o.close()
  }
})

test('https: checked against the CA bundle (SSL_CERT_FILE), refused without it', async () => {
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  await promisify(execFile)('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1'],
  ])
  const tls = { key: await readFile(key), cert: await readFile(cert) }
  const o = await origin('secure\n', h => createHttpsServer(tls, h))
  const saved = process.env.SSL_CERT_FILE
  const h = await startResource(httpClient, 'tls', { url: `https://127.0.0.1:${o.port}/data` })
  try {
    await h.startup()
    delete process.env.SSL_CERT_FILE
    await assert.rejects(h.checkApply(), /self-signed certificate/)
    assert.equal(h.sent, undefined)
    process.env.SSL_CERT_FILE = cert
    assert.equal(await h.checkApply(), false)
    assert.deepEqual(h.sent, { content: 'secure\n' })
  } finally {
    if (saved === undefined) delete process.env.SSL_CERT_FILE
    else process.env.SSL_CERT_FILE = saved
    await h.stop()
    await o.close()
  }
})

test('bad params are reported with their key', () => {
  const problems = (raw: Record<string, unknown>): string[] =>
    parseParams(httpClient, 'x', raw).issues.map(i => `${i.path.join('.')}: ${i.message}`)
  assert.match(problems({ url: 'ftp://host/x' })[0]!, /^url: expected an http:\/\/ or https:\/\/ URL/)
  assert.match(problems({ url: 'http://h/', sha256: 'abc' })[0]!, /^sha256: expected 64 hex digits/)
  assert.match(problems({ url: 'http://h/', method: 'G E T' })[0]!, /^method: expected a method/)
})
