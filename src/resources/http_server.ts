/**
 * `http:server`: a read-only HTTP server that runs in the resource's watch. It answers GET and HEAD
 * with the files of its parts (`http:server:file`, grouped into it) first, then with the files below
 * `root`. A request path never leaves `root` or a part's directory (`..` is refused with 403, a link
 * that leads out is refused too). Responses carry `ETag` and `Last-Modified`, and a conditional
 * request for an unchanged file gets a 304. It changes nothing on the system; checkApply only says
 * when `root` is missing.
 */

import type * as Http from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { extname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { z } from 'zod'
import { defineResource, type ResourceContext } from '../engine/resource.js'
import { describeError, type Issue } from '../util/errors.js'
import { MAX_TIMER_S } from '../util/timers.js'
import { parseAddress, showAddress } from './serve/address.js'
import { rootEdge } from './serve/part.js'
import { isServingPart, type Lookup, requestPath, rootCheck, servedUnder } from './serve/served.js'

/** node:http, loaded when a server starts (a run without one never loads it). */
const httpModule = (): typeof Http => createRequire(import.meta.url)('node:http')

/** The default bound on connections at once, and the largest one allowed. */
const DEFAULT_CONNECTIONS = 1024
const MAX_CONNECTIONS = 65_536

/** Params of `http:server`. Keys are the YAML names, verbatim. */
export const HttpServerParams = z
  .object({
    /** Where to listen, `host:port`: `:80` (every interface), `127.0.0.1:8080`; the name by default. */
    address: z.string().default(''),
    /** Seconds: the default of the other timeouts. */
    timeout: z.number().int().positive().max(MAX_TIMER_S).default(60),
    /** Seconds to receive a whole request; 0: `timeout`. */
    read_timeout: z.number().int().min(0).max(MAX_TIMER_S).default(0),
    /** Seconds a connection may stay idle while a response is sent; 0: `timeout`. */
    write_timeout: z.number().int().min(0).max(MAX_TIMER_S).default(0),
    /** Seconds that running requests get to finish when the server stops; 0: `timeout`. */
    shutdown_timeout: z.number().int().min(0).max(MAX_TIMER_S).default(0),
    /** An absolute directory whose files are served (after the parts); empty: none. */
    root: z.string().default(''),
    /**
     * Connections served at once; one more is closed at once. Anyone who reaches the port can open
     * connections, and each costs a file descriptor of the engine's, which its resources need too.
     */
    max_connections: z.number().int().min(1).max(MAX_CONNECTIONS).default(DEFAULT_CONNECTIONS),
  })
  .strict()

type Params = z.output<typeof HttpServerParams>

/** Content types by extension; anything else is `application/octet-stream`. */
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.cfg': 'text/plain; charset=utf-8',
  '.conf': 'text/plain; charset=utf-8',
  '.ks': 'text/plain; charset=utf-8',
  '.seed': 'text/plain; charset=utf-8',
  '.ipxe': 'text/plain; charset=utf-8',
  '.sh': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.iso': 'application/octet-stream',
}

function validate(p: Params): Issue[] {
  const issues: Issue[] = []
  const a = parseAddress(p.address)
  if (typeof a === 'string') issues.push({ path: ['address'], message: a })
  if (p.root !== '' && !p.root.startsWith('/'))
    issues.push({ path: ['root'], message: `expected an absolute directory, got ${JSON.stringify(p.root)}` })
  return issues
}

/** Is the cached copy the client holds still this one (If-None-Match, else If-Modified-Since)? */
function fresh(req: IncomingMessage, etag: string, mtime: Date): boolean {
  const inm = req.headers['if-none-match']
  if (inm !== undefined)
    return inm.split(',').some(t => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')
  const ims = Date.parse(req.headers['if-modified-since'] ?? '')
  return !Number.isNaN(ims) && Math.floor(mtime.getTime() / 1000) * 1000 <= ims
}

/** Answers one request: a part's file, else one below root. */
async function answer(
  p: Params,
  ctx: ResourceContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<number> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end()
    return 405
  }
  let segments: string[] | undefined
  try {
    // The raw path, not a URL's (which would quietly resolve `..`): each segment decoded, then
    // split again, so that `..%2F` is seen as the `..` it is.
    const raw = (req.url ?? '/').replace(/[?#].*$/s, '')
    segments = requestPath(raw.split('/').map(decodeURIComponent).join('/'))
  } catch {
    res.writeHead(400).end()
    return 400
  }
  if (!segments) {
    res.writeHead(403).end()
    return 403
  }
  let found: Lookup | undefined
  for (const m of ctx.group()) {
    if (!isServingPart(m.instance)) continue
    found = await m.instance.serve(segments)
    if (found !== undefined) break
  }
  if (found === undefined && p.root) found = await servedUnder(p.root, segments)
  if (found === undefined || found === 'missing') {
    res.writeHead(404).end()
    return 404
  }
  if (found === 'refused') {
    res.writeHead(403).end()
    return 403
  }
  const f = found
  const headers = { etag: f.etag, 'last-modified': f.mtime.toUTCString() }
  if (fresh(req, f.etag, f.mtime)) {
    await f.close()
    res.writeHead(304, headers).end()
    return 304
  }
  res.writeHead(200, {
    ...headers,
    'content-length': f.size,
    'content-type': TYPES[extname(segments.at(-1) ?? '').toLowerCase()] ?? 'application/octet-stream',
  })
  if (req.method === 'HEAD') {
    await f.close()
    res.end()
  } else await pipeline(f.stream(), res)
  return 200
}

export const httpServer = defineResource({
  kind: 'http:server',
  params: HttpServerParams,
  normalize: (p, name) => ({ ...p, address: p.address || name }),
  validate,
  uids: p => [`http:server:${p.address}`],
  autoEdges: p => rootEdge(p.root),
  init(p, ctx) {
    const seconds = (s: number): number => (s || p.timeout) * 1000

    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      answer(p, ctx, req, res).then(
        code => {
          if (ctx.debug) ctx.log.debug(`${req.method} ${req.url} ${code}`)
        },
        err => {
          // A client that goes away mid-response is no problem of ours.
          if ((err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
            if (ctx.debug) ctx.log.debug(`${req.method} ${req.url}: the client closed the connection`)
          } else ctx.log.warn(`${req.method} ${req.url}: ${describeError(err)}`)
          if (!res.headersSent) res.writeHead(500).end()
          else res.destroy()
        },
      )
    }

    return {
      async watch(signal) {
        const address = parseAddress(p.address)
        if (typeof address === 'string') throw new Error(address)
        const server = httpModule().createServer({ requestTimeout: seconds(p.read_timeout) }, handle)
        server.headersTimeout = Math.min(server.headersTimeout, seconds(p.read_timeout))
        server.setTimeout(seconds(p.write_timeout))
        // A client may shut its side down once its request is sent (`nc -N`, an HTTP/1.0 client):
        // a half-closed connection delimits no request and still wants its answer (RFC 9112, 9.6).
        // Node.js's http server drops the answer then, unless told this (its own flag, kept for
        // such servers); the timeouts above still bound the connection.
        Object.assign(server, { httpAllowHalfOpen: true })
        server.maxConnections = p.max_connections
        let dropped = 0
        server.on('drop', from => {
          // Said once, then counted: a flood must not flood the log too.
          if (++dropped === 1)
            ctx.log.warn(
              `${p.max_connections} connections at once (max_connections): closing more, from ${from?.remoteAddress ?? 'somewhere'} first`,
            )
          else if (ctx.debug) ctx.log.debug(`closed connection ${dropped} beyond max_connections`)
        })
        const failed = new Promise<never>((_, reject) => server.on('error', reject))
        failed.catch(() => {})
        await Promise.race([
          new Promise<void>(resolve => server.listen(address.port, address.host || undefined, resolve)),
          failed,
        ])
        try {
          ctx.log.info(`listening on ${showAddress(server.address() as AddressInfo)}`)
          ctx.event()
          await Promise.race([failed, new Promise(resolve => signal.addEventListener('abort', resolve))])
        } finally {
          await shutdown(server, seconds(p.shutdown_timeout))
        }
      },
      checkApply: rootCheck(p.root, ctx),
    }
  },
})

/** Stops accepting, lets running requests finish for up to `ms`, then closes every connection. */
async function shutdown(server: Server, ms: number): Promise<void> {
  const closed = new Promise<void>(resolve => server.close(() => resolve()))
  server.closeIdleConnections()
  const timer = setTimeout(() => server.closeAllConnections(), ms)
  await closed
  clearTimeout(timer)
}
