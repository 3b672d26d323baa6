/**
 * Real etcd servers for tests: on free loopback ports, with their data on tmpfs when there is one
 * (etcd 3.4 fsyncs every write), fast raft timing, and `etcdctl` to read keys as any client would.
 * Every server is stopped by PID (TERM, then KILL) and its directory removed by `cleanup`.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { silentLogger } from '../util/logger.js'
import { EtcdServer, type EtcdServerOptions } from '../world/etcd/server.js'
import { freeUrl } from './ports.js'

/** A temporary directory on tmpfs when there is one: etcd fsyncs a lot. */
export function fastTmp(prefix: string): Promise<string> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
  return mkdtemp(join(base, prefix))
}

export interface TestEtcd {
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dir: string
  /** The running server's PID, if it runs. */
  readonly pid: number | undefined
  /** `etcdctl` against this server; resolves with its stdout. */
  ctl(...args: string[]): Promise<string>
  /** The value of a key, read by etcdctl; undefined when it does not exist. */
  get(key: string): Promise<string | undefined>
  /** Every key under a prefix, read by etcdctl. */
  keys(prefix: string): Promise<string[]>
  /** kill -9. */
  kill(): Promise<void>
  /** Starts it again on the same ports and data. */
  restart(): Promise<void>
  /** Stops it (TERM, then KILL) and removes its directory. */
  cleanup(): Promise<void>
}

const run = promisify(execFile)

/** etcd's own limits of a transaction and a request, which a user's cluster has unless set otherwise. */
export const ETCD_DEFAULT_LIMITS = { txnOps: 128, requestBytes: 1.5 * 1024 * 1024 }

/** Starts a one-member etcd cluster (with the limits mgmt gives its own, unless `limits`). */
export async function startEtcd(limits?: EtcdServerOptions['limits']): Promise<TestEtcd> {
  const dir = await fastTmp('mgmt-etcd-')
  const clientUrl = await freeUrl()
  const peerUrl = await freeUrl()
  const launch = (): Promise<EtcdServer> =>
    EtcdServer.start({
      binary: 'etcd',
      name: 'test',
      dataDir: join(dir, 'data'),
      logFile: join(dir, 'etcd.log'),
      clientUrls: [clientUrl],
      peerUrls: [peerUrl],
      initialCluster: `test=${peerUrl}`,
      state: 'new',
      log: silentLogger,
      limits,
    })
  let server: EtcdServer | undefined = await launch()
  const ctl = async (...args: string[]): Promise<string> =>
    (
      await run('etcdctl', [`--endpoints=${clientUrl}`, ...args], {
        env: { ...process.env, ETCDCTL_API: '3' },
        maxBuffer: 64 << 20,
      })
    ).stdout
  return {
    clientUrl,
    peerUrl,
    dir,
    get pid() {
      return server?.pid
    },
    ctl,
    async get(key) {
      const out = await ctl('get', '--print-value-only', key)
      return out === '' ? undefined : out.replace(/\n$/, '')
    },
    async keys(prefix) {
      const out = await ctl('get', '--prefix', '--keys-only', prefix)
      return out.split('\n').filter(Boolean)
    },
    async kill() {
      const s = server
      server = undefined
      if (s?.pid) process.kill(s.pid, 'SIGKILL')
      await s?.exited
    },
    async restart() {
      server = await launch()
    },
    async cleanup() {
      await server?.stop(2000)
      server = undefined
      await rm(dir, { recursive: true, force: true })
    },
  }
}
