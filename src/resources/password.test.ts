import assert from 'node:assert/strict'
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { stateFiles } from '../engine/context.js'
import { inTempDir } from '../testing/tempdir.js'
import { type ResourceHarness, startResource } from '../testing/timeline.js'
import { generatePassword, password, readToken, writeToken } from './password.js'

const ALNUM = /^[A-Za-z0-9]+$/

/** The token path, from the resource's debug line. */
function tokenOf(h: ResourceHarness): string {
  const line = h.logs.find(l => l.includes('debug: token: '))
  assert.ok(line, 'no token debug line')
  return line.slice(line.indexOf('debug: token: ') + 'debug: token: '.length)
}

const sentPassword = (h: ResourceHarness): string => {
  const p = h.sent?.password
  assert.equal(typeof p, 'string')
  return p as string
}

const withDir = (fn: (dir: string) => Promise<void>): Promise<void> => inTempDir('password', fn)

test('generatePassword: exact length, only letters and digits, all of them used', () => {
  for (const n of [1, 7, 64, 300]) {
    const p = generatePassword(n)
    assert.equal(p.length, n)
    assert.match(p, ALNUM)
  }
  const big = generatePassword(20000)
  assert.equal(new Set(big).size, 62)
  assert.notEqual(generatePassword(64), generatePassword(64))
})

test('writeToken/readToken: a password stays the same across reads and writers', () =>
  withDir(async dir => {
    const file = join(dir, 'password')
    assert.deepEqual(await readToken(stateFiles(dir), 10), { state: 'missing', reason: 'no token' })
    await writeToken(stateFiles(dir), 'abcDEF0123')
    assert.equal(await readFile(file, 'utf8'), 'abcDEF0123\n')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.deepEqual(await readToken(stateFiles(dir), 10), { state: 'ok', password: 'abcDEF0123' })
    assert.deepEqual(await readToken(stateFiles(dir), 10), { state: 'ok', password: 'abcDEF0123' })
    await chmod(file, 0o644)
    await writeToken(stateFiles(dir), 'zzzzzzzzzz')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.deepEqual(await readToken(stateFiles(dir), 10), { state: 'ok', password: 'zzzzzzzzzz' })
    assert.deepEqual((await readdir(dir)).sort(), ['length', 'password'])
  }))

test('readToken: an empty token is missing, a wrong length or character is corrupt', () =>
  withDir(async dir => {
    const file = join(dir, 'password')
    await writeFile(file, '\n')
    assert.deepEqual(await readToken(stateFiles(dir), 4), { state: 'missing', reason: 'the token is empty' })
    await writeFile(file, 'abc\n')
    assert.deepEqual(await readToken(stateFiles(dir), 4), {
      state: 'corrupt',
      reason: 'the stored password has 3 characters, not 4',
    })
    await writeFile(file, 'ab-d\n')
    assert.deepEqual(await readToken(stateFiles(dir), 4), {
      state: 'corrupt',
      reason: 'the stored password has an invalid character',
    })
    await writeFile(file, 'abcd') // no newline: still fine
    assert.deepEqual(await readToken(stateFiles(dir), 4), { state: 'ok', password: 'abcd' })
  }))

test('readToken: a token made for another length is rotated, not corrupt', () =>
  withDir(async dir => {
    await writeToken(stateFiles(dir), 'abcDEF0123')
    assert.deepEqual(await readToken(stateFiles(dir), 16), {
      state: 'resized',
      reason: '`length` changed from 10 to 16: rotating it',
      password: 'abcDEF0123',
    })
  }))

test('password generates, keeps mode 0600, sends, and is then stable', async () => {
  const h = await startResource(password, 'p', { length: 20 })
  await h.startup()
  assert.equal(await h.checkApply(), false)
  const first = sentPassword(h)
  assert.equal(first.length, 20)
  assert.match(first, ALNUM)
  const file = tokenOf(h)
  assert.equal(await readFile(file, 'utf8'), `${first}\n`)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  assert.equal(await h.checkApply(), true)
  assert.equal(sentPassword(h), first)
  assert.ok(h.logs.includes('password[p]: generated a new password (no token)'))
  assert.ok(!h.logs.some(l => l.includes(first)), 'the password is never logged')
  await h.stop()
})

test('password regenerates on a notification', async () => {
  const h = await startResource(password, 'p', {})
  await h.startup()
  await h.converge()
  const first = sentPassword(h)
  assert.equal(first.length, 64)
  h.setRefresh(true)
  assert.equal(await h.checkApply(), false)
  const second = sentPassword(h)
  assert.notEqual(second, first)
  assert.equal(await readFile(tokenOf(h), 'utf8'), `${second}\n`)
  assert.equal(await h.checkApply(), true)
  assert.equal(sentPassword(h), second)
  await h.stop()
})

test('password: a deleted token is an event, and is regenerated', async () => {
  const h = await startResource(password, 'p', { length: 12 })
  await h.startup()
  await h.converge()
  const first = sentPassword(h)
  const file = tokenOf(h)
  const seen = h.events
  const event = h.nextEvent()
  await rm(file)
  await event
  assert.ok(h.events > seen)
  assert.equal(await h.converge(), 1)
  assert.notEqual(sentPassword(h), first)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  await h.stop()
})

test('password: a corrupt token fails, unless check_recovery', async () => {
  const h = await startResource(password, 'p', { length: 8 })
  await h.startup()
  await h.converge()
  const file = tokenOf(h)
  await writeFile(file, 'short\n')
  await assert.rejects(h.checkApply(), /the stored password has 5 characters, not 8 \(set check_recovery/)
  await h.stop()

  const r = await startResource(password, 'p', { length: 8, check_recovery: true })
  await r.startup()
  await r.converge()
  await writeFile(tokenOf(r), 'bad*char\n')
  assert.equal(await r.converge(), 1)
  assert.match(sentPassword(r), /^[A-Za-z0-9]{8}$/)
  assert.ok(
    r.logs.includes('password[p]: generated a new password (the stored password has an invalid character)'),
  )
  await r.stop()
})

test('password repairs the token mode, and in noop mode changes nothing', async () => {
  const h = await startResource(password, 'p', { length: 8 })
  await h.startup()
  assert.equal(await h.checkApply(false), false)
  assert.equal(h.sent, undefined)
  await h.converge()
  const file = tokenOf(h)
  await chmod(file, 0o644)
  assert.equal(await h.checkApply(false), false)
  assert.equal((await stat(file)).mode & 0o777, 0o644)
  assert.equal(await h.converge(), 1)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  await h.stop()
})

test('password rejects a length that is not a positive integer', async () => {
  for (const length of [0, -1, 1.5, '8'])
    await assert.rejects(startResource(password, 'p', { length }), { code: 'ERR_RES_PARAMS_INVALID' })
})
