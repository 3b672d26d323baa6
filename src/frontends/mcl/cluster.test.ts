/**
 * mcl across two real hosts on one etcd: host a exports a hidden file to b; b lists what it is
 * offered (`collect.res`), collects it with a field of its own, and follows an edit on a.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { clusterClient, type Running, startMgmt } from '../../testing/cli.js'
import { startEtcd } from '../../testing/etcd.js'
import { whenContent } from '../../testing/fswait.js'
import { freeUrl } from '../../testing/ports.js'

test('a exports a hidden file to b; b collects what collect.res offers, with its own mode; an edit on a reaches b', async () => {
  const root = await mkdtemp(join(tmpdir(), 'mgmt-17-cluster-'))
  const etcd = await startEtcd()
  const target = join(root, 'from-a')
  const programA = join(root, 'a.mcl')
  const a = (v: string): string =>
    `file "${target}" {\n\tstate => $const.res.file.state.exists,\n\tcontent => "${v}\\n",\n\n\tMeta:export => ["b"],\n\tMeta:hidden => true,\n}\n`
  const programB = join(root, 'b.mcl')
  const b = `import "fmt"
import "world/collect"

$offered = collect.res("file")
print "offered" {
	msg => fmt.printf("%v", $offered),
}
collect file $offered {
	mode => "0600",
}
`
  const host = (h: string, file: string): Running =>
    startMgmt(['run', ...clusterClient(h, etcd.clientUrl), 'lang', file])
  const running: Running[] = []
  try {
    await writeFile(programA, a('one'))
    await writeFile(programB, b)
    const ma = host('a', programA)
    running.push(ma)
    await ma.waitFor(/exported file\[\S+from-a\]/, 30_000)
    await assert.rejects(stat(target), 'hidden: not applied on a')
    const mb = host('b', programB)
    running.push(mb)
    await whenContent(target, 'one\n')
    assert.equal((await stat(target)).mode & 0o777, 0o600)
    await mb.waitFor(/print\[offered\]: \[struct\{name: "\S+from-a"; host: "a"\}\]/)

    await writeFile(`${programA}.tmp`, a('two'))
    await rename(`${programA}.tmp`, programA)
    await whenContent(target, 'two\n')
    for (const m of running) m.child.kill('SIGINT')
    for (const m of running) assert.equal(await m.exited, 0, m.output())
  } finally {
    for (const m of running) await m.kill(2000)
    await etcd.cleanup()
    await rm(root, { recursive: true, force: true })
  }
})

// A run that does not stop would hang: the test's timeout says so.
test('^C while a program waits for an unreachable world to read it: the run stops, exit 0', {
  timeout: 60_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'mgmt-17-nowhere-'))
  const program = join(root, 'main.mcl')
  await writeFile(program, 'import "world"\n\ntest [world.getval("k")->value + "!"] {}\n')
  const m = startMgmt(['run', '--tmp-prefix', '--seeds', await freeUrl(), '--no-server', 'lang', program])
  try {
    await m.waitFor(/waiting for etcd at/)
    m.child.kill('SIGINT')
    assert.equal(await m.exited, 0, m.output())
  } finally {
    await m.kill(2000)
    await rm(root, { recursive: true, force: true })
  }
})
