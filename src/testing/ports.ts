/**
 * Free loopback ports for the servers that tests start (etcd, sshd). A port found free is bound
 * later by another process, the server: meanwhile, a port of the kernel's ephemeral range
 * (`ip_local_port_range`) can go to any outgoing connection on the machine, and a test's etcd once
 * lost its port that way ("address already in use"). These come from below that range, at random,
 * are checked free, and are never given twice by one process.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** The lowest port handed out; below are the well-known and commonly configured ones. */
const LOWEST = 10_000

/** The first port of the ephemeral range, which outgoing connections take from. */
function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > LOWEST + 1000) return low
  } catch {}
  return 32_768
}

const given = new Set<number>()

/** Whether `port` can be bound on 127.0.0.1 now. */
function bindable(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = createServer()
    s.unref()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

/** A TCP port on 127.0.0.1, free when asked and outside the ephemeral range. */
export async function freePort(): Promise<number> {
  const end = ephemeralStart()
  for (let tries = 0; tries < 200; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (end - LOWEST))
    if (given.has(port)) continue
    given.add(port)
    if (await bindable(port)) return port
  }
  throw new Error(`no free port found between ${LOWEST} and ${end}`)
}

/** A url on loopback with a free port. */
export const freeUrl = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`
