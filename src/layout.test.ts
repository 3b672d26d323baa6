/** README's layout section names every folder of `src/`, and only folders that exist. */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const top = fileURLToPath(new URL('../../', import.meta.url))

function folders(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) {
      const sub = join(dir, e.name)
      out.push(`${relative(top, sub)}/`, ...folders(sub))
    }
  return out
}

test("README's layout section matches the folders of src/", () => {
  const readme = readFileSync(join(top, 'README.md'), 'utf8')
  const section = readme.split('\n## Layout\n')[1]?.split('\n## ')[0]
  assert.ok(section, 'README.md has a "## Layout" section')
  const listed = [...section.matchAll(/^(src\/\S*\/)\s/gm)].map(m => m[1]!)
  assert.deepEqual([...listed].sort(), folders(join(top, 'src')).sort())
})
