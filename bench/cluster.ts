/**
 * The cluster phase, against a real etcd (3.4, on free loopback ports, its data on tmpfs) and real
 * mgmt hosts joined to it as clients (`--seeds URL --no-server`):
 *
 * 1. **Export → collect.** Host A exports one file (`@@shared`), host B collects it into its own
 *    directory. `--exports` times, A's graph file is saved with a new content, and the time runs
 *    from that save to the moment the bench sees B's copy hold the new content (its own `fs.watch`
 *    on B's directory; no polling). This is the whole path: A's file watch, reload and compile, the
 *    export transaction, etcd, B's watch, collect, compile, graph swap, and the file write.
 * 2. **A converged three-host cluster.** The original's t3 (three hosts, each with two files of
 *    its own and two exported, collecting every host's exports into its own directory) started at
 *    once, timed from the spawn to the moment every host's directory holds its 8 files and every
 *    host's converged-status file says `true`. etcd is emptied between runs, so that no run
 *    collects what the one before exported.
 */
import {
  type FSWatcher,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  watch,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { startEtcd } from '../src/testing/etcd.js'
import { type Command, start, stop } from './proc.js'
import { type Summary, summarize } from './stats.js'

export interface ClusterFigures {
  /** Export change on A → the collected file on B, ms. */
  readonly exports: Summary
  /** Three hosts from spawn to converged with every collected file in place, ms. */
  readonly converge: Summary
}

export interface ClusterOptions {
  readonly exports: number
  readonly runs: number
  readonly base: string
  readonly node: Command
  readonly timeoutMs: number
  readonly say: (line: string) => void
}

const HOSTS = ['a', 'b', 'c'] as const

/** The original's t3 graph of host `h` (`t3-a.yaml` ...), its directories under `root`. */
function t3(root: string, h: string): string {
  const dir = `${root}/mgmt${h.toUpperCase()}`
  const file = (name: string, path: string, content: string): string =>
    `  - name: "${name}"\n    path: "${path}"\n    content: |\n      ${content}\n    state: exists\n`
  return (
    'graph: mygraph\nresources:\n  file:\n' +
    file(`file1${h}`, `${dir}/f1${h}`, 'i am f1') +
    file(`file2${h}`, `${dir}/f2${h}`, 'i am f2') +
    file(`@@file3${h}`, `${dir}/f3${h}`, `i am f3, exported from host ${h.toUpperCase()}`) +
    file(`@@file4${h}`, `${dir}/f4${h}`, `i am f4, exported from host ${h.toUpperCase()}`) +
    `collect:\n- kind: file\n  pattern: "${dir}/"\nedges: []\n`
  )
}

export async function measureCluster(o: ClusterOptions): Promise<ClusterFigures> {
  const etcd = await startEtcd()
  try {
    o.say(`cluster: etcd at ${etcd.clientUrl}; ${o.exports} export changes from host a to host b`)
    const exports = await exportLatency(o, etcd.clientUrl)
    o.say(`cluster: ${o.runs} cold starts of three t3 hosts`)
    const converge: number[] = []
    for (let r = 0; r < o.runs; r++) {
      await etcd.ctl('del', '--prefix', '/_mgmt/')
      converge.push(await threeHosts(o, etcd.clientUrl, r))
    }
    return { exports: summarize(exports), converge: summarize(converge) }
  } finally {
    await etcd.cleanup()
  }
}

const mgmt = (o: ClusterOptions, args: string[]): Command => ({ ...o.node, args: [...o.node.args, ...args] })
const client = (seeds: string, host: string): string[] => [
  'run',
  '--tmp-prefix',
  '--hostname',
  host,
  '--seeds',
  seeds,
  '--no-server',
]

/** Resolves once `cond()` holds, checked now and on every event of the directories; rejects after `ms`. */
function when(dirs: string[], cond: () => boolean, what: string, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws: FSWatcher[] = []
    const done = (fn: () => void): void => {
      clearTimeout(t)
      for (const w of ws) w.close()
      fn()
    }
    const check = (): void => {
      let ok = false
      try {
        ok = cond()
      } catch {}
      if (ok) {
        const at = performance.now()
        done(() => resolve(at))
      }
    }
    const t = setTimeout(() => done(() => reject(new Error(`${what}: not within ${ms} ms`))), ms)
    for (const d of dirs) ws.push(watch(d, check))
    check()
  })
}

const read = (p: string): string => {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

async function exportLatency(o: ClusterOptions, seeds: string): Promise<number[]> {
  const dir = join(o.base, 'cluster-exports')
  const bDir = join(dir, 'b')
  mkdirSync(bDir, { recursive: true })
  const aYaml = join(dir, 'a.yaml')
  const bYaml = join(dir, 'b.yaml')
  const graphA = (v: number): string =>
    `graph: a\nresources:\n  file:\n  - name: "@@shared"\n    path: /nowhere/shared\n    content: "v${v}\\n"\n    state: exists\n`
  writeFileSync(aYaml, graphA(0))
  writeFileSync(bYaml, `graph: b\nresources: {}\ncollect:\n- kind: file\n  pattern: ${bDir}/\n`)
  const a = start(mgmt(o, [...client(seeds, 'a'), 'yaml', aYaml]), join(o.base, 'logs', 'cluster-a.log'))
  const b = start(mgmt(o, [...client(seeds, 'b'), 'yaml', bYaml]), join(o.base, 'logs', 'cluster-b.log'))
  try {
    const shared = join(bDir, 'shared')
    await when([bDir], () => read(shared) === 'v0\n', 'the first collected file', o.timeoutMs)
    const out: number[] = []
    for (let k = 1; k <= o.exports; k++) {
      const seen = when([bDir], () => read(shared) === `v${k}\n`, `export change ${k}`, o.timeoutMs)
      // Saved as editors save: a temporary file renamed over the graph (a write in place would wait
      // for the graph file to be quiet for a second).
      writeFileSync(`${aYaml}.new`, graphA(k))
      const t0 = performance.now()
      renameSync(`${aYaml}.new`, aYaml)
      out.push((await seen) - t0)
    }
    return out
  } finally {
    await stop(a)
    await stop(b)
  }
}

async function threeHosts(o: ClusterOptions, seeds: string, run: number): Promise<number> {
  const root = join(o.base, `cluster-t3-${run}`)
  const dirs = HOSTS.map(h => join(root, `mgmt${h.toUpperCase()}`))
  for (const d of dirs) mkdirSync(d, { recursive: true })
  const status = (h: string): string => join(root, `status-${h}`)
  const files = HOSTS.map(h => {
    const f = join(root, `t3-${h}.yaml`)
    writeFileSync(f, t3(root, h))
    return f
  })
  const complete = (): boolean =>
    dirs.every(d => readdirSync(d).length === 8) &&
    HOSTS.every(h => read(status(h)).trimEnd().split('\n').at(-1) === 'true')
  const t0 = performance.now()
  const hosts = HOSTS.map((h, i) =>
    start(
      mgmt(o, [
        ...client(seeds, h),
        '--converged-timeout',
        '0',
        '--converged-timeout-no-exit',
        '--converged-status-file',
        status(h),
        'yaml',
        files[i]!,
      ]),
      join(o.base, 'logs', `cluster-t3-${h}.log`),
    ),
  )
  try {
    return (await when([root, ...dirs], complete, 'three converged hosts', o.timeoutMs)) - t0
  } finally {
    for (const h of hosts) await stop(h)
  }
}
