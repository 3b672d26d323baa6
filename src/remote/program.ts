/**
 * What travels to a remote host to run mgmt there: the single-file bundle (`dist/mgmt.mjs`, made by
 * `npm run build`; when mgmt itself runs from a bundle, as a middle host of a hierarchy does, that
 * same file), this machine's Node.js binary for hosts that have no Node.js >= 20, and this
 * machine's etcd server for hosts that join a detached cluster without one.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describeError, MgmtError } from '../util/errors.js'
import { which } from '../util/which.js'
import { isBundle } from '../version.js'

export interface Payload {
  /** Its name in the remote working directory. */
  readonly name: string
  readonly path: string
  readonly size: number
  readonly sha256: string
}

/** The oldest Node.js the program runs on. */
export const MIN_NODE_MAJOR = 20

export interface NodePayload extends Payload {
  readonly version: string
  readonly platform: NodeJS.Platform
  readonly arch: string
}

async function payload(name: string, path: string): Promise<Payload> {
  const { size } = await stat(path)
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return { name, path, size, sha256: hash.digest('hex') }
}

let bundleP: Promise<Payload> | undefined
let nodeP: Promise<NodePayload> | undefined
const etcdP = new Map<string, Promise<Payload>>()

/** The bundle to ship, with its hash (worked out once per process). Throws ERR_REMOTE_SETUP. */
export function programBundle(): Promise<Payload> {
  const path = isBundle
    ? fileURLToPath(import.meta.url)
    : fileURLToPath(new URL('../../mgmt.mjs', import.meta.url))
  bundleP ??= payload('mgmt.mjs', path).catch(err => {
    throw new MgmtError('ERR_REMOTE_SETUP', {
      remote: 'this machine',
      step: 'find the program to copy',
      reason: `${describeError(err)} (npm run build makes it)`,
    })
  })
  return bundleP
}

/** This Node.js binary, for hosts without a usable one; hashed only when a host needs it. */
export function nodeBinary(): Promise<NodePayload> {
  nodeP ??= payload('node', process.execPath).then(p => ({
    ...p,
    version: process.versions.node,
    platform: process.platform,
    arch: process.arch,
  }))
  return nodeP
}

/** The etcd server `binary` (`--etcd-binary`: a path, or a name on the PATH), hashed once. */
export function etcdBinary(binary: string): Promise<Payload> {
  let p = etcdP.get(binary)
  if (!p) {
    p = onPath(binary).then(path => payload('etcd', path))
    etcdP.set(binary, p)
  }
  return p
}

async function onPath(binary: string): Promise<string> {
  const path = await which(binary)
  if (!path)
    throw new Error(
      `\`${binary}\` is not on this machine's PATH either (Debian: apt-get install etcd-server)`,
    )
  return path
}
