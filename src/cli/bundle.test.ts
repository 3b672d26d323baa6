/**
 * The single-file bundle (`dist/mgmt.mjs`, built by `npm run build`): copied alone into an empty
 * directory, it is the whole command. Remote execution relies on this.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, open, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Running, startMgmt } from '../testing/cli.js'
import { V8_FLAGS } from '../util/v8flags.js'
import { version } from '../version.js'

const bundle = fileURLToPath(new URL('../../mgmt.mjs', import.meta.url))
const run = promisify(execFile)

test('the bundle alone runs a graph, and knows its version', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await copyFile(bundle, join(dir, 'mgmt.mjs'))
  const v = await run(process.execPath, [join(dir, 'mgmt.mjs'), '--version'], { cwd: dir })
  assert.equal(v.stdout.trim(), version)
  const g = join(dir, 'g.yaml')
  await writeFile(
    g,
    `graph: g\nresources:\n  file:\n  - name: f\n    path: ${dir}/out\n    state: exists\n    content: "bundled\\n"\n`,
  )
  await run(
    process.execPath,
    [join(dir, 'mgmt.mjs'), 'run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', g],
    { cwd: dir },
  )
  assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'bundled\n')
  // An invalid graph takes the lazily loaded YAML position parser, which must be in the bundle.
  await writeFile(g, 'graph: g\nresources:\n  file:\n  - name: f\n    path: 3\n')
  const bad = await run(process.execPath, [join(dir, 'mgmt.mjs'), 'run', '--tmp-prefix', 'yaml', g], {
    cwd: dir,
  }).catch((e: { code: number; stderr: string }) => e)
  assert.equal((bad as { code: number }).code, 2)
  assert.match((bad as { stderr: string }).stderr, /g\.yaml:5:11: resources\.file\[0\]\.path/)
})

test("run as a command, the bundle starts Node.js with glibc's trim threshold, unless the user set one", async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const out = join(dir, 'environ')
  const g = join(dir, 'g.yaml')
  // The command's parent is mgmt itself: its environment as it started.
  await writeFile(
    g,
    `graph: g\nresources:\n  exec:\n  - name: e\n    cmd: tr '\\0' '\\n' < /proc/$PPID/environ > ${out}\n    shell: /bin/sh\n`,
  )
  const args = ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', g]
  const started = async (env: NodeJS.ProcessEnv): Promise<string[]> => {
    await run(bundle, args, { cwd: dir, env })
    return (await readFile(out, 'utf8')).split('\n').filter(l => /MALLOC/.test(l))
  }
  const { MALLOC_TRIM_THRESHOLD_: _, ...clean } = process.env
  assert.deepEqual((await started(clean)).sort(), ['MALLOC_TRIM_THRESHOLD_=1048576', 'MGMT_MALLOC_TRIM=1'])
  assert.deepEqual(await started({ ...clean, MALLOC_TRIM_THRESHOLD_: '4096' }), [
    'MALLOC_TRIM_THRESHOLD_=4096',
  ])
  // Through a link, as a package manager installs the command, and by a relative path: the
  // loader finds the program (and its cache) beside the file itself.
  await symlink(bundle, join(dir, 'mgmt'))
  assert.equal((await run(join(dir, 'mgmt'), ['--version'])).stdout.trim(), version)
  await rm(out)
  await run('./mgmt', args, { cwd: dir, env: clean })
  assert.match(await readFile(out, 'utf8'), /^MGMT_MALLOC_TRIM=1$/m)
})

test("run as a command, the bundle starts Node.js with V8's flags, and its code cache is read under them", async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const out = join(dir, 'cmdline')
  const seen = join(dir, 'cache')
  // Preloaded by Node.js in the command's process: whether the program was given the code cache
  // beside the bundle, and whether V8 took it (it rejects a cache made under other flags).
  await writeFile(
    join(dir, 'seen.cjs'),
    `const vm = require('node:vm'); const { writeFileSync } = require('node:fs')
const Script = vm.Script
vm.Script = class extends Script {
  constructor(code, o) {
    super(code, o)
    if (o && o.filename && o.filename.endsWith('mgmt.mjs'))
      writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ node: process.version, given: o.cachedData !== undefined, rejected: this.cachedDataRejected }))
  }
}
`,
  )
  const g = join(dir, 'g.yaml')
  // The command's parent is mgmt itself: its command line.
  await writeFile(
    g,
    `graph: g\nresources:\n  exec:\n  - name: e\n    cmd: tr '\\0' '\\n' < /proc/$PPID/cmdline > ${out}\n    shell: /bin/sh\n`,
  )
  await run(bundle, ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', g], {
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: `--require ${join(dir, 'seen.cjs')}` },
  })
  const argv = (await readFile(out, 'utf8')).split('\n')
  assert.deepEqual(argv.slice(1, 1 + V8_FLAGS.length), [...V8_FLAGS])
  assert.equal(argv[1 + V8_FLAGS.length], '-e')
  const s = JSON.parse(await readFile(seen, 'utf8')) as { node: string; given: boolean; rejected?: boolean }
  // The cache is made by, and for, the Node.js that built the bundle.
  const header = (await readFile(`${bundle}.cache`, 'latin1')).slice(0, 200).split('\n')[0]!
  if (header.split(' ')[2] !== s.node) return t.skip(`the code cache was made by another Node.js (${header})`)
  assert.deepEqual(s, { node: s.node, given: true, rejected: false })
})

test('a run of files loads none of the Node.js modules that only other runs use; a run that needs one loads it', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  // Preloaded by Node.js in the command's process: the built-in modules it loaded, as it exits.
  const loaded = join(dir, 'loaded')
  await writeFile(
    join(dir, 'list.cjs'),
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, process.moduleLoadList.join('\\n')))\n`,
  )
  const g = join(dir, 'g.yaml')
  const modulesOf = async (graph: string): Promise<string[]> => {
    await writeFile(g, graph)
    await run(bundle, ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', g], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: `--require ${join(dir, 'list.cjs')}` },
    })
    return (await readFile(loaded, 'utf8')).split('\n').filter(m => m.startsWith('NativeModule '))
  }
  // (Not net: Node.js loads it itself for output to a pipe, as here.)
  const lazy = ['child_process', 'crypto', 'dgram', 'readline'].map(m => `NativeModule ${m}`)
  const files = await modulesOf(
    `graph: g\nresources:\n  file:\n  - name: f\n    path: ${dir}/out\n    state: exists\n    content: "x\\n"\n`,
  )
  assert.deepEqual(
    lazy.filter(m => files.includes(m)),
    [],
  )
  const exec = await modulesOf(`graph: g\nresources:\n  exec:\n  - name: e\n    cmd: touch ${dir}/ran\n`)
  assert.ok(exec.includes('NativeModule child_process'))
  await readFile(join(dir, 'ran'))
})

/** A script that the command compiled through node:vm: its file name, its code and its cache. */
interface Compiled {
  filename: string
  code: string
  cached: boolean
  /** The cache starts on an 8-byte boundary of its buffer: V8 reads it in place, uncopied. */
  aligned?: boolean
  rejected: boolean
}

/** Runs the bundle as a command with `args`, and says what it compiled through node:vm, in order. */
async function compiledBy(dir: string, args: string[]): Promise<Compiled[]> {
  // Preloaded: node:vm's Script, recording each script (the loader takes Script after this).
  const seen = join(dir, 'seen.jsonl')
  await writeFile(seen, '')
  await writeFile(
    join(dir, 'vm.cjs'),
    `const vm = require('node:vm'); const Script = vm.Script; const fs = require('node:fs');
vm.Script = function (code, opts) {
  const s = new Script(code, opts);
  fs.appendFileSync(${JSON.stringify(seen)}, JSON.stringify({ filename: opts.filename, code, cached: opts.cachedData !== undefined, aligned: opts.cachedData && opts.cachedData.byteOffset % 8 === 0, rejected: s.cachedDataRejected === true }) + '\\n');
  return s;
};\n`,
  )
  await run(bundle, args, {
    env: { ...process.env, NODE_OPTIONS: `--require ${join(dir, 'vm.cjs')}` },
  }).catch(() => undefined)
  return (await readFile(seen, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l) as Compiled)
}

test('the loader compiles the program held in the file, byte for byte, with the code cache the build made for it', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const [program, ...more] = await compiledBy(dir, ['help'])
  assert.deepEqual(more, [])
  const { code, cached, aligned, rejected } = program!
  // The program as the file holds it: every line after the marker, behind `//`, up to its parts.
  const text = await readFile(bundle, 'latin1')
  const start = text.indexOf('\n// MGMT-PROGRAM\n') + '\n// MGMT-PROGRAM\n'.length
  const lines = text.slice(start, text.indexOf('\n// MGMT-PART ', start) + 1).split('\n')
  assert.equal(lines.pop(), '')
  assert.ok(lines.every(l => l.startsWith('//')))
  assert.ok(
    code === `${lines.map(l => l.slice(2)).join('\n')}\n`,
    'the compiled program differs from the file',
  )
  assert.match(
    code,
    /^\(function \(exports, require, module, __filename, __dirname, __mgmtUrl, __mgmtFd\) \{/,
  )
  // `npm run build` made the cache with the Node.js that runs the tests.
  assert.deepEqual({ cached, aligned, rejected }, { cached: true, aligned: true, rejected: false })
})

test('the parts after the program are compiled only when a run needs them, each once, from the file', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const scripts = async (graph: string): Promise<string[]> => {
    const g = join(dir, 'g.yaml')
    await writeFile(g, graph)
    const all = await compiledBy(dir, ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', g])
    return all.map(s => s.filename)
  }
  assert.deepEqual(await scripts(`graph: g\nresources:\n  noop:\n  - name: n\n`), [bundle])
  // An invalid graph's positions come from the `yaml` package, which is a part.
  assert.deepEqual(await scripts('graph: g\nresources:\n  file:\n  - name: f\n    path: 3\n'), [
    bundle,
    `${bundle}#yaml`,
  ])
  // Each part is in the file once, behind its line, and the program stops before the first.
  const text = await readFile(bundle, 'latin1')
  const named = [...text.matchAll(/^\/\/ MGMT-PART (\w+)$/gm)].map(m => m[1])
  assert.deepEqual(named.sort(), ['dbus', 'etcd', 'metrics', 're2', 'ssh', 'yaml'])
  assert.ok(text.indexOf('\n// MGMT-PART ') > text.indexOf('\n// MGMT-PROGRAM\n'))
})

test('a part is read from the file the run started from: a file renamed over it is not read, one rewritten in place is refused', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const copy = join(dir, 'mgmt.mjs')
  const g = join(dir, 'g.yaml')
  const good = (msg: string): string => `graph: g\nresources:\n  print:\n  - {name: p, msg: ${msg}}\n`
  // An invalid graph needs the `yaml` part (its positions), which a valid one never loaded.
  const invalid = 'graph: g\nresources:\n  file:\n  - name: f\n    path: 3\n'
  const started = async (): Promise<Running> => {
    await copyFile(bundle, copy)
    await writeFile(g, good('first'))
    const m = startMgmt(['run', '--tmp-prefix', 'yaml', g], { program: copy })
    await m.waitFor(/print\[p\]: first/)
    return m
  }

  // An upgrade: another file (here, the first half of the bundle) renamed over the one that runs.
  const upgraded = await started()
  try {
    const text = await readFile(bundle)
    await writeFile(`${copy}.new`, text.subarray(0, text.length >> 1))
    await rename(`${copy}.new`, copy)
    await writeFile(g, invalid)
    await upgraded.waitFor(/g\.yaml:5:11: resources\.file\[0\]\.path: expected a string, got 3/)
    await writeFile(g, good('second'))
    await upgraded.waitFor(/print\[p\]: second/)
  } finally {
    await upgraded.kill()
  }

  // The same file rewritten in place: the part's bytes differ from the build's, and are not run.
  const rewritten = await started()
  try {
    const text = await readFile(copy, 'latin1')
    const at = text.indexOf('\n// MGMT-PART yaml\n') + '\n// MGMT-PART yaml\n'.length
    const handle = await open(copy, 'r+')
    await handle.write('//throw new Error("not the build\'s");', at)
    await handle.close()
    await writeFile(g, invalid)
    await rewritten.waitFor(/was changed while mgmt ran: its part yaml is not the one mgmt started with/)
    assert.doesNotMatch(rewritten.output(), /not the build's/)
    assert.equal(rewritten.child.exitCode, null, 'the engine runs on, on its last good graph')
  } finally {
    await rewritten.kill()
  }
})

test('a file that is not as its build made it (cut short, or longer) is said in one line and never compiled', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const whole = await readFile(bundle)
  const copy = join(dir, 'mgmt.mjs')
  // Cut in its parts, cut in its program, and with a byte more.
  for (const bytes of [
    whole.subarray(0, whole.length - 1000),
    whole.subarray(0, whole.length >> 2),
    Buffer.concat([whole, Buffer.from('\n')]),
  ]) {
    await writeFile(copy, bytes, { mode: 0o755 })
    for (const [cmd, args] of [
      [copy, []],
      [process.execPath, [copy]],
    ] as const) {
      const r = await run(cmd, [...args, 'run', '--tmp-prefix', '--converged-timeout', '0', 'empty']).catch(
        (e: { code: number; stdout: string; stderr: string }) => e,
      )
      assert.equal((r as { code?: number }).code, 1)
      assert.equal(r.stdout, '')
      assert.equal(r.stderr, `mgmt: ${copy} is not whole (not as its build made it): install mgmt again\n`)
    }
  }
})
