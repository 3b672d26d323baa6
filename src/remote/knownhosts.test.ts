/** known_hosts checks, against files written and hashed by OpenSSH's own ssh-keygen. */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import {
  checkHostKey,
  fingerprint,
  keyType,
  patternsMatch,
  preferredHostKeyAlgorithms,
} from './knownhosts.js'

const dir = mkdtempSync(join(tmpdir(), 'mgmt-knownhosts-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** A fresh key pair made by ssh-keygen: its public line's type and blob. */
function newKey(name: string, type = 'ed25519'): { type: string; b64: string; blob: Buffer; file: string } {
  const file = join(dir, name)
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file])
  const [t, b64] = readFileSync(`${file}.pub`, 'utf8').split(' ')
  return { type: t!, b64: b64!, blob: Buffer.from(b64!, 'base64'), file }
}

const a = newKey('a')
const b = newKey('b')
const r = newKey('r', 'rsa')

test('key type and fingerprint agree with ssh-keygen', () => {
  assert.equal(keyType(a.blob), 'ssh-ed25519')
  assert.equal(keyType(r.blob), 'ssh-rsa')
  const printed = execFileSync('ssh-keygen', ['-l', '-f', `${a.file}.pub`], { encoding: 'utf8' })
  assert.equal(printed.split(' ')[1], fingerprint(a.blob))
})

test('plain entries: known, unknown, changed, and [host]:port for other ports', () => {
  const text = `# comment\nh1,10.0.0.1 ${a.type} ${a.b64}\n[h2]:2222 ${b.type} ${b.b64} c\n`
  assert.deepEqual(checkHostKey(text, 'h1', 22, a.blob), { status: 'known', line: 2 })
  assert.deepEqual(checkHostKey(text, '10.0.0.1', 22, a.blob), { status: 'known', line: 2 })
  assert.deepEqual(checkHostKey(text, 'h2', 2222, b.blob), { status: 'known', line: 3 })
  assert.deepEqual(checkHostKey(text, 'h2', 22, b.blob), { status: 'unknown' })
  assert.deepEqual(checkHostKey(text, 'h1', 2222, a.blob), { status: 'unknown' })
  assert.deepEqual(checkHostKey(text, 'h1', 22, b.blob), {
    status: 'changed',
    line: 2,
    knownTypes: ['ssh-ed25519'],
  })
})

test('hashed entries (ssh-keygen -H) are matched', () => {
  const file = join(dir, 'known_hosts')
  writeFileSync(file, `h1 ${a.type} ${a.b64}\n[10.0.0.2]:2200 ${b.type} ${b.b64}\n`)
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' })
  const text = readFileSync(file, 'utf8')
  assert.match(text, /^\|1\|.*\n\|1\|.*\n$/, 'both names hashed')
  assert.equal(checkHostKey(text, 'h1', 22, a.blob).status, 'known')
  assert.equal(checkHostKey(text, '10.0.0.2', 2200, b.blob).status, 'known')
  assert.equal(checkHostKey(text, '10.0.0.2', 22, b.blob).status, 'unknown')
  assert.equal(checkHostKey(text, 'h1', 22, b.blob).status, 'changed')
})

test('wildcards, negation, @revoked and @cert-authority', () => {
  assert.ok(patternsMatch('*.lab,!bad.lab', 'web1.lab'))
  assert.ok(!patternsMatch('*.lab,!bad.lab', 'bad.lab'))
  assert.ok(patternsMatch('web?.lab', 'WEB1.lab'))
  assert.ok(!patternsMatch('web?.lab', 'web10.lab'))
  const text = [
    `@cert-authority *.lab ${b.type} ${b.b64}`,
    `*.lab ${a.type} ${a.b64}`,
    `@revoked * ${r.type} ${r.b64}`,
  ].join('\n')
  assert.equal(checkHostKey(text, 'x.lab', 22, a.blob).status, 'known')
  assert.equal(checkHostKey(text, 'x.lab', 22, b.blob).status, 'changed')
  assert.deepEqual(checkHostKey(text, 'x.lab', 22, r.blob), { status: 'revoked', line: 3 })
})

test('host-key algorithms: the types listed for the host first', () => {
  const text = `h1 ${r.type} ${r.b64}\n`
  assert.deepEqual(preferredHostKeyAlgorithms(text, 'h1', 22).slice(0, 4), [
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
    'ssh-ed25519',
  ])
  assert.equal(preferredHostKeyAlgorithms(text, 'h2', 22)[0], 'ssh-ed25519')
})
