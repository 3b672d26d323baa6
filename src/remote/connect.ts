/**
 * One SSH connection (ssh2): the host key verified against known_hosts before anything is sent, then
 * the login steps of auth.ts. Every failure becomes a coded error that names the host and the
 * reason: unreachable (ERR_REMOTE_CONNECT), unknown or changed key (ERR_REMOTE_HOSTKEY_*), login
 * refused (ERR_REMOTE_AUTH).
 */
import { readFile } from 'node:fs/promises'
import ssh2, { type Client } from 'ssh2'
import { describeError, errCode, MgmtError } from '../util/errors.js'
import { authHandler, type Credentials } from './auth.js'
import {
  checkHostKey,
  fingerprint,
  type HostKeyVerdict,
  hostEntryName,
  keyType,
  preferredHostKeyAlgorithms,
} from './knownhosts.js'
import { formatRemote, type RemoteUrl } from './url.js'

export interface ConnectOptions {
  readonly credentials: Credentials
  /** The known_hosts file the host key must be in. */
  readonly knownHosts: string
  /** How long the TCP connection, the handshake and the login may take (not counting prompts). */
  readonly timeoutMs?: number
  /** Aborting it closes the connection attempt. */
  readonly signal?: AbortSignal
}

/**
 * SSH keepalives: a request every 5 s, the connection given up after 3 unanswered, so that a dead
 * peer (a host switched off, a cable pulled) is noticed within about 20 s, not at TCP's hours.
 */
export const KEEPALIVE_INTERVAL_MS = 5000
export const KEEPALIVE_COUNT_MAX = 3

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is sshd running there, on that port?)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  ENOTFOUND: 'no such host name',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
}

export async function connect(target: RemoteUrl, opts: ConnectOptions): Promise<Client> {
  const remote = formatRemote(target)
  const known = await readFile(opts.knownHosts, 'utf8').catch(err => {
    if (errCode(err) === 'ENOENT') return ''
    throw new MgmtError(
      'ERR_FILE_READ',
      { file: opts.knownHosts, reason: describeError(err) },
      { cause: err },
    )
  })
  const tried: string[] = []
  let offered: { blob: Buffer; verdict: HostKeyVerdict } | undefined
  const conn = new ssh2.Client()
  // Prompts may take a person's time: the handshake timeout only applies without a prompter.
  const timeout = opts.credentials.prompter ? 0 : (opts.timeoutMs ?? 20_000)
  return new Promise<Client>((resolve, reject) => {
    const onAbort = (): void => {
      conn.end()
      fail(new MgmtError('ERR_REMOTE_CONNECT', { remote, reason: 'stopped before connecting' }))
    }
    let failed = false
    const fail = (err: Error): void => {
      if (failed) return
      failed = true
      opts.signal?.removeEventListener('abort', onAbort)
      conn.removeAllListeners('ready')
      conn.end()
      reject(err)
    }
    // Closed by the server before the login completed, without an error (too many connections...).
    const onClose = (): void =>
      fail(new MgmtError('ERR_REMOTE_CONNECT', { remote, reason: 'the server closed the connection' }))
    if (opts.signal?.aborted) return onAbort()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    conn.once('close', onClose)
    conn.once('ready', () => {
      opts.signal?.removeEventListener('abort', onAbort)
      conn.off('close', onClose)
      conn.removeAllListeners('error')
      // An error after the login (a broken connection) is reported by whoever uses the connection.
      conn.on('error', () => {})
      // One connection carries SFTP's small round trips beside the tunnel's traffic: Nagle's
      // algorithm would hold each request until the tunnel's last segment is acknowledged.
      conn.setNoDelay(true)
      resolve(conn)
    })
    // Not once: ssh2 may give a second error for the same end (a reset, then "Connection lost
    // before handshake"), which would otherwise be thrown as unhandled.
    conn.on('error', (err: Error & { level?: string }) => {
      if (offered && offered.verdict.status !== 'known')
        return fail(hostKeyError(remote, target, opts.knownHosts, offered))
      if (err.level === 'client-authentication')
        return fail(new MgmtError('ERR_REMOTE_AUTH', { remote, tried }))
      if (err.level === 'client-timeout')
        return fail(
          new MgmtError('ERR_REMOTE_CONNECT', { remote, reason: 'no SSH handshake within the time allowed' }),
        )
      const known = REASONS[errCode(err) ?? '']
      fail(
        new MgmtError(
          'ERR_REMOTE_CONNECT',
          { remote, reason: known ?? err.message },
          known ? {} : { cause: err },
        ),
      )
    })
    conn.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: timeout,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      algorithms: { serverHostKey: preferredHostKeyAlgorithms(known, target.host, target.port) as never },
      hostVerifier: (blob: Buffer): boolean => {
        offered = { blob, verdict: checkHostKey(known, target.host, target.port, blob) }
        return offered.verdict.status === 'known'
      },
      authHandler: authHandler(target, opts.credentials, tried),
    })
  })
}

function hostKeyError(
  remote: string,
  target: RemoteUrl,
  knownHosts: string,
  offered: { blob: Buffer; verdict: HostKeyVerdict },
): MgmtError {
  const type = keyType(offered.blob)
  const common = { remote, keyType: type, fingerprint: fingerprint(offered.blob), knownHosts }
  const v = offered.verdict
  if (v.status === 'unknown')
    return new MgmtError('ERR_REMOTE_HOSTKEY_UNKNOWN', {
      ...common,
      trust: `ssh-keyscan -p ${target.port} -t ${type.replace(/^ssh-|-sha2-nistp\d+$/g, '')} ${target.host} >> ${knownHosts}`,
    })
  return new MgmtError('ERR_REMOTE_HOSTKEY_CHANGED', {
    ...common,
    line: v.status === 'known' ? 0 : v.line,
    revoked: v.status === 'revoked',
    forget: `ssh-keygen -R '${hostEntryName(target.host, target.port)}' -f ${knownHosts}`,
  })
}
