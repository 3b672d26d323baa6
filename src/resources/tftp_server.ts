/**
 * `tftp:server`: a read-only TFTP server (RFC 1350) that runs in the resource's watch, for network
 * boots: it sends the files of its parts (`tftp:file`, grouped into it) first, then the files below
 * `root`. It negotiates the block size and transfer size (RFC 2347 options, RFC 2348 `blksize`,
 * RFC 2349 `tsize` and `timeout`), answers each read request from a new port (the transfer's own
 * TID), retransmits a block when its acknowledgement does not come within the timeout, and refuses
 * writes. A file name never leaves `root` or a part's directory (`..` is refused, and a link that
 * leads out). It changes nothing on the system.
 */

import type * as Dgram from 'node:dgram'
import type { RemoteInfo, Socket } from 'node:dgram'
import { setMaxListeners } from 'node:events'
import { createRequire } from 'node:module'
import { isIPv6 } from 'node:net'
import { z } from 'zod'
import { defineResource, type ResourceContext } from '../engine/resource.js'
import { describeError, type Issue } from '../util/errors.js'
import { parseAddress, showAddress } from './serve/address.js'
import { rootEdge } from './serve/part.js'
import {
  isServingPart,
  type Lookup,
  requestPath,
  rootCheck,
  type Served,
  servedUnder,
} from './serve/served.js'

/** node:dgram, loaded when a server starts (a run without one never loads it). */
const dgramModule = (): typeof Dgram => createRequire(import.meta.url)('node:dgram')

/** Params of `tftp:server`. Keys are the YAML names, verbatim. */
export const TftpServerParams = z
  .object({
    /** Where to listen, `host:port`: `:69` (every interface), `192.168.1.1:69`; the name by default. */
    address: z.string().default(''),
    /** Seconds to wait for an acknowledgement before sending a block again (a client may ask for another). */
    timeout: z.number().int().min(1).max(255).default(5),
    /** An absolute directory whose files are served (after the parts); empty: none. */
    root: z.string().default(''),
  })
  .strict()

type Params = z.output<typeof TftpServerParams>

const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const
/** RFC 1350 error codes (8: RFC 2347). */
const ERR = { UNDEFINED: 0, NOT_FOUND: 1, ACCESS: 2, ILLEGAL: 4, UNKNOWN_TID: 5, OPTIONS: 8 } as const
/** Tries per block (the first send and the retransmissions). */
const TRIES = 5
const MIN_BLKSIZE = 8
const MAX_BLKSIZE = 65464
/** A netascii file is converted in memory: larger ones are refused. */
const MAX_NETASCII = 64 * 1024 * 1024
/**
 * Transfers at once; a request beyond them is dropped (its client asks again). Anyone who reaches
 * the port can ask, from any source address: each transfer holds a socket, so they are bounded.
 */
const MAX_TRANSFERS = 64
/** netascii transfers at once, each holding its whole file converted; one more is told the server is busy. */
const MAX_NETASCII_TRANSFERS = 4

function validate(p: Params): Issue[] {
  const issues: Issue[] = []
  const a = parseAddress(p.address)
  if (typeof a === 'string') issues.push({ path: ['address'], message: a })
  if (p.root !== '' && !p.root.startsWith('/'))
    issues.push({ path: ['root'], message: `expected an absolute directory, got ${JSON.stringify(p.root)}` })
  return issues
}

// --- packets ------------------------------------------------------------------------------------

/** A read or write request: the file, the mode and the options (names in lower case). */
interface Request {
  readonly op: number
  readonly filename: string
  readonly mode: string
  readonly options: ReadonlyMap<string, string>
}

/** Parses a request; returns undefined when it is not a well-formed one. */
export function parseRequest(msg: Buffer): Request | undefined {
  if (msg.length < 4) return undefined
  const op = msg.readUInt16BE(0)
  if (op !== OP.RRQ && op !== OP.WRQ) return undefined
  if (msg[msg.length - 1] !== 0) return undefined
  const fields = msg
    .subarray(2, msg.length - 1)
    .toString('latin1')
    .split('\0')
  if (fields.length < 2 || fields.length % 2 !== 0) return undefined
  const [filename = '', mode = ''] = fields
  const options = new Map<string, string>()
  for (let i = 2; i < fields.length; i += 2) options.set(fields[i]!.toLowerCase(), fields[i + 1]!)
  return { op, filename, mode: mode.toLowerCase(), options }
}

const errorPacket = (code: number, message: string): Buffer =>
  Buffer.concat([Buffer.from([0, OP.ERROR, code >> 8, code & 0xff]), Buffer.from(`${message}\0`, 'latin1')])

const dataPacket = (block: number, data: Buffer): Buffer =>
  Buffer.concat([Buffer.from([0, OP.DATA, (block >> 8) & 0xff, block & 0xff]), data])

const oackPacket = (options: ReadonlyMap<string, string>): Buffer =>
  Buffer.concat([
    Buffer.from([0, OP.OACK]),
    ...[...options].map(([k, v]) => Buffer.from(`${k}\0${v}\0`, 'latin1')),
  ])

/** Netascii: LF becomes CR LF, a lone CR becomes CR NUL. */
export function toNetascii(b: Buffer): Buffer {
  // Counted first, then written into one buffer: a list of numbers would take 8 bytes a byte.
  let extra = 0
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) extra++
  for (let i = b.indexOf(0x0d); i >= 0; i = b.indexOf(0x0d, i + 1)) extra++
  if (!extra) return b
  const out = Buffer.allocUnsafe(b.length + extra)
  let o = 0
  for (const c of b) {
    if (c === 0x0a) out[o++] = 0x0d
    out[o++] = c
    if (c === 0x0d) out[o++] = 0x00
  }
  return out
}

/** The options this server takes from `asked`, with the values it answers. */
function negotiate(asked: ReadonlyMap<string, string>, size: number): Map<string, string> {
  const taken = new Map<string, string>()
  const blksize = Number(asked.get('blksize'))
  if (Number.isInteger(blksize) && blksize >= MIN_BLKSIZE)
    taken.set('blksize', String(Math.min(blksize, MAX_BLKSIZE)))
  if (asked.get('tsize') === '0') taken.set('tsize', String(size))
  const timeout = Number(asked.get('timeout'))
  if (Number.isInteger(timeout) && timeout >= 1 && timeout <= 255) taken.set('timeout', String(timeout))
  return taken
}

// --- one transfer -------------------------------------------------------------------------------

/** A transfer's socket, bound to a new port: its TID. Packets from anyone but the peer get an error. */
class Session {
  #waiting: ((msg: Buffer) => void) | undefined

  constructor(
    readonly sock: Socket,
    readonly peer: RemoteInfo,
  ) {
    sock.on('message', (msg, from) => {
      if (from.address !== peer.address || from.port !== peer.port)
        sock.send(errorPacket(ERR.UNKNOWN_TID, 'unknown transfer ID'), from.port, from.address)
      else this.#waiting?.(msg)
    })
  }

  /** Resolves once the packet is handed to the system (before that, closing the socket drops it). */
  send(packet: Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.send(packet, this.peer.port, this.peer.address, e => (e ? reject(e) : resolve())),
    )
  }

  /** Sends `packet` until the peer acknowledges `block` (sending again after each `ms` of silence). */
  async exchange(packet: Buffer, block: number, ms: number, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; attempt <= TRIES; attempt++) {
      signal.throwIfAborted()
      await this.send(packet)
      if (await this.#ack(block, ms, signal)) return
    }
    throw new Error(`no acknowledgement of block ${block} after ${TRIES} tries`)
  }

  /** True when `block` is acknowledged within `ms`; an error packet from the peer throws. */
  #ack(block: number, ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#waiting = undefined
        fn()
      }
      const onAbort = (): void => done(() => reject(signal.reason))
      const timer = setTimeout(() => done(() => resolve(false)), ms)
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waiting = msg => {
        if (msg.length < 4) return
        const op = msg.readUInt16BE(0)
        // A duplicate acknowledgement of an earlier block is ignored (never answered by a resend).
        if (op === OP.ACK && msg.readUInt16BE(2) === block) done(() => resolve(true))
        else if (op === OP.ERROR) {
          const text = msg.subarray(4).toString('latin1').replace(/\0.*$/s, '')
          done(() =>
            reject(new Error(`the client ended the transfer: ${text || `error ${msg.readUInt16BE(2)}`}`)),
          )
        }
      }
    })
  }
}

/** Sends `served` to the session's peer in blocks, after the options' acknowledgement if any. */
async function send(
  s: Session,
  served: Served,
  req: Request,
  defaultTimeout: number,
  signal: AbortSignal,
): Promise<number> {
  const text = req.mode === 'netascii'
  if (text && served.size > MAX_NETASCII) throw new Error(`too large for netascii (${served.size} bytes)`)
  const bytes = text ? toNetascii(await served.read(0, served.size)) : undefined
  const size = bytes ? bytes.length : served.size
  const options = negotiate(req.options, size)
  const blksize = Number(options.get('blksize') ?? 512)
  const ms = Number(options.get('timeout') ?? defaultTimeout) * 1000
  if (options.size) await s.exchange(oackPacket(options), 0, ms, signal)
  for (let n = 1; ; n++) {
    const offset = (n - 1) * blksize
    const data = bytes ? bytes.subarray(offset, offset + blksize) : await served.read(offset, blksize)
    // Block numbers roll over to 0 after 65535, as tftp-hpa and most clients expect.
    await s.exchange(dataPacket(n & 0xffff, data), n & 0xffff, ms, signal)
    if (data.length < blksize) return size
  }
}

// --- the server ---------------------------------------------------------------------------------

/** The file a request names: a part's, else one below root. */
async function lookup(p: Params, ctx: ResourceContext, segments: readonly string[]): Promise<Lookup> {
  for (const m of ctx.group()) {
    if (!isServingPart(m.instance)) continue
    const found = await m.instance.serve(segments)
    if (found !== undefined) return found
  }
  return p.root ? servedUnder(p.root, segments) : 'missing'
}

/** Answers one request from `peer`, on a socket of its own. */
async function answer(
  p: Params,
  ctx: ResourceContext,
  msg: Buffer,
  peer: RemoteInfo,
  type: 'udp4' | 'udp6',
  host: string,
  netascii: { held: number },
  signal: AbortSignal,
): Promise<void> {
  const sock = dgramModule().createSocket(type)
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject)
    sock.bind(0, host || undefined, () => resolve())
  })
  const s = new Session(sock, peer)
  const who = showAddress(peer)
  const refuse = async (code: number, why: string): Promise<void> => {
    if (ctx.debug) ctx.log.debug(`${who}: ${why}`)
    await s.send(errorPacket(code, why))
  }
  let served: Served | undefined
  try {
    const req = parseRequest(msg)
    if (!req) return await refuse(ERR.ILLEGAL, 'not a read request')
    if (req.op === OP.WRQ) return await refuse(ERR.ACCESS, 'this server is read-only')
    if (req.mode !== 'octet' && req.mode !== 'netascii')
      return await refuse(ERR.ILLEGAL, `mode ${req.mode} is not supported`)
    const segments = requestPath(req.filename)
    const found = segments ? await lookup(p, ctx, segments) : 'refused'
    if (found === 'refused') return await refuse(ERR.ACCESS, `${req.filename}: access violation`)
    if (found === 'missing') return await refuse(ERR.NOT_FOUND, `${req.filename}: file not found`)
    served = found
    if (req.mode === 'netascii' && netascii.held >= MAX_NETASCII_TRANSFERS)
      return await refuse(ERR.UNDEFINED, 'busy: too many netascii transfers at once, try again')
    if (req.mode === 'netascii') netascii.held++
    const size = await send(s, found, req, p.timeout, signal).finally(() => {
      if (req.mode === 'netascii') netascii.held--
    })
    if (ctx.debug) ctx.log.debug(`${who}: sent ${req.filename} (${size} bytes, ${req.mode})`)
  } catch (e) {
    if (!signal.aborted) ctx.log.warn(`${who}: ${describeError(e)}`)
  } finally {
    await served?.close()
    sock.close()
  }
}

/** Binds the server's socket: `udp6` (both families) for an IPv6 or empty host, else `udp4`. */
async function bind(host: string, port: number): Promise<{ sock: Socket; type: 'udp4' | 'udp6' }> {
  const attempt = (type: 'udp4' | 'udp6', on: string | undefined): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const sock = dgramModule().createSocket({ type, ipv6Only: false })
      sock.once('error', e => {
        sock.close()
        reject(e)
      })
      sock.bind(port, on, () => resolve(sock))
    })
  if (host !== '' && !isIPv6(host)) return { sock: await attempt('udp4', host), type: 'udp4' }
  try {
    return { sock: await attempt('udp6', host || '::'), type: 'udp6' }
  } catch (e) {
    // No IPv6 here: every IPv4 interface, then.
    if (host !== '' || !['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes((e as { code?: string }).code ?? ''))
      throw e
    return { sock: await attempt('udp4', undefined), type: 'udp4' }
  }
}

export const tftpServer = defineResource({
  kind: 'tftp:server',
  params: TftpServerParams,
  normalize: (p, name) => ({ ...p, address: p.address || name }),
  validate,
  uids: p => [`tftp:server:${p.address}`],
  autoEdges: p => rootEdge(p.root),
  init(p, ctx) {
    return {
      async watch(signal) {
        const address = parseAddress(p.address)
        if (typeof address === 'string') throw new Error(address)
        const { sock, type } = await bind(address.host, address.port)
        // Each transfer waits on the signal while it runs: as many listeners as transfers at once.
        setMaxListeners(MAX_TRANSFERS + 10, signal)
        const transfers = new Set<Promise<void>>()
        try {
          ctx.log.info(`listening on udp ${showAddress(sock.address())}`)
          const failed = new Promise<never>((_, reject) => sock.on('error', reject))
          let full = false
          // The netascii transfers running, of this server.
          const netascii = { held: 0 }
          sock.on('message', (msg, peer) => {
            if (transfers.size >= MAX_TRANSFERS) {
              if (!full)
                ctx.log.warn(`${MAX_TRANSFERS} transfers at once: new requests are dropped until one ends`)
              full = true
              return
            }
            full = false
            const t = answer(p, ctx, msg, peer, type, address.host, netascii, signal).catch(e =>
              ctx.log.warn(`${showAddress(peer)}: ${describeError(e)}`),
            )
            transfers.add(t)
            void t.finally(() => transfers.delete(t))
          })
          ctx.event()
          await Promise.race([failed, new Promise(resolve => signal.addEventListener('abort', resolve))])
        } finally {
          sock.close()
          await Promise.all(transfers)
        }
      },
      checkApply: rootCheck(p.root, ctx),
    }
  },
})
