/**
 * Host-key verification against an OpenSSH `known_hosts` file, as `ssh` does with
 * `StrictHostKeyChecking yes`: a host whose key is listed is trusted; a host with no entry is
 * unknown; a host listed with other keys only has changed its key (or is not who it claims to be);
 * a key marked `@revoked` is refused. Both are refused, with the fingerprint and how to act.
 *
 * Read as `sshd(8)` describes the format: comma-separated host patterns (`*` and `?` wildcards,
 * `!` negation), `[host]:port` for ports other than 22, hashed names (`|1|salt|hmac-sha1`, from
 * `HashKnownHosts`), and the `@revoked` and `@cert-authority` markers (certificates are not used:
 * `@cert-authority` lines are skipped).
 */
import { createHash, createHmac } from 'node:crypto'

export type HostKeyVerdict =
  | { readonly status: 'known'; readonly line: number }
  | { readonly status: 'unknown' }
  /** The host is listed, with other keys (their types). */
  | { readonly status: 'changed'; readonly line: number; readonly knownTypes: readonly string[] }
  | { readonly status: 'revoked'; readonly line: number }

interface Entry {
  readonly line: number
  readonly marker: '' | 'revoked' | 'cert-authority'
  readonly patterns: string
  readonly type: string
  readonly key: Buffer
}

/** The name a host is listed under: `host` on port 22, else `[host]:port`. */
export const hostEntryName = (host: string, port: number): string =>
  port === 22 ? host : `[${host}]:${port}`

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown'
  const n = blob.readUInt32BE(0)
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : 'unknown'
}

/** `SHA256:...`, the fingerprint `ssh-keygen -l` and `ssh` print. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

function parse(text: string): Entry[] {
  const out: Entry[] = []
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    let marker: Entry['marker'] = ''
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!.slice(1)
      if (m !== 'revoked' && m !== 'cert-authority') continue
      marker = m
    }
    const [patterns, type, b64] = fields
    if (!patterns || !type || !b64) continue
    out.push({ line: i + 1, marker, patterns, type, key: Buffer.from(b64, 'base64') })
  }
  return out
}

/** A glob of `*` and `?`, matched against the whole name, case-insensitively. */
function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${re}$`, 'i').test(name)
}

function hashedMatch(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split('|')
  if (magic !== '1' || !salt || !hash) return false
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
  return mac === hash
}

/** True when the host-pattern field of a line names `name`. */
export function patternsMatch(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatch(field, name)
  let matched = false
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false
    } else if (globMatch(p, name)) matched = true
  }
  return matched
}

/** Checks the key `blob` offered by `host:port` against the text of a known_hosts file. */
export function checkHostKey(text: string, host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = hostEntryName(host, port)
  const mine = parse(text).filter(e => e.marker !== 'cert-authority' && patternsMatch(e.patterns, name))
  const revoked = mine.find(e => e.marker === 'revoked' && e.key.equals(blob))
  if (revoked) return { status: 'revoked', line: revoked.line }
  const listed = mine.filter(e => e.marker === '')
  const same = listed.find(e => e.key.equals(blob))
  if (same) return { status: 'known', line: same.line }
  if (listed.length === 0) return { status: 'unknown' }
  return { status: 'changed', line: listed[0]!.line, knownTypes: [...new Set(listed.map(e => e.type))] }
}

/**
 * The host-key algorithms to ask the server for, those of the keys already listed for the host
 * first (as `ssh` orders them), so that a server with several keys offers one we can check.
 */
export function preferredHostKeyAlgorithms(text: string, host: string, port: number): string[] {
  const name = hostEntryName(host, port)
  const known = parse(text)
    .filter(e => e.marker === '' && patternsMatch(e.patterns, name))
    .map(e => e.type)
  const algos = (type: string): string[] =>
    type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]
  const all = [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
  ]
  const first = known.flatMap(algos).filter(a => all.includes(a))
  return [...new Set([...first, ...all])]
}
