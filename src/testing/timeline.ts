/**
 * A harness that runs one resource against the real system, without the engine, the way mgmt's
 * resources_test.go timelines do: start it, wait for its startup event, converge it, change the
 * world behind its back, and expect an event and a repair.
 *
 *   const h = await startResource(file, '/tmp/x', { content: 'hi\n', state: 'exists' })
 *   await h.startup()
 *   assert.equal(await h.converge(), 1)        // one changing checkApply, then a clean one
 *   await h.expectEvent(() => writeFile('/tmp/x', 'clobbered'))
 *   await h.converge()
 *   await h.stop()
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createContext } from '../engine/context.js'
import { mustParseParams } from '../engine/params.js'
import {
  anyDef,
  type GraphResource,
  type Instance,
  type ParamsSchema,
  type RecvState,
  type ResourceDef,
  type SendsShape,
} from '../engine/resource.js'
import { FsWatcher } from '../util/fswatch.js'
import { memoryLogger } from '../util/logger.js'
import { LocalWorld } from '../world/local.js'
import type { World } from '../world/world.js'
import { deadline } from './deadline.js'

export interface HarnessOptions {
  /** Pending notification for the next checkApply. */
  refresh?: boolean
  recv?: Record<string, RecvState>
  hostname?: string
  /** What ctx.graph() returns. */
  graph?: GraphResource[]
  /** The world the resource sees; by default an in-memory local world. */
  world?: World
}

export interface ResourceHarness {
  readonly instance: Instance
  /** Log lines, without timestamps: `kind[name]: message`. */
  readonly logs: string[]
  /** Values the resource sent in its last successful checkApply. */
  readonly sent: Readonly<Record<string, unknown>> | undefined
  /** How many events watch has sent so far (the first is the startup event). */
  readonly events: number
  /** Set the notification the next checkApply sees. */
  setRefresh(v: boolean): void
  setRecv(r: Record<string, RecvState>): void
  /** Waits for the first event. */
  startup(timeoutMs?: number): Promise<void>
  /** Waits for an event after the ones already seen. Start waiting before the change (see expectEvent). */
  nextEvent(timeoutMs?: number): Promise<void>
  /** Runs `action` and waits for the event it causes (the wait starts before the action). */
  expectEvent(action: () => Promise<unknown>, timeoutMs?: number): Promise<void>
  checkApply(apply?: boolean): Promise<boolean>
  /** Runs checkApply until it returns true; returns how many calls returned false. */
  converge(max?: number): Promise<number>
  /** Aborts watch, awaits it, runs cleanup, removes the temporary state directory. */
  stop(): Promise<void>
  /** The error watch threw, if it did. */
  readonly watchError: unknown
}

export async function startResource<S extends ParamsSchema, Snd extends SendsShape>(
  typed: ResourceDef<string, S, Snd>,
  name: string,
  raw: Record<string, unknown>,
  opts: HarnessOptions = {},
): Promise<ResourceHarness> {
  const def = anyDef(typed)
  const params = mustParseParams(def, name, raw)
  const stateDir = await mkdtemp(join(tmpdir(), 'mgmt-harness-'))
  const log = memoryLogger('debug')
  const world = opts.world ?? new LocalWorld(opts.hostname ?? 'harness')
  const watcher = new FsWatcher()
  let events = 0
  let waiters: (() => void)[] = []
  let refresh = opts.refresh ?? false
  let recv = opts.recv ?? {}
  let sent: Readonly<Record<string, unknown>> | undefined
  let pendingSend: Readonly<Record<string, unknown>> | undefined
  let watchError: unknown
  const ctx = createContext({
    kind: def.kind,
    name,
    hostname: world.hostname,
    log: log.child(`${def.kind}[${name}]`),
    world,
    stateDir,
    watcher,
    graph: () => opts.graph ?? [],
    event() {
      events++
      const w = waiters
      waiters = []
      for (const fn of w) fn()
    },
    refresh: () => refresh,
    send: v => {
      pendingSend = v
    },
    recv: () => recv,
  })
  const instance = await def.init(params, ctx)
  const ac = new AbortController()
  const ca = new AbortController()
  const watching = instance.watch(ac.signal).catch(e => {
    watchError = e
    const w = waiters
    waiters = []
    for (const fn of w) fn()
  })

  const waitFor = (target: number, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (events >= target) {
          timer.cancel()
          resolve()
        } else if (watchError !== undefined) {
          timer.cancel()
          reject(watchError)
        } else waiters.push(check)
      }
      const timer = deadline(timeoutMs, () => reject(new Error(`no watch event within ${timeoutMs} ms`)))
      check()
    })

  const h: ResourceHarness = {
    instance,
    logs: log.lines,
    get sent() {
      return sent
    },
    get events() {
      return events
    },
    get watchError() {
      return watchError
    },
    setRefresh: v => {
      refresh = v
    },
    setRecv: r => {
      recv = r
    },
    startup: (timeoutMs = 5000) => waitFor(1, timeoutMs),
    nextEvent: (timeoutMs = 5000) => waitFor(events + 1, timeoutMs),
    async expectEvent(action, timeoutMs = 5000) {
      const ev = waitFor(events + 1, timeoutMs)
      await action()
      await ev
    },
    async checkApply(apply = true) {
      pendingSend = undefined
      const ok = await instance.checkApply(apply, ca.signal)
      if (pendingSend) sent = pendingSend
      if (apply) {
        refresh = false
        recv = Object.fromEntries(Object.entries(recv).map(([k, v]) => [k, { ...v, changed: false }]))
      }
      return ok
    },
    async converge(max = 5) {
      let changes = 0
      while (!(await h.checkApply(true))) {
        if (++changes >= max) throw new Error(`not converged after ${max} checkApply calls`)
      }
      return changes
    },
    async stop() {
      ac.abort()
      await watching
      await instance.cleanup?.()
      watcher.close()
      await rm(stateDir, { recursive: true, force: true })
    },
  }
  return h
}
