/**
 * Bad input is a located error, never a crash: the example graphs (this project's, and the
 * original's when ../shared is here), each mutated at random (lines dropped, repeated, re-indented;
 * YAML's punctuation, tags, anchors and odd scalars spliced in; values and keys replaced), must
 * each load or fail with a YAML error of ours whose every problem names the file, line and column.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { builtinRegistry } from '../../resources/index.js'
import { random } from '../../testing/random.js'
import { isMgmtError } from '../../util/errors.js'
import { loadYaml } from './parse.js'

const registry = builtinRegistry()
const ours = fileURLToPath(new URL('../../../../examples/yaml/', import.meta.url))
const original = fileURLToPath(new URL('../../../../../shared/mgmt-yaml/', import.meta.url))

const graphs = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter(f => f.endsWith('.yaml'))
        .map(f => readFileSync(join(dir, f), 'utf8'))
    : []

const SPLICED = [
  '{',
  '}',
  '[',
  ']',
  ':',
  '- ',
  '&a ',
  '*a',
  '!!binary ',
  '!!str ',
  '"',
  "'",
  '|',
  '>',
  '#',
  '%TAG ',
  '\t',
  '~',
  'null',
  '-1',
  '1e999',
  '0x',
  '<<: *a',
  '? ',
  '@',
  '`',
  '\\u0000',
  'true',
  '[]',
  '{}',
  '---',
  '...',
  'ñ',
  '\u202e',
  '\r',
]

/** One to three random changes of the lines. */
function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const lines = text.split('\n')
  for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
    const i = Math.floor(rnd() * lines.length)
    const line = lines[i]!
    switch (Math.floor(rnd() * 7)) {
      case 0:
        lines.splice(i, 1)
        break
      case 1:
        lines.splice(i, 0, pick(lines))
        break
      case 2:
        lines[i] = ' '.repeat(Math.floor(rnd() * 6)) + line.trimStart()
        break
      case 3: {
        const at = Math.floor(rnd() * (line.length + 1))
        lines[i] = line.slice(0, at) + pick(SPLICED) + line.slice(at)
        break
      }
      case 4:
        lines[i] = line.replace(/: .*/, `: ${pick(SPLICED)}`)
        break
      case 5:
        lines[i] = line.replace(/: .*/, ': {a: [1, {b: 2}]}')
        break
      default:
        lines[i] = line.replace(/^(\s*)\S+:/, `$1${pick(SPLICED)}:`)
    }
  }
  return lines.join('\n')
}

const located = /^g\.yaml:\d+:\d+: \S/

test('1,500 mutated example graphs: each loads, or fails with located problems', () => {
  const sources = [...graphs(ours), ...graphs(original)]
  assert.ok(sources.length >= 20, `only ${sources.length} example graphs found`)
  const rnd = random(1500)
  const failed = { syntax: 0, invalid: 0, loaded: 0 }
  for (let t = 0; t < 1500; t++) {
    const text = mutate(sources[Math.floor(rnd() * sources.length)]!, rnd)
    const trial = `trial ${t}:\n${text}`
    try {
      loadYaml(text, 'g.yaml', registry)
      failed.loaded++
    } catch (err) {
      if (isMgmtError(err, 'ERR_YAML_SYNTAX')) {
        assert.match(err.message, located, trial)
        failed.syntax++
      } else if (isMgmtError(err, 'ERR_YAML_INVALID')) {
        for (const p of err.details.problems)
          if (!/^\.\.\. and \d+ more problems$/.test(p)) assert.match(p, located, trial)
        failed.invalid++
      } else assert.fail(`${trial}\nthrew ${(err as Error)?.stack ?? String(err)}`)
    }
  }
  // Each outcome is met many times, or the mutations are too mild (or too wild) to test much.
  for (const [outcome, n] of Object.entries(failed)) assert.ok(n >= 100, `${outcome}: only ${n} of 1,500`)
})
