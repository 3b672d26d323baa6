/** The `address` of a server: `:80`, `127.0.0.1:8080`, `[::1]:69`, `localhost:0` (0: any free port). */
import { isIPv6 } from 'node:net'

export interface Address {
  /** Empty: every interface. */
  readonly host: string
  readonly port: number
}

/** Parses `host:port`; returns an explanation when it is not one. */
export function parseAddress(text: string): Address | string {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text)
  if (!m) return `expected host:port (\`:80\`, \`127.0.0.1:8080\`, \`[::1]:69\`), got ${JSON.stringify(text)}`
  const host = m[1] ?? m[2] ?? ''
  if (m[1] !== undefined && !isIPv6(host)) return `${JSON.stringify(host)} is not an IPv6 address`
  const port = Number(m[3])
  if (port > 65535) return `port ${port} is out of range (0 to 65535)`
  return { host, port }
}

/** How a bound socket's address is shown: `127.0.0.1:8080`, `[::]:69`. */
export function showAddress(a: { address: string; port: number }): string {
  return `${isIPv6(a.address) ? `[${a.address}]` : a.address}:${a.port}`
}
