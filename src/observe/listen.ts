/**
 * The HTTP listeners of `--prometheus-listen` and `--http-listen`: an address to parse (loopback
 * unless a host is given) and a small server that answers only what it serves.
 */
import type * as Http from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { isIP } from 'node:net'
import { describeError, MgmtError } from '../util/errors.js'

/** node:http, loaded when something listens (a run without --prometheus or the web view never does). */
const httpModule = (): typeof Http => createRequire(import.meta.url)('node:http')

export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/**
 * `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT`; without a host, loopback (127.0.0.1). Port 0 picks
 * a free port. Throws ERR_USAGE naming the flag.
 */
export function parseListen(addr: string, flag: string): ListenAddress {
  // The host, when given, ends at a colon: `8080` alone is a port, not the host `808` and port 0.
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):)?(\d+)$/.exec(addr.trim())
  const port = Number(m?.[3])
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new MgmtError('ERR_USAGE', {
      reason: `${flag} expects HOST:PORT, [IPV6]:PORT, :PORT or PORT, not \`${addr}\``,
    })
  const host = m[1] ?? (m[2] || '127.0.0.1')
  return { host, port }
}

/** `http://host:port` for a listening server (IPv6 in brackets). */
export function serverUrl(server: Server): string {
  const a = server.address() as AddressInfo
  const host = a.family === 'IPv6' || isIP(a.address) === 6 ? `[${a.address}]` : a.address
  return `http://${host}:${a.port}`
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host.startsWith('127.') || host === '[::1]'

/** The host part of a Host header (`a:80`, `[::1]:80`), lower case. */
function hostOf(header: string | undefined): string {
  const h = (header ?? '').toLowerCase()
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1)
  const colon = h.indexOf(':')
  return colon < 0 ? h : h.slice(0, colon)
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** Connections a view serves at once (event streams included); more are closed at once. */
export const MAX_VIEWERS = 256

/**
 * Listens on `addr` for `what` (named in errors). Only GET and HEAD are served. On a loopback
 * address, a request naming another host is refused: a web page elsewhere cannot read the server
 * through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
 */
export async function listen(addr: ListenAddress, what: string, handler: Handler): Promise<Server> {
  const loopback = isLoopback(addr.host)
  const server = httpModule().createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n')
      return
    }
    const host = hostOf(req.headers.host)
    if (loopback && !isLoopback(host) && isIP(host.replace(/^\[|\]$/g, '')) === 0) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('this server answers to loopback names only\n')
      return
    }
    handler(req, res)
  })
  // Views are for people and a scraper; a listener given a public address must not let anyone
  // run the engine out of file descriptors (each open connection holds one).
  server.maxConnections = MAX_VIEWERS
  await new Promise<void>((resolve, reject) => {
    server.once('error', err =>
      reject(
        new MgmtError(
          'ERR_LISTEN',
          { what, address: `${addr.host}:${addr.port}`, reason: describeError(err) },
          { cause: err },
        ),
      ),
    )
    server.listen(addr.port, addr.host, () => resolve())
  })
  return server
}

/** Closes `server`, ending open connections (a live event stream would hold it open forever). */
export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>(resolve => server.close(() => resolve()))
  server.closeAllConnections()
  await closed
}
