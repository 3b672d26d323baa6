import assert from 'node:assert/strict'
import { test } from 'node:test'
import { builtinRegistry } from '../../resources/index.js'
import { isMgmtError } from '../../util/errors.js'
import { loadYaml } from './parse.js'

const registry = builtinRegistry()
const load = (text: string, opts = {}) => loadYaml(text, 'g.yaml', registry, opts)

/** The problems of an invalid graph, one string each. */
function problems(text: string, opts = {}): string[] {
  try {
    load(text, opts)
  } catch (err) {
    if (isMgmtError(err, 'ERR_YAML_INVALID')) return [...err.details.problems]
    if (isMgmtError(err, 'ERR_YAML_SYNTAX')) return [err.message]
    throw err
  }
  assert.fail('expected the graph to be invalid')
}

test('a graph loads with its resources, defaults and merged edges', () => {
  const g = load(`
graph: g1
comment: two prints
resources:
  print:
  - name: p1
    msg: hello
  - name: p2
    meta:
      retry: 3
edges:
- name: e1
  from: {kind: Print, name: p1}
  to: {kind: print, name: p2}
- name: e2
  from: {kind: print, name: p1}
  to: {kind: print, name: p2}
  notify: true
`)
  assert.equal(g.name, 'g1')
  assert.deepEqual(g.graph.vertex('print[p1]')?.params, { msg: 'hello', refresh_only: false })
  assert.equal(g.graph.vertex('print[p2]')?.meta.retry, 3)
  assert.deepEqual(g.graph.outgoing('print[p1]').get('print[p2]'), { name: 'e1', notify: true, sendRecv: [] })
  assert.deepEqual(g.messages, [])
})

test('an unknown parameter is a located error with a hint, and a warning when lenient', () => {
  const text = 'graph: g\nresources:\n  print:\n  - name: p1\n    mgs: typo\n'
  assert.deepEqual(problems(text), [
    'g.yaml:5:10: resources.print[0].mgs: unknown parameter (did you mean `msg`?)',
  ])
  assert.deepEqual(load(text, { lenient: true }).messages, [
    'g.yaml:5:10: resources.print[0].mgs: unknown parameter (did you mean `msg`?)',
  ])
  // An unknown metaparam too.
  assert.deepEqual(problems('graph: g\nresources:\n  noop:\n  - name: n\n    meta: {rety: 2}\n'), [
    'g.yaml:5:18: resources.noop[0].meta.rety: unknown metaparam (did you mean `retry`?)',
  ])
})

test('an obsolete key of the original is a warning, and an error with strict', () => {
  const text = 'graph: g\nresources:\n  exec:\n  - name: e\n    cmd: "true"\n    pollint: 5\n'
  assert.deepEqual(load(text).messages, [
    'g.yaml:6:14: resources.exec[0].pollint: obsolete parameter, ignored: use meta poll',
  ])
  assert.deepEqual(problems(text, { strict: true }), [
    'g.yaml:6:14: resources.exec[0].pollint: obsolete parameter, ignored: use meta poll',
  ])
})

test('messages are in our words: the expected type, the unit, the value given', () => {
  const got = problems(`graph: g
resources:
  timer:
  - name: t
    interval: 1.5
  noop:
  - name: n
    meta: {delay: -1, retry: "3"}
  file:
  - name: f
    path: /tmp/x
    state: present
`)
  assert.deepEqual(got, [
    'g.yaml:5:15: resources.timer[0].interval: expected a whole number of seconds, got 1.5',
    'g.yaml:8:30: resources.noop[0].meta.retry: expected a number, got "3"',
    'g.yaml:8:19: resources.noop[0].meta.delay: expected at least 0 milliseconds, got -1',
    'g.yaml:12:12: resources.file[0].state: expected one of "exists", "absent", "", got "present"',
  ])
})

test('a misspelt top-level key is an error with a hint; lenient, a graph it left empty still is', () => {
  const text = 'graph: g\nresource:\n  noop:\n  - name: n\n'
  assert.deepEqual(problems(text), ['g.yaml:2:1: resource: unknown key (did you mean `resources`?)'])
  assert.deepEqual(problems(text, { lenient: true }), [
    'g.yaml:2:1: resource: the graph has no resources, and `resource` is not a key (did you mean `resources`?)',
    'g.yaml:2:1: resource: unknown key (did you mean `resources`?) (warning)',
  ])
})

test('every problem of a file is reported in one round: a bad edge does not hide the rest', () => {
  const got = problems(`graph: g
resources:
  noop:
  - name: n
    mdoe: 1
  fiel:
  - name: f
edges:
- name: e1
  from: n
  to: {kind: noop, name: n}
- name: e2
  form: {kind: noop, name: n}
`)
  assert.deepEqual(got, [
    'g.yaml:10:9: edges[0].from: `from` must be a mapping with a `kind` and a `name`',
    'g.yaml:12:3: edges[1]: `from` must be a mapping with a `kind` and a `name`',
    'g.yaml:12:3: edges[1]: `to` must be a mapping with a `kind` and a `name`',
    'g.yaml:13:9: edges[1].form: unknown edge key (did you mean `from`?)',
    'g.yaml:5:11: resources.noop[0].mdoe: unknown parameter',
    'g.yaml:7:5: resources.fiel[0]: no resource kind `fiel` available (did you mean `file`?)',
  ])
})

test('a YAML syntax error points at its line', () => {
  const [p] = problems('graph: g\nresources:\n  noop:\n  - name: n\n   bad: [\n')
  assert.match(p!, /^g\.yaml:[56]:\d+: /)
  // A string left open is noticed at the end of the file, and shown where it starts.
  const [q] = problems('graph: g\nresources:\n  noop:\n  - name: n\n    x: "open \\" \n  - name: m\n')
  assert.equal(q, 'g.yaml:5:8: a double-quoted string starts here and is never closed')
  // js-yaml places no mark on a second document: its start is found all the same.
  for (const [text, at] of [
    ['graph: g\n---\ngraph: h\n', '2:1'],
    ['---\n---\ngraph: g\n', '2:1'],
    ['graph: g\nresources: {}\n...\n--- # again\ngraph: h\n', '4:1'],
  ] as const)
    assert.deepEqual(problems(text), [
      `g.yaml:${at}: a graph file holds one YAML document; a second one starts here`,
    ])
})

test('a wrong type names the file, line, column and key path', () => {
  const [p] = problems('graph: g\nresources:\n  print:\n  - name: p1\n    msg: [1, 2]\n')
  assert.equal(p, 'g.yaml:5:10: resources.print[0].msg: expected a string, got a list')
})

test('an unknown kind and a missing edge end are both reported', () => {
  const got = problems(`graph: g
resources:
  frobnicate:
  - name: f1
  print:
  - name: p1
edges:
- name: e1
  from: {kind: print, name: p1}
  to: {kind: print, name: nope}
`)
  assert.equal(got.length, 2)
  assert.match(got[0]!, /^g\.yaml:4:5: resources\.frobnicate\[0\]: no resource kind `frobnicate` available/)
  assert.match(
    got[1]!,
    /^g\.yaml:10:7: edges\[0\]\.to: edge `e1`: its `to` resource print\[nope\] is not in the graph/,
  )
})

test('a cycle is an error that names its resources', () => {
  const [p] = problems(`graph: g
resources:
  noop: [{name: a}, {name: b}]
edges:
- {name: e1, from: {kind: noop, name: a}, to: {kind: noop, name: b}}
- {name: e2, from: {kind: noop, name: b}, to: {kind: noop, name: a}}
`)
  assert.match(p!, /the graph has a cycle: noop\[a\] -> noop\[b\] -> noop\[a\]/)
})

test('bad YAML is a syntax error with its position', () => {
  const [p] = problems('graph: g\nresources:\n  noop:\n  - name: a\n   bad: indent\n')
  assert.match(p!, /^g\.yaml:5:\d+: /)
})

test('graph is required, and meta is checked', () => {
  assert.deepEqual(problems('resources: {}\n'), ['g.yaml:1:1: `graph` must be a non-empty name'])
  const [p] = problems('graph: g\nresources:\n  noop:\n  - name: a\n    meta: {limit: 2}\n')
  assert.match(p!, /resources\.noop\[0\]\.meta\.burst: a finite limit needs a burst of at least 1/)
})

test('a duration longer than a timer can take is an error, not a timer that fires at once', () => {
  // Node.js runs a timer of more than 2^31 - 1 ms after 1 ms: a poll of 35 days would poll at 1 kHz.
  const got = problems(`graph: g
resources:
  noop:
  - name: n
    meta: {poll: 3000000, delay: 3000000000, timeout: 2147483648}
  exec:
  - name: e
    cmd: "true"
    timeout: 2147484
  http:client:
  - name: c
    url: http://127.0.0.1:1/
    interval: 2147484
`)
  assert.deepEqual(got, [
    'g.yaml:5:34: resources.noop[0].meta.delay: expected at most 2147483647 milliseconds, got 3000000000',
    'g.yaml:5:55: resources.noop[0].meta.timeout: expected at most 2147483647 milliseconds, got 2147483648',
    'g.yaml:5:18: resources.noop[0].meta.poll: expected at most 2147483 seconds, got 3000000',
    'g.yaml:9:14: resources.exec[0].timeout: expected at most 2147483 seconds, got 2147484',
    'g.yaml:13:15: resources.http:client[0].interval: expected at most 2147483 seconds, got 2147484',
  ])
  // The longest that a timer takes is fine.
  load('graph: g\nresources:\n  noop:\n  - name: n\n    meta: {poll: 2147483, delay: 2147483647}\n')
})

test('a NUL byte in a path, a command or a name is an error at load; in a content it is a byte', () => {
  // The system ends such a string at the NUL, and Node.js refuses it when it starts the command.
  const said = 'a NUL byte (\\0) is not allowed here: no path, command or name can hold one'
  assert.deepEqual(
    problems(`graph: g
resources:
  exec:
  - name: e
    cmd: "ech\\0o"
    env: {"K\\0": x}
    args: [a, "b\\0"]
  file:
  - name: f
    path: "/tmp/a\\0b"
`),
    [
      `g.yaml:5:10: resources.exec[0].cmd: ${said}`,
      `g.yaml:7:15: resources.exec[0].args[1]: ${said}`,
      `g.yaml:6:10: resources.exec[0].env: ${said}`,
      `g.yaml:10:11: resources.file[0].path: ${said}`,
    ],
  )
  const g = load('graph: g\nresources:\n  file:\n  - {name: /tmp/x, content: "a\\0b", state: exists}\n')
  assert.equal(g.graph.vertex('file[/tmp/x]')?.params.content, 'a\0b')
})

test('a user or group id beyond the largest is an error at load, not at the chown', () => {
  // chown takes 2^32 - 1 as "unchanged"; Node.js starts a process as a signed 32-bit id only.
  assert.deepEqual(
    problems(`graph: g
resources:
  file:
  - name: /tmp/x
    owner: 99999999999
    group: "4294967295"
  exec:
  - name: e
    cmd: "true"
    user: "3000000000"
`),
    [
      'g.yaml:5:12: resources.file[0].owner: an id is at most 4294967294 here, not 99999999999',
      'g.yaml:6:12: resources.file[0].group: an id is at most 4294967294 here, not 4294967295',
      'g.yaml:10:11: resources.exec[0].user: an id is at most 2147483647 here, not 3000000000',
    ],
  )
  load('graph: g\nresources:\n  file:\n  - {name: /tmp/x, owner: 4294967294, group: "0"}\n')
})

test('duplicates merge when identical and are an error when they differ', () => {
  assert.equal(
    load('graph: g\nresources:\n  print:\n  - {name: a, msg: x}\n  - {name: a, msg: x}\n').graph.size,
    1,
  )
  const [p] = problems('graph: g\nresources:\n  print:\n  - {name: a, msg: x}\n  - {name: a, msg: y}\n')
  assert.match(
    p!,
    /^g\.yaml:5:5: resources\.print\[1\]: print\[a\] is declared twice with different params: the params differ \(msg\)/,
  )
})

test('an unknown top-level key is an error, and a warning when lenient', () => {
  assert.deepEqual(problems('graph: g\nresources: {}\nfrobs: 1\n'), ['g.yaml:3:8: frobs: unknown key'])
  const g = load('graph: g\nresources: {}\nfrobs: 1\n', { lenient: true })
  assert.deepEqual(g.messages, ['g.yaml:3:8: frobs: unknown key'])
})

test('a remote graph file names its host, its cluster name and its children', () => {
  const g = load(
    'graph: g\nremote: ssh://root:p%40ss@10.0.0.2:2222\nhostname: web1\nremotes: [kids/a.yaml, ../b.yaml]\n',
  )
  assert.deepEqual(g.messages, [])
  assert.deepEqual(g.remote, {
    url: 'ssh://root:p%40ss@10.0.0.2:2222',
    target: { user: 'root', password: 'p@ss', host: '10.0.0.2', port: 2222 },
    hostname: 'web1',
    remotes: ['kids/a.yaml', '../b.yaml'],
  })
  assert.equal(load('graph: g\nremote: root@h1\n').remote?.hostname, 'h1')
  assert.equal(load('graph: g\n').remote, undefined)
})

test('a bad remote file is located, and never shows the password', () => {
  const p = problems('graph: g\nremote: ftp://root:hunter2@h\nhostname: "a b"\nremotes: [/abs.yaml, 3]\n')
  assert.equal(p.length, 4)
  assert.match(p[0]!, /^g\.yaml:2:9: remote: unsupported scheme `ftp`/)
  assert.match(p[1]!, /^g\.yaml:3:11: hostname: expected a host name/)
  assert.match(p[2]!, /^g\.yaml:4:11: remotes\[0\]: expected a path relative to this file/)
  assert.match(p[3]!, /^g\.yaml:4:22: remotes\[1\]: expected a file name/)
  assert.ok(!p.join('\n').includes('hunter2'))
  const w = load('graph: g\nremotes: [a.yaml]\n').messages
  assert.match(w[0]!, /^g\.yaml:2:10: remotes: `remotes` is only read in a remote graph file/)
})

test('send/recv edges are checked when the graph is loaded', () => {
  const g = load(`graph: g
resources:
  password: [{name: pw}]
  print: [{name: p}]
edges:
- {name: e1, from: {kind: password, name: pw}, to: {kind: print, name: p}, send: password, recv: msg}
- {name: e2, from: {kind: password, name: pw}, to: {kind: print, name: p}, notify: true}
`)
  assert.deepEqual(g.graph.outgoing('password[pw]').get('print[p]'), {
    name: 'e1',
    notify: true,
    sendRecv: [{ send: 'password', recv: 'msg' }],
  })
  const bad = problems(`graph: g
resources:
  password: [{name: pw}]
  print: [{name: p}]
  timer: [{name: t, interval: 1}]
edges:
- {name: e1, from: {kind: password, name: pw}, to: {kind: print, name: p}, send: pasword, recv: msg}
- {name: e2, from: {kind: password, name: pw}, to: {kind: timer, name: t}, send: password, recv: interval}
- {name: e3, from: {kind: print, name: p}, to: {kind: timer, name: t}, send: msg}
`)
  assert.deepEqual(bad, [
    'g.yaml:9:3: edges[2]: edge `e3`: `send` and `recv` go together',
    'g.yaml:7:3: edges[0]: password[pw] has no value `pasword` to send (it sends: password)',
    'g.yaml:8:3: edges[1]: password[pw].password is a string but timer[t].interval is a number',
  ])
})

test('an invalid graph also lists its warnings: a misspelt key often explains an error', () => {
  const got = problems(
    'graph: g\nresources:\n  file:\n  - name: f\n    path: /tmp/x\n    contnet: hi\n    state: present\n',
    { lenient: true },
  )
  assert.deepEqual(got, [
    'g.yaml:7:12: resources.file[0].state: expected one of "exists", "absent", "", got "present"',
    'g.yaml:6:14: resources.file[0].contnet: unknown parameter (did you mean `content`?) (warning)',
  ])
})

test('`@@name` is exported and not in the graph; meta export is both; collect is read', () => {
  const g = load(`graph: g
resources:
  print:
  - name: "@@p1"
    msg: hi
  - name: p2
    meta:
      export: [h2, h3]
      hidden: true
      noop: true
collect:
- kind: File
  pattern: /srv/in/
- kind: print
`)
  assert.deepEqual(g.messages, [])
  assert.deepEqual([...g.graph.ids()], ['print[p2]'])
  assert.deepEqual(g.exports, [
    { kind: 'print', name: 'p1', params: { msg: 'hi' }, meta: {}, to: ['*'] },
    { kind: 'print', name: 'p2', params: {}, meta: { noop: true }, to: ['h2', 'h3'] },
  ])
  assert.deepEqual(
    g.collect.map(c => [c.kind, c.pattern]),
    [
      ['file', '/srv/in/'],
      ['print', undefined],
    ],
  )
})

test('exports and collects are checked like the rest', () => {
  assert.deepEqual(
    problems(`graph: g
resources:
  print:
  - name: "@@p1"
    mgs: typo
  - name: "@@"
  noop:
  - name: n1
edges:
- {name: e1, from: {kind: print, name: p1}, to: {kind: noop, name: n1}}
collect:
- kind: file
  pattern: relative/
- pattern: /tmp/
`),
    [
      'g.yaml:6:11: resources.print[1].name: expected a non-empty `name`',
      'g.yaml:13:12: collect[0].pattern: expected an absolute directory, or nothing',
      'g.yaml:14:3: collect[1]: expected a mapping with a `kind` (and an optional `pattern`)',
      'g.yaml:5:10: resources.print[0].mgs: unknown parameter (did you mean `msg`?)',
    ],
  )
  assert.deepEqual(
    problems(`graph: g
resources:
  print:
  - name: "@@p1"
  noop:
  - name: n1
edges:
- {name: e1, from: {kind: print, name: p1}, to: {kind: noop, name: n1}}
`),
    [
      "g.yaml:8:20: edges[0].from: edge `e1`: its `from` resource print[p1] is exported, not in this host's graph",
    ],
  )
})

test('collecting a kind that does not exist here is an error', () => {
  const [p, ...rest] = problems('graph: g\nresources: {}\ncollect:\n- kind: frobnicate\n')
  assert.match(
    p!,
    /^g\.yaml:4:3: collect\[0\]: collect: no resource kind `frobnicate` available \(known: noop, /,
  )
  assert.deepEqual(rest, [])
})

test("a file's relative source is relative to the graph file, and listed for a deploy", () => {
  const g = loadYaml(
    `graph: g
resources:
  file:
  - {name: f1, path: /tmp/x/a, source: files/a}
  - {name: f2, path: /tmp/x/d/, source: tree/, recurse: true}
  - {name: f3, path: /tmp/x/l, source: ../target, symlink: true}
  - {name: f4, path: /tmp/x/b, source: /etc/hostname}
`,
    '/srv/graphs/g.yaml',
    registry,
  )
  assert.deepEqual(g.files, ['files/a', 'tree/'])
  const src = (id: string) => g.graph.vertex(id)?.params.source
  assert.equal(src('file[f1]'), '/srv/graphs/files/a')
  assert.equal(src('file[f2]'), '/srv/graphs/tree/')
  assert.equal(src('file[f3]'), '../target')
  assert.equal(src('file[f4]'), '/etc/hostname')
})
