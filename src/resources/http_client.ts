/**
 * `http:client`: downloads a URL and sends its body as `content`, so that `http:client → file`
 * (send/recv) replaces `exec wget ... > file`: the file is written once the whole body is in and
 * checked, atomically, and never when the download failed (an error status, a body cut short, a
 * `sha256` mismatch, a timeout): the resource fails before it sends anything, so its receivers keep
 * what they have.
 *
 * It downloads at start, on a notification, and every `interval` seconds when one is set (the
 * user's re-check period; there is nothing else to watch). Re-checks are conditional: the last
 * `ETag` and `Last-Modified` are kept in the state directory with the body, so an unchanged
 * resource costs one `304 Not Modified`, also after a restart. It reports a change when the body
 * differs from the last one. The body is never logged, only its size.
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import type * as Http from 'node:http'
import type { IncomingMessage } from 'node:http'
import type * as Https from 'node:https'
import type { Agent } from 'node:https'
import { createRequire } from 'node:module'
import type * as Tls from 'node:tls'
import { z } from 'zod'
import { defineResource, type ResourceContext, type StateFiles, untilAborted } from '../engine/resource.js'
import type { Issue } from '../util/errors.js'
import { linkSignal } from '../util/signals.js'
import { MAX_TIMER_S } from '../util/timers.js'

/** Params of `http:client`. Keys are the YAML names, verbatim. */
export const HttpClientParams = z
  .object({
    /** The `http://` or `https://` URL; the resource name by default. */
    url: z.string().default(''),
    /** The request method. */
    method: z
      .string()
      .regex(/^[A-Za-z]+$/, 'expected a method such as GET')
      .transform(m => m.toUpperCase())
      .default('GET'),
    /** Request headers, by name. */
    headers: z.record(z.string(), z.string()).default({}),
    /** A request body (with POST or PUT). */
    body: z.string().optional(),
    /** The expected sha256 of the body, in hex: any other body is an error. */
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits')
      .transform(s => s.toLowerCase())
      .optional(),
    /** Seconds between re-checks; 0: only at start and on a notification. */
    interval: z.number().min(0).max(MAX_TIMER_S).default(0),
    /** Seconds a whole download may take. */
    timeout: z.number().positive().max(MAX_TIMER_S).default(60),
  })
  .strict()

type Params = z.output<typeof HttpClientParams>

function validate(p: Params): Issue[] {
  let url: URL
  try {
    url = new URL(p.url)
  } catch {
    return [{ path: ['url'], message: `expected an http:// or https:// URL, got ${JSON.stringify(p.url)}` }]
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return [{ path: ['url'], message: `expected an http:// or https:// URL, got ${url.protocol}` }]
  return []
}

// --- one exchange, on node:http(s): bounded redirects, a complete body, the system's CAs -------

/** What a request is made of. */
interface Exchange {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
}

interface Reply {
  readonly status: number
  readonly statusText: string
  /** The URL that answered, after redirects. */
  readonly url: string
  readonly headers: IncomingMessage['headers']
  /** Complete: a short body is an error, never a reply. */
  readonly body: Buffer
}

const MAX_REDIRECTS = 10
/** A larger body is an error: the content is meant for configuration files, in memory. */
const MAX_BODY = 64 * 1024 * 1024

/** Where distributions keep their CA bundle; `SSL_CERT_FILE` (OpenSSL's variable) comes first. */
const BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
]

/** The process's one HTTPS agent (a TLS context with ~150 CAs is costly to build), and its bundle. */
let agent: { key: string; agent: Agent } | undefined

/** An agent trusting Node's CA list and the system bundle; rebuilt when the bundle changes. */
/** node:http, node:https and node:tls, loaded by the first request (a run without one loads none). */
const httpModule = (): typeof Http => createRequire(import.meta.url)('node:http')
const httpsModule = (): typeof Https => createRequire(import.meta.url)('node:https')
const tlsModule = (): typeof Tls => createRequire(import.meta.url)('node:tls')

function httpsAgent(): Agent {
  const files = process.env.SSL_CERT_FILE ? [process.env.SSL_CERT_FILE, ...BUNDLES] : BUNDLES
  const file = files.find(f => statSync(f, { throwIfNoEntry: false })?.isFile())
  const st = file === undefined ? undefined : statSync(file)
  const key = st ? `${file}\0${st.mtimeMs}\0${st.size}` : ''
  if (agent?.key !== key) {
    agent?.agent.destroy()
    const { rootCertificates } = tlsModule()
    const ca = file === undefined ? [...rootCertificates] : [...rootCertificates, readFileSync(file, 'utf8')]
    agent = { key, agent: new (httpsModule().Agent)({ ca, keepAlive: false }) }
  }
  return agent.agent
}

/** One request, no redirects. */
function once(url: URL, x: Exchange, signal: AbortSignal): Promise<Reply> {
  const https = url.protocol === 'https:'
  const send = https ? httpsModule().request : httpModule().request
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: x.method,
      headers: {
        ...x.headers,
        ...(x.body !== undefined ? { 'content-length': Buffer.byteLength(x.body) } : {}),
      },
      signal,
      ...(https ? { agent: httpsAgent() } : {}),
    })
    req.on('error', reject)
    req.on('response', res => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BODY) res.destroy(new Error(`the body is larger than ${MAX_BODY} bytes`))
        else chunks.push(c)
      })
      res.on('error', e => reject(truncated(e, size, res)))
      res.on('end', () => {
        const want = res.headers['content-length']
        if (!res.complete || (want !== undefined && Number(want) !== size && x.method !== 'HEAD'))
          return reject(truncated(undefined, size, res))
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          url: url.href,
          headers: res.headers,
          body: Buffer.concat(chunks),
        })
      })
    })
    req.end(x.body)
  })
}

function truncated(cause: Error | undefined, got: number, res: IncomingMessage): Error {
  if (cause && /larger than/.test(cause.message)) return cause
  const want = res.headers['content-length']
  return new Error(`the body was cut short after ${got}${want !== undefined ? ` of ${want}` : ''} bytes`)
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Headers that stay with their origin: a redirect to another one drops them. */
const PRIVATE = ['authorization', 'cookie', 'proxy-authorization']

/** The exchange, following at most MAX_REDIRECTS redirects; throws on network errors and cut bodies. */
async function fetchFollowing(x: Exchange, signal: AbortSignal): Promise<Reply> {
  let url = new URL(x.url)
  let cur = x
  for (let hop = 0; ; hop++) {
    const reply = await once(url, cur, signal)
    const location = reply.headers.location
    if (!REDIRECTS.has(reply.status) || location === undefined) return reply
    if (hop === MAX_REDIRECTS)
      throw new Error(`more than ${MAX_REDIRECTS} redirects (the last to ${location})`)
    const next = new URL(location, url)
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new Error(`a redirect to ${next.protocol} is not followed`)
    const toGet =
      reply.status === 303 || ((reply.status === 301 || reply.status === 302) && cur.method === 'POST')
    const headers = Object.fromEntries(
      Object.entries(cur.headers).filter(
        ([k]) => next.origin === url.origin || !PRIVATE.includes(k.toLowerCase()),
      ),
    )
    cur = toGet ? { url: next.href, method: 'GET', headers } : { ...cur, url: next.href, headers }
    url = next
  }
}

// --- the kept answer --------------------------------------------------------------------------

/** What is kept between checks and runs: the last good body and its validators. */
interface Kept {
  /** The request it answers (method, URL, headers, body): another request starts afresh. */
  readonly request: string
  readonly sha256: string
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const one = (h: string | string[] | undefined): string | undefined => (Array.isArray(h) ? h[0] : h)

/**
 * The kept body and validators, when they belong together (else none). It is a cache: what cannot
 * be read (a file broken by hand) is no cache, and the next answer replaces it.
 */
async function readKept(state: StateFiles): Promise<{ kept: Kept; body: Buffer } | undefined> {
  const kept = (await state.readJson('kept.json')) as Kept | null | undefined
  const body = await state.readBytes('body')
  if (!kept || body === undefined) return undefined
  return sha256(body) === kept.sha256 ? { kept, body } : undefined
}

/** Keeps `body` and then its validators (mode 0600: a body may hold a secret). */
async function writeKept(state: StateFiles, kept: Kept, body: Buffer): Promise<void> {
  await state.write('body', body)
  await state.write('kept.json', JSON.stringify(kept))
}

/** The request, conditional on what is kept when there is a kept answer to it. */
function exchange(p: Params, kept: Kept | undefined, conditional: boolean): Exchange {
  const headers = { ...p.headers }
  if (conditional && kept?.etag) headers['if-none-match'] = kept.etag
  if (conditional && kept?.lastModified) headers['if-modified-since'] = kept.lastModified
  return { url: p.url, method: p.method, headers, body: p.body }
}

/** The body of a good reply, or an error saying what is wrong with it. */
function checked(p: Params, reply: Reply): Buffer {
  if (reply.status < 200 || reply.status > 299)
    throw new Error(`${p.method} ${reply.url}: ${reply.status} ${reply.statusText}`.trim())
  if (p.sha256 && sha256(reply.body) !== p.sha256)
    throw new Error(`${p.method} ${reply.url}: the body's sha256 is ${sha256(reply.body)}, not ${p.sha256}`)
  return reply.body
}

async function download(
  p: Params,
  ctx: ResourceContext,
  apply: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  const request = JSON.stringify([p.method, p.url, p.headers, p.body ?? null])
  const last = await readKept(ctx.state)
  const kept = last?.kept.request === request ? last : undefined
  // A notification asks for a full download; so does a kept body that no longer matches sha256.
  const conditional = !ctx.refresh() && kept !== undefined && (!p.sha256 || kept.kept.sha256 === p.sha256)
  if (!apply && p.method !== 'GET' && p.method !== 'HEAD') {
    ctx.log.info(`would send ${p.method} ${p.url}`)
    if (kept) ctx.send({ content: kept.body.toString() })
    return false
  }
  // Linked, not AbortSignal.any: that would keep an entry in the engine's signal for every request.
  const deadline = linkSignal(signal)
  const timer = setTimeout(() => deadline.abort(new Error('timeout')), p.timeout * 1000)
  const reply = await fetchFollowing(exchange(p, kept?.kept, conditional), deadline.signal)
    .catch(e => {
      if (deadline.signal.aborted && !signal.aborted)
        throw new Error(`${p.method} ${p.url}: no answer within ${p.timeout} s`)
      throw new Error(`${p.method} ${p.url}: ${(e as Error).message}`)
    })
    .finally(() => {
      clearTimeout(timer)
      deadline.unlink()
    })
  if (reply.status === 304 && conditional && kept) {
    if (ctx.debug) ctx.log.debug(`${reply.url}: not modified`)
    ctx.send({ content: kept.body.toString() })
    return true
  }
  const body = checked(p, reply)
  const sum = sha256(body)
  const same = kept?.kept.sha256 === sum
  const next: Kept = {
    request,
    sha256: sum,
    etag: one(reply.headers.etag),
    lastModified: one(reply.headers['last-modified']),
  }
  if (!apply) {
    if (!same) ctx.log.info(`would download ${body.length} bytes from ${reply.url}`)
  } else if (!same || next.etag !== kept?.kept.etag || next.lastModified !== kept?.kept.lastModified) {
    await writeKept(ctx.state, next, body)
    if (!same) ctx.log.info(`downloaded ${body.length} bytes from ${reply.url}`)
  }
  ctx.send({ content: body.toString() })
  return same
}

export const httpClient = defineResource({
  kind: 'http:client',
  params: HttpClientParams,
  traits: { refreshable: true },
  sends: { content: z.string() },
  normalize: (p, name) => ({ ...p, url: p.url || name }),
  validate,
  init(p, ctx) {
    return {
      async watch(signal) {
        ctx.event()
        if (p.interval > 0) {
          const timer = setInterval(() => ctx.event(), p.interval * 1000)
          await untilAborted(signal)
          clearInterval(timer)
        } else await untilAborted(signal)
      },
      checkApply: (apply, signal) => download(p, ctx, apply, signal),
    }
  },
})
