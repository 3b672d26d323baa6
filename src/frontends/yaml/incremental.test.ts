/**
 * The incremental reload (pieces.ts, engine/recompile.ts) against a full one: random graphs, random
 * edits of every kind, and the result of a reload through the cache must be exactly what a fresh
 * load gives (the graph in order, its edges, warnings, the errors with their lines).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import jsyaml from 'js-yaml'
import { CompileCache } from '../../engine/compiled.js'
import { builtinRegistry } from '../../resources/index.js'
import { random } from '../../testing/random.js'
import { TOKEN } from './cut.js'
import { lastParse, loadYaml, type YamlGraph } from './parse.js'
import { parseByPieces, primePieces, YamlPieces } from './pieces.js'

const registry = builtinRegistry()

/** Everything a load gives, as plain data in order, or its error. */
function outcome(load: () => YamlGraph): unknown {
  let g: YamlGraph
  try {
    g = load()
  } catch (err) {
    const e = err as { code?: string; message: string }
    return { error: e.code, message: e.message }
  }
  const vertex = ([id, r]: [
    string,
    YamlGraph['graph'] extends { entries(): Iterable<[string, infer V]> } ? V : never,
  ]) => ({
    id,
    kind: r.kind,
    params: r.params,
    meta: r.meta,
    group: (r.group ?? []).map(m => [m.id, m.params, m.meta]),
  })
  return {
    name: g.name,
    messages: g.messages,
    warnings: g.warnings,
    files: g.files,
    exports: g.exports,
    collect: g.collect,
    vertices: [...g.graph.entries()].map(vertex),
    edges: [...g.graph.edges()],
    order: g.graph.topoSort(),
  }
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!

/** One list item of kind `kind`, in one of the shapes people write. */
function item(rnd: () => number, kind: string, n: number): string[] {
  const name = pick(rnd, [`r${n}`, `"r${n}"`, `'r ${n}'`, `r${n % 5}`])
  if (kind === 'file') {
    const path = `/tmp/mgmt-12-prop/d${n % 3}/f${n}`
    return pick(rnd, [
      [`  - name: ${name}`, `    path: ${path}`, `    content: "line ${n}\\n"`],
      [
        `  - name: ${name}`,
        `    path: ${path}`,
        '    content: |',
        `      block ${n}`,
        '      - not an item',
        '',
      ],
      [`  - {name: ${name}, path: ${path}, mode: "0644"}`],
      [`  - name: ${name}`, `    path: /tmp/mgmt-12-prop/d${n % 3}/`, '    state: exists'],
      [
        `  - name: ${name}`,
        '    # a comment',
        `    path: ${path}`,
        '    content: >-',
        `      folded ${n}`,
        '      text',
      ],
      [`  - name: ${name}`, `    path: ${path}`, `    content: &c${n} "anchored ${n}"`, '    owner: *c0'],
      [`  - name: ${name}`, `    path: ${path}`, '    meta: {noop: true, autoedge: false}'],
    ])
  }
  if (kind === 'noop')
    return pick(rnd, [[`  - name: ${name}`], [`  -   name: ${name}`], ['  - ', `    name: ${name}`]])
  return pick(rnd, [
    [`  - name: ${name}`, `    msg: "m ${n}"`],
    [`  - name: ${name}`, '    msg: |', `      m ${n}`],
  ])
}

/** A random graph file, as lines. */
function graph(rnd: () => number): string[] {
  const lines = pick(rnd, [
    ['graph: g'],
    ['---', 'graph: g'],
    ['# top comment', 'graph: g', 'comment: hello'],
    ['comment: &c0 g'],
  ])
  lines.push('resources:')
  let n = 0
  for (const kind of ['file', 'noop', 'print']) {
    if (rnd() < 0.15) continue
    lines.push(`  ${kind}:`)
    // An item that redefines the top's anchor, which the top aliases after the resources.
    if (kind === 'file' && lines[0] === 'comment: &c0 g')
      lines.push('  - name: anchored', '    path: /tmp/mgmt-12-prop/a', '    content: &c0 "redefined"')
    // Directories for the files' automatic edges (an edit of a path moves its edge).
    if (kind === 'file')
      for (let d = 0; d < 4; d++)
        if (rnd() < 0.7) lines.push(`  - name: dir${d}`, `    path: /tmp/mgmt-12-prop/d${d}/`)
    const count = 1 + Math.floor(rnd() * 8)
    for (let i = 0; i < count; i++) lines.push(...item(rnd, kind, n++))
  }
  if (lines[0] === 'comment: &c0 g') lines.push('graph: *c0')
  if (rnd() < 0.5)
    lines.push('edges:', '- name: e1', '  from: {kind: noop, name: r1}', '  to: {kind: print, name: r2}')
  else lines.push('edges: []')
  return lines
}

/** A random edit of the lines. */
function edit(rnd: () => number, lines: string[]): string[] {
  const out = [...lines]
  const at = Math.floor(rnd() * out.length)
  const line = out[at] ?? ''
  switch (Math.floor(rnd() * 17)) {
    case 14: // what shapes the graph: automatic edges, the path (a uid)
      out[at] = line.includes('autoedge: false')
        ? line.replace('autoedge: false', 'autoedge: true')
        : line.replace(/d(\d)\/f/, (_m, d) => `d${(Number(d) + 1) % 4}/f`)
      break
    case 15: // the lists after this line become a block scalar's text
      out.splice(at, 0, pick(rnd, ['comment: |', 'comment: "', 'comment: >', '? |']))
      break
    case 16: // meta added to an item
      out.splice(
        at,
        0,
        pick(rnd, [
          '    meta: {autoedge: false}',
          '    meta: {autogroup: false}',
          '    meta: {export: ["*"]}',
        ]),
      )
      break
    case 0: // a value changed
      out[at] = line.replace(/\d+/, m => String(Number(m) + 1))
      break
    case 1: // a line removed
      out.splice(at, 1)
      break
    case 2: // an item added
      out.splice(at, 0, ...item(rnd, pick(rnd, ['file', 'noop', 'print']), Math.floor(rnd() * 40)))
      break
    case 3: // a line duplicated
      out.splice(at, 0, line)
      break
    case 4: // indentation changed
      out[at] = rnd() < 0.5 ? ` ${line}` : line.replace(/^ /, '')
      break
    case 5: // a comment
      out.splice(at, 0, pick(rnd, ['# c *x*', '    # deep', '', '  # at the list']))
      break
    case 6: // an alias or anchor, or a tag
      out[at] = line.includes('content: "')
        ? line.replace('content: "', 'content: &c0 "')
        : `${line} ${pick(rnd, ['*c0', '&a1', '!!str', '*c1'])}`
      break
    case 7: // invalid YAML
      out.splice(at, 0, pick(rnd, ['  - name: "open', '  - [1,', '    : bad', '\tx: 1', 'key: {']))
      break
    case 8: // flow style at the top, or a directive
      out.splice(at, 0, pick(rnd, ['noop: [{name: f1}]', '%YAML 1.2', '...', '---']))
      break
    case 9: // two lines swapped
      if (at + 1 < out.length) [out[at], out[at + 1]] = [out[at + 1]!, out[at]!]
      break
    case 10: // a multi-line string opened
      out.splice(at, 0, pick(rnd, ['    content: |', '    msg: "two', '  comment: >', '- |']))
      break
    case 11: // a content edit, the common case
      out[at] = line.replace(/(line|block|m) (\d+)/, (_m, w, d) => `${w} ${Number(d) * 7}`)
      break
    case 12: // a name changed
      out[at] = line.replace(/name: r(\d+)/, (_m, d) => `name: r${Number(d) + 100}`)
      break
    default: // a key misspelt
      out[at] = line.replace('path:', 'pth:')
  }
  return out
}

test('random edits reloaded through the cache give exactly what a fresh load gives', () => {
  const file = '/tmp/mgmt-12-prop/g.yaml'
  let fast = 0
  let cutAlone = 0
  for (let seed = 1; seed <= 60; seed++) {
    const rnd = random(seed)
    const cache = new CompileCache()
    let lines = graph(rnd)
    for (let step = 0; step < 25; step++) {
      const text = `${lines.join('\n')}\n`
      const incremental = outcome(() => loadYaml(text, file, registry, { cache }))
      const full = outcome(() => loadYaml(text, file, registry))
      assert.deepEqual(incremental, full, `seed ${seed}, step ${step}:\n${text}`)
      const stats = lastParse(cache)
      if (stats && stats.parsed < stats.pieces) fast++
      if (stats && stats.cut < stats.pieces) cutAlone++
      lines = edit(rnd, lines)
    }
  }
  assert.ok(fast > 100, `the items were reused in ${fast} reloads only`)
  assert.ok(cutAlone > 80, `the edited items were cut alone in ${cutAlone} reloads only`)
})

test('a one-item edit parses that item alone and keeps every other resource as it was', () => {
  const items = (content: string) =>
    Array.from({ length: 50 }, (_, i) => [
      '  - name: f' + i,
      `    path: /tmp/mgmt-12-one/f${i}`,
      `    content: "${i === 17 ? content : 'same'}"`,
    ]).flat()
  const text = (content: string) =>
    [
      'graph: g',
      'resources:',
      '  file:',
      '  - name: dir',
      '    path: /tmp/mgmt-12-one/',
      ...items(content),
      '',
    ].join('\n')
  const cache = new CompileCache()
  const file = '/tmp/g.yaml'
  // The first load parses the whole text once and keeps its items (nothing parsed piece by piece).
  const first = loadYaml(text('before'), file, registry, { cache })
  assert.deepEqual(lastParse(cache), { pieces: 51, parsed: 0, cut: 51 })
  const second = loadYaml(text('after'), file, registry, { cache })
  // Cut again: the edited item and the one before it (whose end the edited one's start decides).
  assert.deepEqual(lastParse(cache), { pieces: 51, parsed: 1, cut: 2 })
  // Read again and compared with the last compile: that item alone.
  assert.equal(cache.last?.compared, 1)
  assert.deepEqual(
    outcome(() => second),
    outcome(() => loadYaml(text('after'), file, registry)),
  )
  for (const [id, r] of second.graph.entries())
    if (id === 'file[f17]') assert.equal(r.params.content, 'after')
    else assert.equal(r, first.graph.vertex(id), `${id} is the very same resource`)
  assert.deepEqual([...second.graph.edges()], [...first.graph.edges()])
})

test('a graph file that holds the placeholder of a run of items is read as the full parse reads it', () => {
  // The placeholder is no secret: a file may hold it (here as the graph's name), and the skeleton's
  // check sees it there.
  const text = (content: string) =>
    [
      `graph: ${TOKEN}0`,
      'resources:',
      '  noop:',
      ...Array.from({ length: 5 }, (_, i) => [
        `  - name: n${i}`,
        `    meta: { noop: ${i === 2 ? content : 'false'} }`,
      ]).flat(),
      '',
    ].join('\n')
  const file = '/tmp/g.yaml'
  const cache = new CompileCache()
  for (const c of ['false', 'true', 'false'])
    assert.deepEqual(
      outcome(() => loadYaml(text(c), file, registry, { cache })),
      outcome(() => loadYaml(text(c), file, registry)),
    )
  assert.equal(loadYaml(text('true'), file, registry, { cache }).name, `${TOKEN}0`)
  // Where a run's items would go: before the run itself, as the one item of a list.
  const early = (c: string) => text(c).replace('resources:', `edges: ["${TOKEN}0"]\nresources:`)
  for (const c of ['false', 'true'])
    assert.deepEqual(
      outcome(() => loadYaml(early(c), file, registry, { cache })),
      outcome(() => loadYaml(early(c), file, registry)),
    )
})

test('a first load keeps its items only where each reads the same alone: with an anchor, the next parse reads them all', () => {
  const text = (content: string, alias: boolean) =>
    [
      'graph: g',
      'resources:',
      '  file:',
      '  - name: a',
      '    path: /tmp/mgmt-12-prime/a',
      `    content: ${alias ? '&c ' : ''}"shared ${content}"`,
      '  - name: b',
      '    path: /tmp/mgmt-12-prime/b',
      `    content: ${alias ? '*c' : `"${content}"`}`,
      '',
    ].join('\n')
  for (const alias of [false, true]) {
    const cache = new CompileCache()
    loadYaml(text('x', alias), '/tmp/g.yaml', registry, { cache })
    const again = loadYaml(text('y', alias), '/tmp/g.yaml', registry, { cache })
    // Both items changed. With the alias, b's text did not: kept from a whole parse, it would keep
    // the old value of a's anchor; nothing was kept, so it was read again, and failed alone.
    assert.deepEqual(lastParse(cache), { pieces: 2, parsed: 2, cut: 2 }, `alias: ${alias}`)
    assert.equal(again.graph.vertex('file[b]')?.params.content, alias ? 'shared y' : 'y')
    assert.deepEqual(
      outcome(() => again),
      outcome(() => loadYaml(text('y', alias), '/tmp/g.yaml', registry)),
    )
  }
})

test('the document put together from its pieces is the document parsed whole, or nothing', () => {
  let used = 0
  let cutAlone = 0
  for (let seed = 1000; seed < 1100; seed++) {
    const rnd = random(seed)
    const state = new YamlPieces()
    let lines = graph(rnd)
    for (let step = 0; step < 25; step++) {
      const text = `${lines.join('\n')}\n`
      let whole: unknown
      let failed = false
      try {
        whole = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA })
      } catch {
        failed = true
      }
      const pieced = parseByPieces(text, state)
      if (pieced !== undefined) {
        used++
        if (state.last.cut < state.last.pieces) cutAlone++
        assert.ok(!failed, `seed ${seed}, step ${step}: pieces read a document that does not parse:\n${text}`)
        assert.deepEqual(pieced, whole, `seed ${seed}, step ${step}:\n${text}`)
      }
      lines = edit(rnd, lines)
    }
  }
  assert.ok(used > 100, `the pieces were used ${used} times only`)
  assert.ok(cutAlone > 40, `the edited items were cut alone ${cutAlone} times only`)
})

test('edits of params alone (content, path, meta) patch the last graph exactly as a full compile builds it', () => {
  const file = '/tmp/mgmt-12-prop/g.yaml'
  type F = { name: string; dir: string; content: string; autoedge?: boolean; mode?: string }
  const render = (files: readonly F[], dirs: readonly string[]): string => {
    const out = ['graph: g', 'resources:', '  file:']
    for (const d of dirs) out.push(`  - name: ${d}`, `    path: /tmp/mgmt-12-prop/${d}/`)
    for (const f of files) {
      out.push(
        `  - name: ${f.name}`,
        `    path: /tmp/mgmt-12-prop/${f.dir}/${f.name}`,
        `    content: "${f.content}"`,
      )
      if (f.mode) out.push(`    mode: "${f.mode}"`)
      if (f.autoedge !== undefined) out.push(`    meta: {autoedge: ${f.autoedge}}`)
    }
    out.push(
      '  noop:',
      '  - name: n1',
      '  - name: n2',
      'edges:',
      '- name: e',
      '  from: {kind: noop, name: n1}',
    )
    out.push(`  to: {kind: file, name: ${files[0]!.name}}`, '')
    return out.join('\n')
  }
  let patched = 0
  let told = 0
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = random(seed)
    const dirs = ['d0', 'd1', 'd1/sub', 'd2'].filter(() => rnd() < 0.8)
    const places = [...dirs, 'd3', 'd1/other']
    const files: F[] = Array.from({ length: 12 }, (_, i) => ({
      name: `f${i}`,
      dir: pick(rnd, places),
      content: `c${i}`,
    }))
    const cache = new CompileCache()
    for (let step = 0; step < 30; step++) {
      const text = render(files, dirs)
      const before = cache.last
      const incremental = outcome(() => loadYaml(text, file, registry, { cache }))
      const full = outcome(() => loadYaml(text, file, registry))
      assert.deepEqual(incremental, full, `seed ${seed}, step ${step}:\n${text}`)
      // A patch keeps the record's tail as it was; a full compile makes a new one.
      if (before && cache.last && cache.last !== before && cache.last.after === before.after) patched++
      // Told by the reading which resources it read again, the patch compared those alone; the
      // edges, a list the edit did not touch, are the very same.
      if (before && cache.last && cache.last.compared < cache.last.plain.length) {
        told++
        assert.equal(cache.last.compiled.spec.edges, before.compiled.spec.edges)
      }
      const f = pick(rnd, files)
      switch (Math.floor(rnd() * 5)) {
        case 0:
          f.content = `${f.content}+`
          break
        case 1:
          f.dir = pick(rnd, places)
          break
        case 2:
          f.autoedge = f.autoedge === undefined ? false : f.autoedge ? undefined : true
          break
        case 3:
          f.mode = f.mode ? undefined : '0600'
          break
        default:
          f.content = `${f.content}-`
          f.dir = pick(rnd, places)
      }
    }
  }
  assert.ok(patched > 300, `only ${patched} reloads were patches`)
  assert.ok(told > 300, `only ${told} patches compared the resources read again alone`)
})

test('a long run of params-only edits keeps the compile cache at the size of the graph', () => {
  const text = (content: string) =>
    [
      'graph: g',
      'resources:',
      '  file:',
      ...Array.from({ length: 20 }, (_, i) => [
        `  - name: f${i}`,
        `    path: /tmp/mgmt-12-size/f${i}`,
        `    content: "${i === 7 ? content : 'same'}"`,
      ]).flat(),
      '',
    ].join('\n')
  const cache = new CompileCache()
  loadYaml(text('v0'), '/tmp/g.yaml', registry, { cache })
  const size = cache.size
  assert.ok(size >= 20, `the first load keeps each resource (${size})`)
  for (let edit = 1; edit <= 30; edit++) {
    const g = loadYaml(text(`v${edit}`), '/tmp/g.yaml', registry, { cache })
    assert.equal(g.graph.vertex('file[f7]')?.params.content, `v${edit}`)
  }
  assert.equal(cache.size, size, 'thirty edits kept no entry each')
})

test('characters typed, deleted or replaced anywhere: the document cut again around the edit is the document parsed whole, or nothing', () => {
  const alphabet = [
    ' ',
    ' ',
    '-',
    '- ',
    '\n',
    '\n  - ',
    '#',
    ':',
    ': ',
    'x',
    '"',
    "'",
    '|',
    '>',
    '[',
    '{',
    '&a',
    '*a',
    '\t',
  ]
  let edited = 0
  let used = 0
  for (let seed = 2000; seed < 2040; seed++) {
    const rnd = random(seed)
    const state = new YamlPieces()
    // Each edit is made to the last text that parsed, so that most texts are a small edit of a
    // valid document (and then of the text before them).
    let valid = `${graph(rnd).join('\n')}\n`
    let whole: unknown
    try {
      whole = jsyaml.load(valid, { schema: jsyaml.CORE_SCHEMA })
      primePieces(valid, whole, state)
    } catch {
      continue
    }
    for (let step = 0; step < 60; step++) {
      const at = Math.floor(rnd() * valid.length)
      const cut = rnd() < 0.5 ? Math.floor(rnd() * 3) : 0
      const text = valid.slice(0, at) + (rnd() < 0.3 ? '' : pick(rnd, alphabet)) + valid.slice(at + cut)
      let failed = false
      try {
        whole = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA })
        valid = text
      } catch {
        failed = true
      }
      const pieced = parseByPieces(text, state)
      if (pieced === undefined) continue
      used++
      if (state.last.cut < state.last.pieces) edited++
      assert.ok(!failed, `seed ${seed}, step ${step}: pieces read a document that does not parse:\n${text}`)
      assert.deepEqual(pieced, whole, `seed ${seed}, step ${step}:\n${text}`)
    }
  }
  assert.ok(used > 500, `the pieces were used ${used} times only`)
  assert.ok(edited > 250, `the edited items were cut alone ${edited} times only`)
})

test('an edit of the first item of a list is cut alone too, when the skeleton comes before it', () => {
  const text = (a: string, msg: string) =>
    `graph: g\nresources:\n  noop:\n  - name: ${a}\n  - name: b\n  print:\n  - name: p\n    msg: ${msg}\n`
  const load = (t: string) => jsyaml.load(t, { schema: jsyaml.CORE_SCHEMA })
  const state = new YamlPieces()
  primePieces(text('a', 'hi'), load(text('a', 'hi')), state)
  for (const [a, msg] of [
    ['a2', 'hi'],
    ['a2', 'ho'],
  ] as const) {
    assert.deepEqual(parseByPieces(text(a, msg), state), load(text(a, msg)))
    assert.deepEqual(state.last, { pieces: 3, parsed: 1, cut: 1 })
  }
  // The first line of a list's first item no longer starts an item: the whole text is cut.
  const odd = text('a2', 'ho').replace('  - name: a2', '  name: a2')
  assert.equal(parseByPieces(odd, state), undefined)
})
