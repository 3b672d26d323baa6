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

/** Makes the error of a preparation step that failed, for the reason given. */
type StepError = (step: string, reason: string) => Error

/** What a probe says of the host's system and binaries (probe.ts). */
interface Found {
  readonly wd: string
  readonly os: string
  readonly machine: string
  readonly node?: { readonly path: string; readonly version: string }
  readonly etcd?: string
}

/** The remote's Node.js when it is recent enough, else ours, to be copied. */
export async function chooseNode(
  p: Found,
  fail: StepError,
): Promise<{ path: string; copy?: NodePayload; describe: string }> {
  const major = Number(p.node?.version.split('.')[0])
  if (p.node && major >= MIN_NODE_MAJOR)
    return { path: p.node.path, describe: `Node.js ${p.node.version} there` }
  const ours = await nodeBinary()
  const found = p.node ? `Node.js ${p.node.version}` : 'no Node.js'
  sameSystem(p, `find a Node.js >= ${MIN_NODE_MAJOR} to run with`, `it has ${found} on its PATH`, fail)
  return {
    path: `${p.wd}/node`,
    copy: ours,
    describe: `${found} there: this Node.js ${ours.version} copied along`,
  }
}

/** A detached member's etcd server: the one on its PATH, else ours (`binary`), to be copied. */
export async function chooseEtcd(
  p: Found,
  binary: string,
  fail: StepError,
): Promise<{ path?: string; copy?: Payload }> {
  if (p.etcd) return {}
  const step = 'find an etcd server to run (a detached host is an etcd member)'
  sameSystem(p, step, 'it has no etcd on its PATH', fail)
  const ours = await etcdBinary(binary).catch(err => {
    throw fail(step, `it has no etcd on its PATH, and ${describeError(err)}`)
  })
  return { path: `${p.wd}/etcd`, copy: ours }
}

/** Throws unless a binary of this machine runs there (Linux, the same architecture). */
function sameSystem(p: Found, step: string, found: string, fail: StepError): void {
  const arch = ARCH[process.arch]
  if (
    p.os !== 'Linux' ||
    process.platform !== 'linux' ||
    (arch !== p.machine && !(arch === 'armv7l' && p.machine.startsWith('armv')))
  )
    throw fail(
      step,
      `${found}, and this machine's binaries are for ${process.platform}-${process.arch}, not ${p.os} ${p.machine}`,
    )
}

/** `uname -m` for Node's `process.arch`. */
const ARCH: Readonly<Record<string, string>> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  arm: 'armv7l',
  ppc64: 'ppc64le',
  s390x: 's390x',
}
