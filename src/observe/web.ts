/**
 * `--http-listen ADDR`: the live web view. One page (`/`) that follows the running graph through
 * server-sent events (`/events`), plus the same data as JSON (`/graph.json`) and as DOT
 * (`/graph.dot`). Updates are batched every 50 ms while something changes; an idle engine sends
 * nothing and arms no timer.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from '../util/logger.js'
import { toDot } from './graphviz.js'
import { closeServer, type ListenAddress, listen, serverUrl } from './listen.js'
import type { Delta, GraphModel } from './model.js'
import { PAGE, PAGE_HEADERS } from './page.js'

/** How long changes gather before they go out, ms. */
const BATCH_MS = 50
/** A client this far behind (bytes queued) is dropped; its browser reconnects and starts afresh. */
const MAX_BACKLOG = 8 << 20

export class WebView {
  readonly #model: GraphModel
  readonly #clients = new Set<ServerResponse>()
  #pending: Delta[] = []
  #snapshotDue = false
  #timer: NodeJS.Timeout | undefined
  #server: Server | undefined

  constructor(model: GraphModel) {
    this.#model = model
    model.onDelta(d => this.#delta(d))
  }

  /** Listens on `addr`; resolves with the page's URL. */
  async start(addr: ListenAddress, log: Logger): Promise<string> {
    this.#server = await listen(addr, 'the web view (--http-listen)', (req, res) => this.handle(req, res))
    const url = `${serverUrl(this.#server)}/`
    log.info(`web view on ${url}`)
    return url
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const c of this.#clients) c.end()
    this.#clients.clear()
    if (this.#server) await closeServer(this.#server)
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    switch (path) {
      case '/':
        res.writeHead(200, PAGE_HEADERS).end(req.method === 'HEAD' ? undefined : PAGE)
        return
      case '/events':
        this.#subscribe(res)
        return
      case '/graph.json':
        res
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify(this.#model.snapshot()))
        return
      case '/graph.dot':
        res
          .writeHead(200, { 'content-type': 'text/vnd.graphviz; charset=utf-8', 'cache-control': 'no-store' })
          .end(toDot(this.#model.snapshot()))
        return
      case '/favicon.ico':
        res.writeHead(204).end()
        return
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  }

  #subscribe(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write(`retry: 2000\n\n${frame('snapshot', this.#model.snapshot())}`)
    this.#clients.add(res)
    res.on('close', () => this.#clients.delete(res))
  }

  #delta(d: Delta): void {
    if (!this.#clients.size) return
    if (d.t === 'graph') {
      // The snapshot sent at the flush holds everything up to then.
      this.#snapshotDue = true
      this.#pending = []
    } else this.#pending.push(d)
    this.#timer ??= setTimeout(() => this.#flush(), BATCH_MS)
  }

  #flush(): void {
    this.#timer = undefined
    let text = ''
    if (this.#snapshotDue) text += frame('snapshot', this.#model.snapshot())
    if (this.#pending.length) text += frame('update', this.#pending)
    this.#snapshotDue = false
    this.#pending = []
    for (const c of this.#clients) {
      if (c.writableLength > MAX_BACKLOG) {
        c.destroy()
        continue
      }
      c.write(text)
    }
  }
}

/** One server-sent event (JSON never holds a raw newline). */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
