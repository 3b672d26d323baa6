/**
 * The documentation points at what exists: every relative link of README.md and docs/ resolves (and
 * its #anchor names a heading), and every file path written in code spans (`src/engine/worker.ts`,
 * `engine/worker.ts`) names a file or folder of the project.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const top = fileURLToPath(new URL('../../', import.meta.url))
const pages = [
  'README.md',
  ...readdirSync(join(top, 'docs'))
    .filter(f => f.endsWith('.md'))
    .map(f => `docs/${f}`),
]

/** GitHub's anchor for a heading. */
const slug = (h: string): string =>
  h
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map(m => slug(m[1]!)))
}

test('every relative link in README.md and docs/ resolves', () => {
  const broken: string[] = []
  for (const page of pages) {
    const text = readFileSync(join(top, page), 'utf8').replace(/```[\s\S]*?```/g, '')
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue
      const [path, anchor] = target!.split('#') as [string, string | undefined]
      const file = path === '' ? join(top, page) : join(top, dirname(page), path)
      if (!existsSync(file)) broken.push(`${page}: ${target} (no such file)`)
      else if (anchor && file.endsWith('.md') && !anchors(file).has(anchor))
        broken.push(`${page}: ${target} (no such heading)`)
    }
  }
  assert.deepEqual(broken, [])
})

test('file paths named in README.md and docs/ exist', () => {
  const missing: string[] = []
  const roots = ['', 'src/', 'src/engine/', 'src/resources/']
  for (const page of pages) {
    const text = readFileSync(join(top, page), 'utf8')
    for (const [, span] of text.matchAll(/`([A-Za-z0-9_./-]+\/[A-Za-z0-9_.-]*)`/g)) {
      const p = span!
      // Repository paths only: a known top folder, or a source file; not /etc/... nor URLs.
      if (p.startsWith('/') || p.startsWith('.') || p.includes('//')) continue
      // A top folder of the repository, or a source file named from `src/` (`engine/worker.ts`);
      // other paths (`engine/state/` in the state directory) are not the project's files.
      const first = p.split('/')[0]!
      const inRepo = ['src', 'docs', 'examples', 'bench'].includes(first)
      const source = /\.(ts|md|yaml)$/.test(p)
      if ((!inRepo && !source) || p.includes('<') || p.includes('*')) continue
      if (!roots.some(r => existsSync(join(top, r, p)))) missing.push(`${page}: ${p}`)
    }
  }
  assert.deepEqual(
    missing,
    [],
    `paths that do not exist (relative to ${relative(process.cwd(), top) || '.'})`,
  )
})
