import assert from 'node:assert/strict'
import { test } from 'node:test'
import { diffLines, splitLines, unifiedDiff } from './diff.js'

/** Length of a longest common subsequence, by dynamic programming (small inputs only). */
function lcs(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0)
  for (const x of a) {
    let diag = 0
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!
      row[j] = x === b[j - 1] ? diag + 1 : Math.max(row[j]!, row[j - 1]!)
      diag = up
    }
  }
  return row[b.length]!
}

/** Applies a unified diff to `old` (hunks in order); returns the new text. */
function patch(old: string, diff: string): string {
  const src = splitLines(old)
  const lines = diff.split('\n')
  const out: string[] = []
  let at = 0
  let i = 2
  let noEol = false
  for (; i < lines.length; i++) {
    const l = lines[i]!
    const h = /^@@ -(\d+),(\d+) \+\d+,\d+ @@$/.exec(l)
    if (h) {
      const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1
      while (at < start) out.push(src[at++]!)
      continue
    }
    if (l === '\\ No newline at end of file') {
      if (lines[i - 1]!.startsWith('+') || lines[i - 1]!.startsWith(' ')) noEol = true
      continue
    }
    if (l.startsWith(' ') || l.startsWith('-')) at++
    if (l.startsWith(' ') || l.startsWith('+')) {
      out.push(l.slice(1))
      noEol = false
    }
  }
  const tail = src.slice(at).map(s => s.replace('\u0000no-eol', ''))
  const body = [...out, ...tail]
  const lastNoEol = tail.length ? old.length > 0 && !old.endsWith('\n') : noEol
  return body.length ? `${body.join('\n')}${lastNoEol ? '' : '\n'}` : ''
}

test('unified diff of a one-line change, with headers and context', () => {
  const old = 'a\nb\nc\nd\ne\nf\ng\nh\n'
  const neu = 'a\nb\nc\nd\nE\nf\ng\nh\n'
  assert.equal(
    unifiedDiff(old, neu, '/etc/x'),
    '--- /etc/x\n+++ /etc/x\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n',
  )
})

test('unified diff from an empty file, and to one', () => {
  assert.equal(unifiedDiff('', 'x\ny\n', '/f'), '--- /f\n+++ /f\n@@ -0,0 +1,2 @@\n+x\n+y\n')
  assert.equal(unifiedDiff('x\n', '', '/f'), '--- /f\n+++ /f\n@@ -1,1 +0,0 @@\n-x\n')
})

test('a missing final newline is a difference and is marked', () => {
  assert.equal(
    unifiedDiff('a\n', 'a', '/f'),
    '--- /f\n+++ /f\n@@ -1,1 +1,1 @@\n-a\n+a\n\\ No newline at end of file\n',
  )
  assert.equal(unifiedDiff('same', 'same', '/f'), '')
})

test('far apart changes make two hunks, near ones one', () => {
  const base = Array.from({ length: 30 }, (_, i) => `l${i}`)
  const far = base.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l))
  const d = unifiedDiff(`${base.join('\n')}\n`, `${far.join('\n')}\n`, '/f')
  assert.equal(d.match(/^@@/gm)?.length, 2)
  const near = base.map((l, i) => (i === 2 || i === 9 ? `${l}!` : l))
  assert.equal(unifiedDiff(`${base.join('\n')}\n`, `${near.join('\n')}\n`, '/f').match(/^@@/gm)?.length, 1)
})

test('random texts: the diff is minimal and applies back to the new text', () => {
  let seed = 7
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  for (let round = 0; round < 300; round++) {
    const a = Array.from({ length: rnd(25) }, () => 'abcde'[rnd(5)]!)
    const b = Array.from({ length: rnd(25) }, () => 'abcde'[rnd(5)]!)
    const edits = diffLines(a, b)
    assert.equal(edits.filter(e => e.op === ' ').length, lcs(a, b))
    assert.deepEqual(
      edits.filter(e => e.op !== '+').map(e => e.line),
      a,
    )
    assert.deepEqual(
      edits.filter(e => e.op !== '-').map(e => e.line),
      b,
    )
    const old = a.length ? `${a.join('\n')}${rnd(2) ? '\n' : ''}` : ''
    const neu = b.length ? `${b.join('\n')}${rnd(2) ? '\n' : ''}` : ''
    assert.equal(patch(old, unifiedDiff(old, neu, '/f')), old === neu ? old : neu)
  }
})
