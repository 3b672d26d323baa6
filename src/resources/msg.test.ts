import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { startResource } from '../testing/timeline.js'
import { isMgmtError } from '../util/errors.js'
import { msg, runSink, sinkCommand } from './msg.js'

test('msg requires a priority and names the allowed values', () => {
  // examples/yaml msg1.yaml: every key parses, only the missing priority is reported
  const r = parseParams(msg, 'msg1', { body: 'mgmt logged this message', journal: true })
  assert.deepEqual(r.issues, [
    {
      path: ['priority'],
      message: 'priority is required: expected one of Emerg, Alert, Crit, Err, Warning, Notice, Info, Debug',
    },
  ])
  const empty = parseParams(msg, 'm', { priority: '' })
  assert.match(empty.issues[0]?.message ?? '', /^priority is required: expected one of Emerg, /)
})

test('msg reports a wrong priority and wrong field names together, with their paths', async () => {
  const raw = { body: 'x', priority: 'Loud', fields: { OK_1: 'a', _hidden: 'b', 'a-b': 'c' } }
  await assert.rejects(startResource(msg, 'm', raw), e => {
    assert.ok(isMgmtError(e, 'ERR_RES_PARAMS_INVALID'))
    assert.deepEqual(
      e.details.issues.map(i => i.path),
      [['priority'], ['fields', '_hidden'], ['fields', 'a-b']],
    )
    assert.match(e.message, /priority: invalid priority `Loud`: expected one of Emerg, Alert,/)
    assert.match(e.message, /fields\._hidden: invalid field name `_hidden`/)
    return true
  })
})

test('msg logs its body once at its level, and again on a notification', async () => {
  const h = await startResource(msg, 'm1', { body: 'disk is full', priority: 'Warning' })
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.equal(await h.checkApply(), true)
  assert.deepEqual(h.logs, ['msg[m1]: warn: disk is full'])
  h.setRefresh(true)
  assert.equal(await h.converge(), 1)
  assert.deepEqual(h.logs, ['msg[m1]: warn: disk is full', 'msg[m1]: warn: disk is full'])
  await h.stop()
})

test('msg maps each priority to a log level', async () => {
  const levels = { Emerg: 'error: ', Crit: 'error: ', Err: 'error: ', Notice: '', Info: '', Debug: 'debug: ' }
  for (const [priority, tag] of Object.entries(levels)) {
    const h = await startResource(msg, 'm', { body: 'b', priority })
    await h.startup()
    await h.converge()
    assert.deepEqual(h.logs, [`msg[m]: ${tag}b`], priority)
    await h.stop()
  }
})

test('msg in noop mode says what it would log', async () => {
  const h = await startResource(msg, 'm', { body: 'b', priority: 'Info' })
  await h.startup()
  assert.equal(await h.checkApply(false), false)
  assert.deepEqual(h.logs, ['msg[m]: would log: b'])
  await h.stop()
})

test('msg with journal and syslog never fails when they are absent, and warns once', async () => {
  const h = await startResource(msg, 'm', { body: 'b', priority: 'Info', journal: true, syslog: true })
  await h.startup()
  assert.equal(await h.converge(), 1)
  h.setRefresh(true)
  assert.equal(await h.converge(), 1)
  const warnings = h.logs.filter(l => l.includes('warn: '))
  if (!existsSync('/run/systemd/journal/socket'))
    assert.equal(warnings.filter(l => l.includes('journal unavailable')).length, 1)
  if (!existsSync('/dev/log')) assert.equal(warnings.filter(l => l.includes('syslog unavailable')).length, 1)
  assert.equal(h.logs.filter(l => l === 'msg[m]: b').length, 2)
  await h.stop()
})

test('msg builds the journal and syslog commands', () => {
  assert.deepEqual(sinkCommand('journal', 'Warning', 'hi'), {
    name: 'journal',
    socket: '/run/systemd/journal/socket',
    cmd: 'systemd-cat',
    args: ['-p', 'warning', '-t', 'mgmt'],
    input: 'hi',
  })
  assert.deepEqual(sinkCommand('syslog', 'Err', '-n hi').args, [
    '-p',
    'user.err',
    '-t',
    'mgmt',
    '--',
    '-n hi',
  ])
})

test('msg runs a sink program: success, absence, failure', async () => {
  const signal = new AbortController().signal
  const base = { name: 'journal', socket: '/' } as const
  assert.equal(await runSink({ ...base, cmd: 'cat', args: [], input: 'x\n' }, signal), true)
  assert.equal(await runSink({ ...base, cmd: 'mgmt-no-such-program', args: [] }, signal), false)
  await assert.rejects(runSink({ ...base, cmd: 'sh', args: ['-c', 'echo nope >&2; exit 3'] }, signal), {
    message: 'journal: `sh` exited with code 3: nope',
  })
})
