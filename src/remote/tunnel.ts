/**
 * A reverse tunnel: a port on the remote host's loopback whose connections come back over the SSH
 * connection to a host and port as seen from here (`ssh -R`). Remote runs reach the initiator's
 * etcd through one, without the remote host needing any route to the initiator.
 */
import { type Socket, connect as tcpConnect } from 'node:net'
import type { Client, ClientChannel, TcpConnectionDetails } from 'ssh2'

export interface TunnelTarget {
  readonly host: string
  readonly port: number
}

export interface Tunnel {
  /** The port listening on the remote host's loopback. */
  readonly remotePort: number
  /** Stops listening there and closes the connections it carries. */
  close(): Promise<void>
}

const BIND = '127.0.0.1'

/** Opens a reverse tunnel; `remotePort` 0 lets the remote sshd choose a free port. */
export function reverseTunnel(conn: Client, target: TunnelTarget, remotePort = 0): Promise<Tunnel> {
  return new Promise((resolve, reject) => {
    conn.forwardIn(BIND, remotePort, (err, port) => {
      if (err) return reject(err)
      const bound = remotePort || port
      const open = new Set<Socket | ClientChannel>()
      const onConnection = (
        info: TcpConnectionDetails,
        accept: () => ClientChannel,
        rejectConn: () => void,
      ): void => {
        if (info.destPort !== bound) return
        // etcd's requests are small and answered at once: no waiting to fill segments (Nagle).
        const local = tcpConnect({ port: target.port, host: target.host, noDelay: true })
        let ch: ClientChannel | undefined
        open.add(local)
        local.once('connect', () => {
          const c = accept()
          ch = c
          open.add(c)
          c.once('close', () => {
            open.delete(c)
            local.destroy()
          })
          c.pipe(local).pipe(c)
        })
        local.once('close', () => {
          open.delete(local)
          ch?.destroy()
        })
        // Nothing listens at the target: refuse the remote connection rather than accept and drop it.
        local.once('error', () => {
          if (!ch) rejectConn()
        })
      }
      conn.on('tcp connection', onConnection)
      resolve({
        remotePort: bound,
        close: () =>
          new Promise<void>(done => {
            conn.off('tcp connection', onConnection)
            for (const s of open) s.destroy()
            conn.unforwardIn(BIND, bound, () => done())
          }),
      })
    })
  })
}
