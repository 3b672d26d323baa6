/**
 * The `remote:` key of a remote graph file: `ssh://user[:password]@host[:port]`. As with `ssh`, the
 * user defaults to the local user and the port to 22; `ssh://` may be left out. A password is
 * percent-decoded (write `@` as `%40`) and never printed: `formatRemote` leaves it out.
 */
import { userInfo } from 'node:os'

export interface RemoteUrl {
  readonly user: string
  readonly password?: string
  /** A name or an address (an IPv6 address without its brackets). */
  readonly host: string
  readonly port: number
}

const SHAPE = 'expected ssh://user[:password]@host[:port]'

/** Parses a remote URL; throws an Error whose message says what is wrong (never the password). */
export function parseRemoteUrl(text: string, localUser: () => string = () => userInfo().username): RemoteUrl {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `ssh://${text}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    throw new Error(`not a URL: ${SHAPE}`)
  }
  if (u.protocol !== 'ssh:') throw new Error(`unsupported scheme \`${u.protocol.slice(0, -1)}\`: ${SHAPE}`)
  if (u.hostname === '') throw new Error(`no host: ${SHAPE}`)
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '')
    throw new Error(`a remote URL has no path, query or fragment: ${SHAPE}`)
  const port = u.port === '' ? 22 : Number(u.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${u.port} is out of range`)
  let user: string
  let password: string | undefined
  try {
    user = decodeURIComponent(u.username)
    password = u.password === '' ? undefined : decodeURIComponent(u.password)
  } catch {
    throw new Error('the user or password is not percent-encoded correctly (write `@` as %40, `:` as %3A)')
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  return { user: user || localUser(), ...(password === undefined ? {} : { password }), host, port }
}

/** `user@host:port`, without the password: safe for logs and messages. */
export function formatRemote(r: RemoteUrl): string {
  const host = r.host.includes(':') ? `[${r.host}]` : r.host
  return `${r.user}@${host}:${r.port}`
}

/** The URL's text with its password, if any, replaced by as many `*`: the length is kept. */
export function maskPassword(text: string): string {
  return text.replace(
    /^((?:ssh:\/\/)?[^:@/]*:)([^@/]*)@/i,
    (_m, head: string, pw: string) => `${head}${'*'.repeat(pw.length)}@`,
  )
}
