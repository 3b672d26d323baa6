/**
 * Every YAML graph of the original mgmt (its examples/yaml/ and the graphs of its shell tests, in
 * ../shared/mgmt-yaml/) either loads, or fails with a clear error for a reason listed here: a kind
 * this version does not have yet, or a value that is invalid in the original too.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { builtinRegistry } from '../../resources/index.js'
import { isMgmtError } from '../../util/errors.js'
import { loadYaml } from './parse.js'

const root = fileURLToPath(new URL('../../../../../shared/mgmt-yaml/', import.meta.url))
const registry = builtinRegistry()

const unsupported = (...kinds: string[]): RegExp[] =>
  kinds.map(k => new RegExp(`: no resource kind \`${k}\` available`))

/** Files that must fail, and the only problems they may have. */
const expectedFailures: Record<string, RegExp[]> = {
  // Kinds of the original that this version does not have yet.
  'examples/augeas1.yaml': unsupported('augeas'),
  'examples/aws_ec2_1.yaml': unsupported('aws:ec2'),
  'examples/nspawn1.yaml': unsupported('nspawn'),
  'examples/virt1.yaml': unsupported('virt'),
  'examples/virt2.yaml': unsupported('virt'),
  'examples/virt3.yaml': unsupported('virt'),
  'examples/virt4.yaml': unsupported('virt'),
  'test-shell/augeas-1.yaml': unsupported('augeas'),
  // Values that the original rejects too.
  'examples/msg1.yaml': [/resources\.msg\[0\]\.priority: priority is required/],
  'examples/file1.yaml': [/resources\.file\[3\]\.content: not allowed with `state: absent`/],
  'examples/autoedges2.yaml': [
    /resources\.file\[1\]\.content: a directory \(path ending in `\/`\) cannot have content/,
  ],
  'examples/autoedges3.yaml': [/resources\.file\[1\]\.source: path and source must both be directories/],
}

test('every YAML graph of the original loads, or fails for a listed reason', t => {
  if (!existsSync(root)) {
    t.skip(`${root} is not here`)
    return
  }
  const files = ['examples', 'test-shell'].flatMap(d =>
    readdirSync(join(root, d))
      .filter(f => f.endsWith('.yaml'))
      .map(f => `${d}/${f}`),
  )
  assert.ok(files.length >= 90, `only ${files.length} files found`)
  for (const f of files) {
    const expected = expectedFailures[f]
    let problems: string[] = []
    try {
      loadYaml(readFileSync(join(root, f), 'utf8'), f, registry)
    } catch (err) {
      if (!isMgmtError(err, 'ERR_YAML_INVALID')) throw err
      problems = [...err.details.problems]
    }
    if (!expected) {
      assert.deepEqual(problems, [], `${f} should load`)
      continue
    }
    assert.ok(problems.length > 0, `${f} should fail`)
    // Warnings (obsolete keys, ...) come along with the errors; only the errors are judged here.
    for (const p of problems.filter(p => !p.endsWith('(warning)'))) {
      assert.match(p, /^[^:]+\.yaml:\d+:\d+: /, `${f}: a located problem`)
      assert.ok(
        expected.some(re => re.test(p)),
        `${f}: unexpected problem: ${p}`,
      )
    }
  }
})
