import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createLogger, type LogLevel } from './logger.js'

const at = new Date(2025, 0, 31, 12, 34, 56, 789)

function capture(opts: Parameters<typeof createLogger>[1] = {}): { lines: string[]; levels: LogLevel[] } {
  const lines: string[] = []
  const levels: LogLevel[] = []
  const log = createLogger('info', {
    now: () => at,
    write: (l, lvl) => {
      lines.push(l)
      levels.push(lvl)
    },
    ...opts,
  })
  const r = log.child('exec[build]')
  r.info('exited 0, output:\n  line one\n  line two')
  r.warn('careful')
  log.error('plain', { code: 'ERR_X' })
  return { lines, levels }
}

test('text: every line of a message keeps its prefix; dates on demand; levels passed to the sink', () => {
  const { lines, levels } = capture()
  assert.deepEqual(lines, [
    '12:34:56.789 exec[build]: exited 0, output:\n12:34:56.789 exec[build]:   line one\n12:34:56.789 exec[build]:   line two',
    '12:34:56.789 exec[build]: warn: careful',
    '12:34:56.789 error: plain',
  ])
  assert.deepEqual(levels, ['info', 'warn', 'error'])
  assert.match(capture({ dates: true }).lines[1]!, /^2025-01-31 12:34:56\.789 exec\[build\]: warn: careful$/)
})

test('text: colour for warnings and errors only when asked (a terminal without NO_COLOR)', () => {
  const { lines } = capture({ color: true })
  assert.ok(!lines[0]!.includes('\x1b['), 'info is plain')
  assert.equal(lines[1], '\x1b[33m12:34:56.789 exec[build]: warn: careful\x1b[0m')
  assert.equal(lines[2], '\x1b[31m12:34:56.789 error: plain\x1b[0m')
  assert.ok(!capture().lines.some(l => l.includes('\x1b[')))
})

test('text: control characters from a name, a message or a command never reach the terminal raw', () => {
  const lines: string[] = []
  const log = createLogger('info', { now: () => at, write: l => lines.push(l) })
  // A name that would draw a fake line, and output that would move the cursor or clear the screen.
  const r = log.child('notify[x\n12:34:56.789 file[/etc/shadow]: removed]')
  r.info('said: \x1b[2J\x1b[Hcleared\rover\0nul\x9bcsi\ttab ok')
  r.info('output:\r\n  one\r\n  two')
  log.error('bell\x07')
  log.info('converged (notify[x\n12:34:56.789 fake]: startup)\n  already indented')
  assert.deepEqual(lines, [
    '12:34:56.789 notify[x\\n12:34:56.789 file[/etc/shadow]: removed]: said: \\x1b[2J\\x1b[Hcleared\\rover\\0nul\\x9bcsi\ttab ok',
    '12:34:56.789 notify[x\\n12:34:56.789 file[/etc/shadow]: removed]: output:\r\n12:34:56.789 notify[x\\n12:34:56.789 file[/etc/shadow]: removed]:   one\r\n12:34:56.789 notify[x\\n12:34:56.789 file[/etc/shadow]: removed]:   two',
    '12:34:56.789 error: bell\\x07',
    '12:34:56.789 converged (notify[x\n  12:34:56.789 fake]: startup)\n  already indented',
  ])
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  for (const l of lines) assert.ok(!/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/.test(l), JSON.stringify(l))
})

test('json: one object a line, the resource apart, structured fields kept', () => {
  const { lines } = capture({ format: 'json' })
  const objs = lines.map(l => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(objs[1], {
    time: at.toISOString(),
    level: 'warn',
    source: 'exec[build]',
    kind: 'exec',
    name: 'build',
    msg: 'careful',
  })
  assert.equal(objs[0]!.msg, 'exited 0, output:\n  line one\n  line two')
  assert.deepEqual(objs[2], { time: at.toISOString(), level: 'error', msg: 'plain', code: 'ERR_X' })
  const nested = createLogger('info', { format: 'json', write: l => lines.push(l) })
  nested.child('http:server[web]').child('http:server:file[/a]').info('x')
  assert.deepEqual(
    { ...JSON.parse(lines.at(-1)!), time: 0 },
    {
      time: 0,
      level: 'info',
      source: 'http:server[web]: http:server:file[/a]',
      kind: 'http:server',
      name: 'web',
      msg: 'x',
    },
  )
})
