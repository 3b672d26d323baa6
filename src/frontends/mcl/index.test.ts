/**
 * `mgmt run lang` end to end: a program is run, re-run when it or a file it imports changes, an
 * invalid edit is reported with its location and the running graph stays; a module directory
 * runs from its metadata.yaml; errors are located and never a stack trace; `os.system`'s commands
 * run beside the engine.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runMgmt, startMgmt } from '../../testing/cli.js'
import { deadline } from '../../testing/deadline.js'
import { whenContent } from '../../testing/fswait.js'
import { pidsWithMarker } from '../../testing/proc.js'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-17-lang-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('a program is re-run when it or an imported file changes; an invalid edit keeps the running graph', async () => {
  const root = await mkdtemp(join(dir, 'live-'))
  const main = join(root, 'main.mcl')
  const lib = join(root, 'lib.mcl')
  const f = join(root, 'f')
  const program = (greeting: string): string =>
    `import "lib.mcl"\n\nfile "${f}" {\n\tstate => "exists",\n\tcontent => "${greeting}, " + $lib.name + "\\n",\n}\n`
  await writeFile(lib, '$name = "world"\n')
  await writeFile(main, program('hello'))
  const m = startMgmt(['run', '--tmp-prefix', 'lang', main])
  try {
    await whenContent(f, 'hello, world\n')
    await writeFile(main, program('goodbye'))
    await whenContent(f, 'goodbye, world\n')
    await writeFile(lib, '$name = "mcl"\n')
    await whenContent(f, 'goodbye, mcl\n')
    await writeFile(main, `import "lib.mcl"\n$x = 1 + "a"\ntest [$x] {}\n`)
    await m.waitFor(/main\.mcl:2:6: type error: (int != str|str != int)[\s\S]*keeping the running graph/)
    await writeFile(f, 'drift')
    await whenContent(f, 'goodbye, mcl\n')
    await writeFile(main, program('back'))
    await whenContent(f, 'back, mcl\n')
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
  assert.doesNotMatch(m.output(), /\n\s+at /, 'no stack trace')
})

test('a module directory runs from its metadata.yaml, its deploy files read by deploy.readfile', async () => {
  const root = await mkdtemp(join(dir, 'module-'))
  await mkdir(join(root, 'code'))
  await mkdir(join(root, 'data'))
  await writeFile(join(root, 'metadata.yaml'), 'main: code/entry.mcl\nfiles: data/\n')
  await writeFile(join(root, 'data', 'motd'), 'from the deploy\n')
  const out = join(root, 'out')
  await writeFile(
    join(root, 'code', 'entry.mcl'),
    `import "deploy"\nfile "${out}" {\n\tstate => "exists",\n\tcontent => deploy.readfile("/data/motd"),\n}\n`,
  )
  const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'lang', root])
  assert.equal(r.code, 0, r.output)
  await whenContent(out, 'from the deploy\n')
})

test('errors are located, name their stage, and exit 2 with nothing applied', async () => {
  const root = await mkdtemp(join(dir, 'errors-'))
  const cases: [string, RegExp][] = [
    ['$x = [1, 2 3]\n', /:1:12: parse error: unexpected number `3`, expecting `\]` or `,`/],
    ['test [$nope] {}\n', /:1:7: scope error: var `\$nope` does not exist in this scope/],
    ['$l = ["a"]\ntest [$l[4]] {}\n', /:2:7: run error: list index not present, got: 4, len is: 1/],
    [
      'test "a" {}\ntest "a" {\n\tanotherstr => "x",\n}\n',
      /:2:1: interpret error: inequivalent duplicate resource/,
    ],
    ['file "relative" {\n\tstate => "exists",\n}\n', /main\.mcl:1:1: file\[relative\]/],
    // Nested deeper than the later stages can walk: brackets, and a long chain of `+`.
    [
      `$x = ${'('.repeat(50_000)}1${')'.repeat(50_000)}\n`,
      /main\.mcl:1:262: parse error: the program nests more than 256 levels deep here/,
    ],
    [
      `$x = 1${' + 1'.repeat(200_000)}\n`,
      /main\.mcl:1:1028: parse error: the program nests more than 256 levels/,
    ],
  ]
  for (const [i, [text, want]] of cases.entries()) {
    const file = join(root, `e${i}`, 'main.mcl')
    await mkdir(join(root, `e${i}`))
    await writeFile(file, text)
    const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'lang', file])
    assert.equal(r.code, 2, `${text.slice(0, 80)}: ${r.output}`)
    assert.match(r.output, want)
    assert.doesNotMatch(r.output, /\n\s+at /, 'no stack trace')
  }
})

test("os.system: a round's commands run side by side, and the program is evaluated again with what they printed", async () => {
  const root = await mkdtemp(join(dir, 'system-'))
  const meet = join(root, 'meet')
  execFileSync('mkfifo', [meet])
  const out = join(root, 'out')
  // Each waits for the other at the FIFO: one after the other, the first would wait out its minute.
  await writeFile(
    join(root, 'main.mcl'),
    `import "os"\n$a = os.system("read l < ${meet}; echo a:$l")\n$b = os.system("echo hi > ${meet}; echo b")\n` +
      `file "${out}" {\n\tstate => "exists",\n\tcontent => $a + " " + $b + "\\n",\n}\n`,
  )
  const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'lang', join(root, 'main.mcl')])
  assert.equal(r.code, 0, r.output)
  assert.equal(await readFile(out, 'utf8'), 'a:hi b\n')
})

test('os.system: ^C while a command runs ends the run at once, and the command with it', async () => {
  const root = await mkdtemp(join(dir, 'system-stop-'))
  // Found by its odd duration among the machine's processes.
  const marker = `29.${process.pid}`
  await writeFile(
    join(root, 'main.mcl'),
    `import "os"\n$s = os.system("exec sleep ${marker}")\ntest [$s] {}\n`,
  )
  const running = (): number[] => pidsWithMarker(`sleep\0${marker}\0`)
  const m = startMgmt(['run', '--tmp-prefix', 'lang', join(root, 'main.mcl')])
  try {
    // No line says the command runs: the machine's processes do (looked at every 50 ms).
    for (let waited = 0; running().length === 0; waited += 50) {
      if (m.child.exitCode !== null || waited > 15_000) assert.fail(`the command never ran:\n${m.output()}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    m.child.kill('SIGINT')
    // Before, the engine waited for the command (30 s) before it saw the signal.
    const code = await new Promise<number | 'running'>(resolve => {
      const d = deadline(15_000, () => resolve('running'))
      void m.exited.then(c => {
        d.cancel()
        resolve(c)
      })
    })
    assert.equal(code, 0, m.output())
    assert.deepEqual(running(), [], 'the command was stopped with the run')
  } finally {
    for (const pid of running()) process.kill(pid, 'SIGKILL')
    await m.kill()
  }
})
