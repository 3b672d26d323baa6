/**
 * tftp:server and tftp:file on loopback: the real client of Debian's tftp-hpa fetches a multi-block
 * file byte-identical (octet and netascii), and gets the errors for writes, `..` and missing files;
 * a raw client of the test's own checks what tftp-hpa's does not ask for: option negotiation
 * (blksize, tsize), a last empty block, retransmission, and packets from a stranger.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { GraphSpec } from '../engine/spec.js'
import { start } from '../lib/run.js'
import { waitingLogger } from '../testing/logwait.js'
import { tempPrefix } from '../testing/prefix.js'
import { parseRequest, toNetascii } from './tftp_server.js'

const run = promisify(execFile)

let dir: string
let root: string
let big: Buffer
let port: number
let stop: () => Promise<void>
let log: ReturnType<typeof waitingLogger>

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-14-tftp-'))
  root = join(dir, 'root')
  await mkdir(join(root, 'pxelinux.cfg'), { recursive: true })
  big = randomBytes(300_000 + 123) // 587 blocks of 512 bytes, the last one partial
  await writeFile(join(root, 'big.bin'), big)
  await writeFile(join(root, 'exact.bin'), randomBytes(2048))
  await writeFile(join(root, 'pxelinux.cfg', 'default'), 'default linux\nlabel linux\n  kernel vmlinuz\n')
  await writeFile(join(dir, 'secret.txt'), 'TOP SECRET\n')
  await symlink(join(dir, 'secret.txt'), join(root, 'leak.txt'))
  const graph: GraphSpec = {
    name: 'tftp',
    resources: [
      { kind: 'tftp:server', name: 'boot', params: { address: '127.0.0.1:0', root, timeout: 1 } },
      { kind: 'tftp:file', name: '/ks.cfg', params: { data: 'text\nwith\r\nlines\n' } },
    ],
    edges: [],
  }
  log = waitingLogger('info')
  const h = start(graph, { prefix: tempPrefix(), log })
  port = Number((await log.waitFor(/^tftp:server\[boot\]: listening on udp 127\.0\.0\.1:(\d+)$/))[1])
  stop = async () => {
    h.shutdown()
    const result = await h.done
    assert.deepEqual(result.failed, [], log.lines.join('\n'))
  }
})
after(async () => {
  await stop?.()
  await rm(dir, { recursive: true, force: true })
})

/** tftp-hpa's client: `get name` into a file; returns what it printed. */
async function tftpGet(name: string, local: string, mode = 'binary'): Promise<string> {
  const r = await run('tftp', ['-m', mode, '127.0.0.1', String(port), '-c', 'get', name, local], {
    timeout: 20_000,
  }).catch((e: { stdout?: string; stderr?: string }) => e)
  return `${r.stdout ?? ''}${r.stderr ?? ''}`
}

test('tftp-hpa fetches a multi-block file byte-identical, and a part', async () => {
  const out = join(dir, 'big.out')
  assert.equal(await tftpGet('big.bin', out), '')
  assert.ok((await readFile(out)).equals(big), 'byte-identical')
  assert.equal(await tftpGet('/ks.cfg', join(dir, 'ks.out')), '')
  assert.equal(await readFile(join(dir, 'ks.out'), 'utf8'), 'text\nwith\r\nlines\n')
})

test('tftp-hpa in netascii gets the text back as it was', async () => {
  const out = join(dir, 'default.out')
  assert.equal(await tftpGet('pxelinux.cfg/default', out, 'netascii'), '')
  assert.equal(await readFile(out, 'utf8'), 'default linux\nlabel linux\n  kernel vmlinuz\n')
  assert.equal(await tftpGet('ks.cfg', join(dir, 'ks2.out'), 'netascii'), '')
  assert.equal(await readFile(join(dir, 'ks2.out'), 'utf8'), 'text\nwith\r\nlines\n')
})

test('writes, .., links out of root and missing files get their error codes', async () => {
  assert.match(
    await tftpGet('../secret.txt', join(dir, 'x1')),
    /Error code 2: \.\.\/secret\.txt: access violation/,
  )
  assert.match(await tftpGet('pxelinux.cfg/../../secret.txt', join(dir, 'x2')), /Error code 2/)
  assert.match(await tftpGet('leak.txt', join(dir, 'x3')), /Error code 2: leak\.txt: access violation/)
  assert.match(await tftpGet('nothing', join(dir, 'x4')), /Error code 1: nothing: file not found/)
  const put = await run(
    'tftp',
    ['-m', 'binary', '127.0.0.1', String(port), '-c', 'put', join(dir, 'secret.txt'), 'x'],
    {
      timeout: 20_000,
    },
  ).catch((e: { stdout?: string; stderr?: string }) => e)
  assert.match(`${put.stdout}${put.stderr}`, /Error code 2: this server is read-only/)
})

// --- a raw client -------------------------------------------------------------------------------

/** A client socket whose packets can be awaited one by one. */
async function client(): Promise<{
  sock: Socket
  next(ms?: number): Promise<{ msg: Buffer; port: number }>
  send(b: Buffer, to?: number): void
  close(): void
}> {
  const sock = createSocket('udp4')
  const queue: { msg: Buffer; port: number }[] = []
  let wake: (() => void) | undefined
  sock.on('message', (msg, from) => {
    queue.push({ msg, port: from.port })
    wake?.()
  })
  await new Promise<void>(resolve => sock.bind(0, '127.0.0.1', resolve))
  return {
    sock,
    next(ms = 10_000) {
      if (queue.length) return Promise.resolve(queue.shift()!)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          wake = undefined
          reject(new Error(`no packet within ${ms} ms`))
        }, ms)
        wake = () => {
          clearTimeout(timer)
          wake = undefined
          resolve(queue.shift()!)
        }
      })
    },
    send: (b, to = port) => sock.send(b, to, '127.0.0.1'),
    close: () => sock.close(),
  }
}

const rrq = (name: string, options: Record<string, string> = {}): Buffer =>
  Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.from(
      `${name}\0octet\0${Object.entries(options)
        .map(([k, v]) => `${k}\0${v}\0`)
        .join('')}`,
    ),
  ])
const ack = (block: number): Buffer => Buffer.from([0, 4, block >> 8, block & 0xff])
const op = (m: Buffer): number => m.readUInt16BE(0)
const block = (m: Buffer): number => m.readUInt16BE(2)

test('blksize and tsize are negotiated (an OACK first), and the file comes in blocks of that size', async () => {
  const c = await client()
  try {
    c.send(rrq('big.bin', { blksize: '1428', tsize: '0', windowsize: '4' }))
    const oack = await c.next()
    assert.equal(op(oack.msg), 6)
    assert.equal(
      oack.msg.subarray(2).toString(),
      `blksize\x001428\0tsize\0${big.length}\0`,
      'windowsize is not taken',
    )
    assert.notEqual(oack.port, port, 'the transfer has its own port')
    c.send(ack(0), oack.port)
    const got: Buffer[] = []
    for (let n = 1; ; n++) {
      const d = await c.next()
      assert.equal(op(d.msg), 3)
      assert.equal(block(d.msg), n)
      got.push(d.msg.subarray(4))
      c.send(ack(n), d.port)
      if (d.msg.length - 4 < 1428) break
      assert.equal(d.msg.length - 4, 1428)
    }
    assert.ok(Buffer.concat(got).equals(big))
  } finally {
    c.close()
  }
})

test('a file of whole blocks ends with an empty block; a silent client gets the block again', async () => {
  const c = await client()
  try {
    c.send(rrq('exact.bin'))
    const blocks: number[] = []
    let tid = 0
    for (let n = 1; n <= 5; n++) {
      const d = await c.next()
      tid = d.port
      blocks.push(d.msg.length - 4)
      if (n === 2) {
        // No acknowledgement: the same block comes again after the server's timeout (1 s).
        const again = await c.next()
        assert.equal(block(again.msg), 2)
        assert.ok(again.msg.equals(d.msg))
      }
      c.send(ack(n), tid)
    }
    assert.deepEqual(blocks, [512, 512, 512, 512, 0])
  } finally {
    c.close()
  }
})

test('a packet from a stranger to a transfer gets "unknown transfer ID"; the transfer goes on', async () => {
  const c = await client()
  const stranger = await client()
  try {
    c.send(rrq('pxelinux.cfg/default'))
    const d = await c.next()
    stranger.send(ack(1), d.port)
    const e = await stranger.next()
    assert.equal(op(e.msg), 5)
    assert.equal(block(e.msg), 5)
    c.send(ack(1), d.port)
    assert.equal(d.msg.subarray(4).toString(), 'default linux\nlabel linux\n  kernel vmlinuz\n')
  } finally {
    c.close()
    stranger.close()
  }
})

test('requests are parsed strictly; netascii turns LF into CR LF and CR into CR NUL', () => {
  assert.deepEqual(parseRequest(Buffer.from('\0\x01a/b\0OCTET\0BlkSize\x001024\0')), {
    op: 1,
    filename: 'a/b',
    mode: 'octet',
    options: new Map([['blksize', '1024']]),
  })
  assert.equal(parseRequest(Buffer.from('\0\x01a/b\0octet')), undefined, 'unterminated')
  assert.equal(parseRequest(Buffer.from('\0\x03a\0octet\0')), undefined, 'not a request')
  assert.equal(parseRequest(Buffer.from('\0\x01a\0octet\0blksize\0')), undefined, 'an option without value')
  assert.deepEqual([...toNetascii(Buffer.from('a\nb\rc\r\n'))], [...Buffer.from('a\r\nb\r\0c\r\0\r\n')])
})

test('a name as long as a packet allows is "file not found", and leaves no line in the log', async () => {
  const c = await client()
  try {
    c.send(rrq('x'.repeat(60_000)))
    const e = await c.next()
    assert.equal(op(e.msg), 5)
    assert.equal(e.msg.readUInt16BE(2), 1, e.msg.subarray(4, 100).toString())
    // The same client, at once: the server still answers.
    c.send(rrq('nothing'))
    assert.equal((await c.next()).msg.readUInt16BE(2), 1)
    assert.ok(!log.lines.some(l => l.includes('xxxxxxxx')), log.lines.join('\n').slice(0, 2000))
  } finally {
    c.close()
  }
})

test('at most 64 transfers at once, 4 of them netascii: more are dropped or told busy, and said once', async () => {
  // A server of its own: the other tests' transfers do not hold its places.
  const busyLog = waitingLogger('info')
  const graph: GraphSpec = {
    name: 'busy',
    resources: [{ kind: 'tftp:server', name: 'busy', params: { address: '127.0.0.1:0', root, timeout: 1 } }],
    edges: [],
  }
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(w.name)
  process.on('warning', onWarning)
  const h = start(graph, { prefix: tempPrefix(), log: busyLog })
  const at = Number((await busyLog.waitFor(/listening on udp 127\.0\.0\.1:(\d+)$/))[1])
  const c = await client()
  const text = await client()
  try {
    // 70 requests that are never acknowledged: 64 transfers start, each answering from a port of its own.
    for (let i = 0; i < 70; i++) c.send(rrq('big.bin'), at)
    const ports = new Set<number>()
    for (let i = 0; i < 64; i++) {
      const d = await c.next()
      assert.deepEqual([op(d.msg), block(d.msg)], [3, 1])
      ports.add(d.port)
    }
    assert.equal(ports.size, 64)
    await busyLog.waitFor(/warn: 64 transfers at once: new requests are dropped until one ends$/)
    // Each ended by the client: the server has room again.
    for (const p of ports) c.send(Buffer.from([0, 5, 0, 0, 0]), p)
    const ended = (): number => busyLog.lines.filter(l => l.includes('the client ended the transfer')).length
    for (let i = 0; i < 400 && ended() < 64; i++) await sleep(25)
    assert.equal(ended(), 64)
    // netascii: four at once, a fifth is told the server is busy.
    const netascii = Buffer.from('\0\x01pxelinux.cfg/default\0netascii\0')
    for (let i = 0; i < 5; i++) text.send(netascii, at)
    const got: { msg: Buffer; port: number }[] = []
    for (let i = 0; i < 5; i++) got.push(await text.next())
    const busy = got.filter(g => op(g.msg) === 5)
    assert.equal(got.filter(g => op(g.msg) === 3).length, 4)
    assert.equal(busy.length, 1)
    assert.equal(
      busy[0]!.msg.subarray(4).toString(),
      'busy: too many netascii transfers at once, try again\0',
    )
    assert.equal(busyLog.lines.filter(l => l.includes('transfers at once: new requests')).length, 1)
    // 64 transfers wait on one signal: no warning of a listener leak.
    assert.deepEqual(warnings, [])
  } finally {
    c.close()
    text.close()
    h.shutdown()
    await h.done
    process.off('warning', onWarning)
  }
})
