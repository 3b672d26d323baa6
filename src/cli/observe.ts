/**
 * The views a run can have, from its flags: Prometheus metrics (`--prometheus`), the graph picture
 * (`--graphviz`), the web view (`--http-listen`) and progress on a terminal. Each follows the run's
 * engine events; none is started when its flag is absent, and with none the events are not built.
 */
import type { Server } from 'node:http'
import { hostname as osHostname } from 'node:os'
import { resolve } from 'node:path'
import type { EngineEvent } from '../engine/events.js'
import type { RunHandle } from '../lib/run.js'
import type { GraphvizFilter } from '../observe/graphviz.js'
import type { ListenAddress } from '../observe/listen.js'
import type { Progress } from '../observe/progress.js'
import type { Logger } from '../util/logger.js'

export interface ObserveFlags {
  hostname?: string
  prometheus?: boolean
  prometheusListen: ListenAddress
  graphviz?: string
  graphvizFilter?: GraphvizFilter
  httpListen?: ListenAddress
}

export interface Observers {
  /** Follows the run's events. */
  attach(run: RunHandle): void
  /** Writes the last picture, stops the servers and erases the progress line. */
  close(): Promise<void>
}

/**
 * Starts the servers the flags ask for (throws ERR_LISTEN when one cannot listen). `progress`, when
 * given, is the terminal's progress line (the CLI made it, since the logger writes through it).
 */
export async function startObservers(
  flags: ObserveFlags,
  log: Logger,
  progress?: Progress,
): Promise<Observers> {
  const wantsModel = flags.graphviz !== undefined || flags.httpListen !== undefined
  if (!wantsModel && !flags.prometheus) return noObservers(progress)
  // Loaded only when a view is asked for (prom-client, HTTP servers).
  const [{ GraphvizWriter }, { closeServer, listen, serverUrl }, { Metrics }, { GraphModel }, { WebView }] =
    await Promise.all([
      import('../observe/graphviz.js'),
      import('../observe/listen.js'),
      import('../observe/metrics.js'),
      import('../observe/model.js'),
      import('../observe/web.js'),
    ])
  const model = wantsModel ? new GraphModel(flags.hostname ?? osHostname()) : undefined
  const metrics = flags.prometheus ? new Metrics() : undefined
  const graphviz =
    model && flags.graphviz
      ? new GraphvizWriter(model, { file: resolve(flags.graphviz), filter: flags.graphvizFilter, log })
      : undefined
  const web = model && flags.httpListen ? new WebView(model) : undefined
  let metricsServer: Server | undefined
  try {
    if (metrics) {
      metricsServer = await listen(
        flags.prometheusListen,
        'Prometheus metrics (--prometheus-listen)',
        (req, res) => {
          if (new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
            res
              .writeHead(404, { 'content-type': 'text/plain' })
              .end('not found: the metrics are at /metrics\n')
            return
          }
          metrics.text().then(
            text => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
            err => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
          )
        },
      )
      log.info(`Prometheus metrics on ${serverUrl(metricsServer)}/metrics`)
    }
    if (web && flags.httpListen) await web.start(flags.httpListen, log)
  } catch (err) {
    if (metricsServer) await closeServer(metricsServer)
    throw err
  }
  const listeners = [model, metrics, graphviz, progress].filter(o => o !== undefined)
  return {
    attach(run) {
      if (!listeners.length) return
      run.on('*', (e: EngineEvent) => {
        for (const o of listeners) o.apply(e)
      })
    },
    async close() {
      progress?.close()
      await graphviz?.flush()
      await graphviz?.close()
      await web?.close()
      if (metricsServer) await closeServer(metricsServer)
    },
  }
}

/** No view but maybe the terminal's progress line. */
function noObservers(progress: Progress | undefined): Observers {
  return {
    attach(run) {
      if (progress) run.on('*', (e: EngineEvent) => progress.apply(e))
    },
    async close() {
      progress?.close()
    },
  }
}
