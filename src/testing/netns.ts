/**
 * Separate hosts for tests: network namespaces joined by bridges, as TESTING.md describes. Each
 * host is a namespace with its own loopback and, for each bridge it joins, a veth whose other end
 * is in the bridge's own namespace (so nothing is added to the machine's namespace) and an address
 * `10.200.<bridge>.<n>/24`, reachable only from the lab's namespaces: never connect to one from the
 * machine's own namespace. Names are unique per lab (`mgmt-t10-<random>-...`); `cleanup` kills every
 * process left in them, by PID, and deletes them (also at exit, should a test be cut short).
 */
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ip = (...args: string[]): Promise<unknown> => run('ip', args)

export interface LabHost {
  readonly ns: string
  /** Its address on a bridge it joined. */
  addr(bridge: number): string
}

export interface Lab {
  /** Adds a host attached to `bridges`; its address on each is 10.200.<bridge>.<n>. */
  host(name: string, bridges: readonly number[]): Promise<LabHost>
  /** PIDs of the processes running in a host whose command line contains `needle`. */
  processes(host: LabHost, needle: string): Promise<number[]>
  cleanup(): Promise<void>
}

async function pids(ns: string): Promise<number[]> {
  const { stdout } = (await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }))) as {
    stdout: string
  }
  return stdout.split('\n').filter(Boolean).map(Number)
}

function killAll(ns: string[]): void {
  for (const n of ns)
    try {
      const out = execFileSync('ip', ['netns', 'pids', n], { encoding: 'utf8' })
      for (const pid of out.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL')
    } catch {
      // gone already
    }
  for (const n of ns)
    try {
      execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' })
    } catch {
      // gone already
    }
}

export async function createLab(tag: string): Promise<Lab> {
  const id = `mgmt-t10-${tag}-${randomBytes(3).toString('hex')}`
  const made: string[] = []
  const onExit = (): void => killAll(made)
  process.once('exit', onExit)
  const bridgeNs = `${id}-br`
  await ip('netns', 'add', bridgeNs)
  made.push(bridgeNs)
  const bridges = new Set<number>()
  let count = 0
  return {
    async host(name, joins) {
      const ns = `${id}-${name}`
      const n = ++count + 1
      await ip('netns', 'add', ns)
      made.push(ns)
      await ip('-n', ns, 'link', 'set', 'lo', 'up')
      for (const b of joins) {
        if (!bridges.has(b)) {
          await ip('-n', bridgeNs, 'link', 'add', `br${b}`, 'type', 'bridge')
          await ip('-n', bridgeNs, 'link', 'set', `br${b}`, 'up')
          bridges.add(b)
        }
        const peer = `v${n}b${b}`
        await ip('-n', ns, 'link', 'add', `eth${b}`, 'type', 'veth', 'peer', 'name', peer, 'netns', bridgeNs)
        await ip('-n', bridgeNs, 'link', 'set', peer, 'master', `br${b}`, 'up')
        await ip('-n', ns, 'addr', 'add', `10.200.${b}.${n}/24`, 'dev', `eth${b}`)
        await ip('-n', ns, 'link', 'set', `eth${b}`, 'up')
      }
      return { ns, addr: b => `10.200.${b}.${n}` }
    },
    async processes(host, needle) {
      const out: number[] = []
      for (const pid of await pids(host.ns)) {
        const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
        if (cmd.includes(needle)) out.push(pid)
      }
      return out
    },
    async cleanup() {
      process.off('exit', onExit)
      for (const ns of made)
        for (const pid of await pids(ns))
          try {
            process.kill(pid, 'SIGTERM')
          } catch {
            // exited meanwhile
          }
      const deadline = Date.now() + 2000
      for (const ns of made)
        while ((await pids(ns)).length && Date.now() < deadline) await new Promise(r => setTimeout(r, 50))
      killAll(made)
    },
  }
}
