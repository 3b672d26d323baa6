import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { describeError, errorCodes, isMgmtError, MgmtError, sysReason } from './errors.js'

test('docs/errors.md lists exactly the codes of the catalog', async () => {
  const doc = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map(m => m[1])
  assert.deepEqual([...documented].sort(), [...errorCodes].sort())
})

test('MgmtError carries code, details and cause, and is recognized by brand', () => {
  const cause = new Error('disk full')
  const e = new MgmtError('ERR_RES_INIT', { res: 'file[/x]' }, { cause })
  assert.equal(e.code, 'ERR_RES_INIT')
  assert.deepEqual(e.details, { res: 'file[/x]' })
  assert.ok(isMgmtError(e, 'ERR_RES_INIT'))
  assert.ok(!isMgmtError(e, 'ERR_USAGE'))
  assert.ok(isMgmtError({ name: 'MgmtError', code: 'ERR_USAGE' }, 'ERR_USAGE'))
  assert.equal(describeError(e), 'file[/x]: init failed: disk full')
  // A cause that the outer message already quotes is said once.
  const quoted = new Error(`cannot read /x: ${cause.message}`, { cause })
  assert.equal(describeError(quoted), 'cannot read /x: disk full')
})

test('an exec failure shows the command, the exit code and the end of stderr', () => {
  const e = new MgmtError('ERR_EXEC_FAILED', {
    command: 'false',
    exitCode: 1,
    signal: null,
    timedOut: false,
    stderr: 'bad\n',
  })
  assert.equal(e.message, 'command `false` exited with code 1: bad')
  const t = new MgmtError('ERR_EXEC_FAILED', {
    command: 'sleep 9',
    exitCode: null,
    signal: 'SIGTERM',
    timedOut: true,
    timeout: 1,
    stderr: '',
  })
  assert.equal(t.message, 'command `sleep 9` timed out after 1 s and was killed by SIGTERM')
})

test('a system error in its own words: the reason and code, without the call and the path', () => {
  const e = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT' })
  assert.equal(sysReason(e), 'no such file or directory (ENOENT)')
  // Read as text, a file larger than a string can hold (/dev/zero).
  assert.equal(sysReason(new RangeError('Invalid string length')), 'too large to read as text')
})
