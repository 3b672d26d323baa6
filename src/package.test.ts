/**
 * The package as a user gets it: `npm pack` (of the built tree, as `prepare` builds it before a
 * pack), installed into a fresh directory from the local npm cache (`--offline`, so the test needs
 * no network beyond what `npm ci` already fetched), a TypeScript program compiled against its
 * types with `--strict`, run; the command it installs; a CommonJS user. The tarball ships the
 * program, the types, the examples and the docs, and no tests, benchmarks or source maps, and
 * installing it runs no install script.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const exec = promisify(execFile)
const repo = fileURLToPath(new URL('../../', import.meta.url))
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
const typesNode = JSON.parse(
  await readFile(join(repo, 'node_modules', '@types', 'node', 'package.json'), 'utf8'),
).version as string

type LockEntry = { version: string; dependencies?: Record<string, string>; [k: string]: unknown }

/** A lockfile for the test project: the tarball, and `names` with what they need, as our lockfile has them. */
function appLock(deps: Record<string, string>, names: string[]): object {
  const ours = (
    JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>
    }
  ).packages
  const self = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
  const packages: Record<string, object> = {
    '': { name: 'app', dependencies: deps },
    'node_modules/mgmt': {
      version: self.version,
      resolved: 'file:mgmt.tgz',
      dependencies: self.dependencies,
      bin: self.bin,
    },
  }
  const add = (name: string): void => {
    const key = `node_modules/${name}`
    if (packages[key]) return
    const { dev: _d, peer: _p, optional: _o, ...entry } = ours[key]!
    packages[key] = entry
    for (const d of Object.keys(entry.dependencies ?? {})) add(d)
  }
  for (const n of names) add(n)
  return { name: 'app', lockfileVersion: 3, requires: true, packages }
}

const npm = (args: string[], cwd: string) =>
  exec('npm', [...args, '--no-audit', '--no-fund', '--loglevel=warn'], {
    cwd,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    maxBuffer: 64 << 20,
  })

test('npm pack ships the program, types, examples and docs; installed offline, it compiles under tsc --strict and runs', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-t11-pack-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  // The tree is built already (`npm run build`); `prepare` builds it when packing by hand.
  const packed = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], repo)
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }]
  const files = info.files.map(f => f.path)
  for (const want of [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/mgmt.mjs',
    'dist/lib.mjs',
    'dist/mgmt.1',
    'dist/src/index.d.ts',
    'examples/yaml/hello.yaml',
    'examples/lib/password-file.ts',
    'docs/resources.md',
  ])
    assert.ok(files.includes(want), `${want} is shipped`)
  const unwanted = files.filter(f =>
    /\.test\.|^bench\/|^dist\/bench\/|\.map$|^src\/|^dist\/src\/.*\.js$|testing\//.test(f),
  )
  assert.deepEqual(unwanted, [], 'no tests, benchmarks, sources or source maps')

  // A fresh project that depends on the tarball (and @types/node, as a TypeScript user's does). Its
  // lockfile is made from ours, so that `npm ci --offline` takes every package from the cache
  // `npm ci` filled, as a lockfile install does, and asks the registry nothing.
  const app = join(dir, 'app')
  await exec('mkdir', [app])
  await exec('cp', [join(dir, info.filename), join(app, 'mgmt.tgz')])
  const deps = { mgmt: 'file:mgmt.tgz', '@types/node': typesNode }
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: deps }),
  )
  await writeFile(join(app, 'package-lock.json'), JSON.stringify(appLock(deps, ['zod', '@types/node'])))
  const installed = await npm(['ci', '--offline'], app)
  assert.doesNotMatch(`${installed.stdout}${installed.stderr}`, /install.?script/i, 'no install scripts')
  const pkg = JSON.parse(await readFile(join(app, 'node_modules', 'mgmt', 'package.json'), 'utf8'))
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), ['zod'])

  // A program as a user writes it: a custom kind, typed params, a built-in kind, the result.
  await writeFile(
    join(app, 'main.ts'),
    `import { writeFile } from 'node:fs/promises'
import { z } from 'zod'
import { defineResource, Graph, run, type RunResult } from 'mgmt'

const out = process.argv[2]!
const stamp = defineResource({
  kind: 'stamp',
  params: z.object({ path: z.string(), text: z.string() }).strict(),
  init: (p, ctx) => ({
    async watch(signal) {
      ctx.event()
      await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
    },
    async checkApply(apply) {
      if (apply) await writeFile(p.path, p.text)
      return false
    },
  }),
})
const g = new Graph('packed')
const s = g.add(stamp, 'one', { path: out + '.stamp', text: 'custom' })
g.edge(s, g.add('file', 'f', { path: out, state: 'exists', content: 'from the package\\n', mode: 0o600 }))
const result: RunResult = await run(g, { kinds: [stamp], prefix: 'temporary', convergedTimeout: 0, log: 'silent' })
console.log(JSON.stringify({ failed: result.failed, resources: result.resources }))
`,
  )
  await writeFile(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        types: ['node'],
        outDir: 'out',
      },
      files: ['main.ts'],
    }),
  )
  await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app })
  const target = join(dir, 'made')
  const ran = await exec(process.execPath, [join(app, 'out', 'main.js'), target], { cwd: app })
  assert.deepEqual(JSON.parse(ran.stdout), { failed: [], resources: 2 })
  assert.equal(await readFile(target, 'utf8'), 'from the package\n')
  assert.equal(await readFile(`${target}.stamp`, 'utf8'), 'custom')

  // CommonJS: the library is an ES module, loaded with a dynamic import.
  await writeFile(
    join(app, 'user.cjs'),
    "import('mgmt').then(m => console.log(typeof m.Graph, typeof m.run, typeof m.defineResource))\n",
  )
  assert.equal(
    (await exec(process.execPath, ['user.cjs'], { cwd: app })).stdout.trim(),
    'function function function',
  )
  // The command, as npm installed it.
  const v = await exec(join(app, 'node_modules', '.bin', 'mgmt'), ['--version'], { cwd: app })
  assert.equal(v.stdout.trim(), pkg.version)
})
