/**
 * The Puppet child's own protocol, with Debian's real `puppet` (skipped when it is not installed):
 * what it does when mgmt goes away in the middle of a request, and how its requests are timed.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { deadline } from '../../testing/deadline.js'
import { whenContent } from '../../testing/fswait.js'
import { isMgmtError } from '../../util/errors.js'
import { silentLogger } from '../../util/logger.js'
import { whichSync } from '../../util/which.js'
import { Lines, PuppetChild, puppetRuby } from './child.js'
import { CHILD_RB } from './child_rb.js'
import { compileCatalog } from './compiler.js'
import { endless } from './testdata.js'

const skip = whichSync('puppet') ? false : 'puppet is not installed (Debian package `puppet`)'

test('the end of its stdin ends the Puppet child at once, even in a compile that never finishes', {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-child-'))
  const program = join(dir, 'child.rb')
  const marker = join(dir, 'compiling')
  await writeFile(program, CHILD_RB)
  const settings = JSON.stringify({ settings: [`--vardir=${join(dir, 'var')}`] })
  const proc = spawn(puppetRuby(), [program, settings], { stdio: ['pipe', 'ignore', 'ignore'] })
  const exited = new Promise<string>(r => proc.on('exit', (code, signal) => r(signal ?? `code ${code}`)))
  // Only a child that outlived its stdin is killed by this: the test then fails.
  const stray = deadline(60_000, () => proc.kill('SIGKILL'))
  try {
    proc.stdin.write(`${JSON.stringify({ id: 1, op: 'compile', code: endless(marker), facts: {} })}\n`)
    await whenContent(marker, 'compiling\n', 60_000)
    proc.stdin.end()
    assert.equal(await exited, 'code 0')
  } finally {
    stray.cancel()
    proc.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})

test('replies are split into lines wherever the chunks of the stream end', () => {
  const lines = new Lines()
  assert.deepEqual(lines.push('{"id":1'), [])
  assert.deepEqual(lines.push(',"ok":true}\n{"id"'), ['{"id":1,"ok":true}'])
  assert.deepEqual(lines.push(':2}\n\n{"id":3}\n'), ['{"id":2}', '', '{"id":3}'])
  assert.deepEqual(lines.push('x'.repeat(100_000)), [])
  assert.deepEqual(lines.push('y\n'), [`${'x'.repeat(100_000)}y`])
})

test('a reply longer than the bound fails, counted across chunks, and the next line starts afresh', () => {
  const lines = new Lines(10)
  assert.deepEqual(lines.push('{"id":1}\n0123'), ['{"id":1}'])
  assert.throws(() => lines.push('456789ab'), {
    name: 'PuppetError',
    message: "the Puppet child's reply is longer than 10 characters",
  })
  assert.deepEqual(lines.push('\n{"id":2}\n'), ['', '{"id":2}'])
})

test('a compile that does not finish in --puppet-timeout fails, Puppet is killed, and the next compile works', {
  skip,
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-timeout-'))
  const marker = join(dir, 'compiling')
  const child = new PuppetChild({}, silentLogger)
  try {
    await child.request({ op: 'compile', code: '', facts: {} }) // Puppet's start is not timed below
    const stuck = child.pid!
    const compile = compileCatalog(child, { code: endless(marker) }, silentLogger, { timeoutS: 2 })
    await assert.rejects(compile, (e: unknown) => {
      assert.ok(isMgmtError(e, 'ERR_PUPPET_COMPILE'), String(e))
      assert.match(e.message, /Puppet did not answer within 2 s: it was stopped/)
      return true
    })
    const after = await child.request({ op: 'compile', code: "notify { 'after': }", facts: {} })
    assert.equal(after.ok, true)
    assert.notEqual(child.pid, stuck, 'a new child')
    assert.throws(() => process.kill(stuck, 0), { code: 'ESRCH' }, 'the stuck child is gone')
  } finally {
    await child.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a compile queued behind a slower apply is timed from when Puppet takes it up: neither is cut off', {
  skip,
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-queued-'))
  const marker = join(dir, 'slept')
  const child = new PuppetChild({}, silentLogger)
  try {
    await child.request({ op: 'compile', code: '', facts: {} }) // Puppet's start is not timed below
    const pid = child.pid!
    // A `pippet` apply that takes longer than the compile's limit, then a compile queued behind it.
    const apply = child.request({
      op: 'apply',
      type: 'exec',
      title: 'slow',
      params: { command: `/bin/sh -c 'sleep 3 && touch ${marker}'` },
    })
    const compile = compileCatalog(child, { code: "notify { 'queued': }" }, silentLogger, { timeoutS: 2 })
    const [applied] = await Promise.all([apply, compile])
    assert.equal(applied.failed, false, JSON.stringify(applied))
    assert.equal(applied.changed, true, JSON.stringify(applied))
    await readFile(marker) // the apply ran to its end
    assert.equal(child.pid, pid, 'the same child: none was killed')
  } finally {
    await child.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('binary content that is not UTF-8 compiles, travels as base64, and Puppet writes its bytes', {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-binary-'))
  const file = join(dir, 'blob')
  const child = new PuppetChild({}, silentLogger)
  try {
    const code = `file { '${file}': content => Binary('/w8AAQ==') }`
    const r = await child.request({ op: 'compile', code, facts: {} })
    const catalog = r.catalog as { resources: { title: string; parameters?: Record<string, unknown> }[] }
    const params = catalog.resources.find(res => res.title === file)?.parameters
    assert.deepEqual(params?.content, { __binary: '/w8AAQ==' })
    const applied = await child.request({ op: 'apply', type: 'file', title: file, params })
    assert.equal(applied.failed, false)
    assert.deepEqual([...(await readFile(file))], [0xff, 0x0f, 0x00, 0x01])
  } finally {
    await child.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a setting Puppet refuses is its message, not a Ruby backtrace', { skip }, async () => {
  const child = new PuppetChild({ certname: 'UPPER' }, silentLogger)
  try {
    await assert.rejects(child.request({ op: 'compile', code: '', facts: {} }), {
      name: 'PuppetError',
      message: 'Puppet refused its settings: Certificate names must be lower case',
    })
  } finally {
    await child.stop()
  }
})

test('the errors Puppet gives up after are in the error, each where it is', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-puppet-giveup-'))
  const factsFile = join(dir, 'facts.json')
  const child = new PuppetChild({ certname: 'node.test' }, silentLogger)
  try {
    await writeFile(factsFile, '{}')
    const code = 'notify { "a": }\n$(touch /tmp/x)\n'
    await assert.rejects(compileCatalog(child, { code, factsFile }, silentLogger), {
      message:
        '--code: Puppet failed to compile: Could not parse for environment production: Language validation logged 2 errors. Giving up on node node.test' +
        '\n  line 2: Illegal expression. A Variable is unacceptable as function name in a Function Call' +
        "\n  line 2: Illegal variable name, The given name '' does not conform to the naming rule /^((::)?[a-z]\\w*)*((::)?[a-z_]\\w*)$/",
    })
  } finally {
    await child.stop()
    await rm(dir, { recursive: true, force: true })
  }
})
