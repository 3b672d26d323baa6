/**
 * user and group against the machine's real account databases, with names and ids of their own
 * (`mgmt-t13-...`, ids in a free range) that are deleted afterwards, also when a test fails.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseParams } from '../engine/params.js'
import { runMgmt } from '../testing/cli.js'
import { cleanups, run, runStatus } from '../testing/proc.js'
import { startResource } from '../testing/timeline.js'
import { group } from './group.js'
import { readGroups, readPasswd } from './user/accounts.js'
import { user } from './user.js'

const id = process.pid.toString(36)

/** Ids free as users and as groups, from a range the machine's accounts do not use. */
async function freeIds(n: number): Promise<number[]> {
  const used = new Set([...(await readPasswd()).map(u => u.uid), ...(await readGroups()).map(g => g.gid)])
  const out: number[] = []
  for (let i = 47000 + (process.pid % 5000); out.length < n; i++) if (!used.has(i)) out.push(i)
  return out
}

/** Deletes these users and groups after the test (whatever it left). */
function cleanup(defer: (fn: () => unknown) => void, users: string[], groups: string[]): void {
  defer(async () => {
    for (const u of users) await runStatus('userdel', [u])
    for (const g of groups) await runStatus('groupdel', [g])
  })
}

const passwd = async (name: string) => (await readPasswd()).find(u => u.name === name)
const groupOf = async (name: string) => (await readGroups()).find(g => g.name === name)

test('user and group params', () => {
  assert.match(
    parseParams(user, 'x', { state: 'exists', gid: 1, group: 'a' }).issues[0]?.message ?? '',
    /gid or group/,
  )
  assert.match(
    parseParams(user, 'x', { state: 'exists', group: 'a', groups: ['a'] }).issues[0]?.message ?? '',
    /primary/,
  )
  assert.match(
    parseParams(user, 'x', { state: 'exists', homedir: 'home' }).issues[0]?.message ?? '',
    /absolute/,
  )
  assert.ok(parseParams(group, 'x', {}).issues.length > 0, 'state is required')
  // A name that is no account name (one that shadow's tools would take as an option above all) is
  // a problem of the graph, reported before anything runs.
  for (const [def, kind] of [
    [user, 'user'],
    [group, 'group'],
  ] as const)
    for (const name of ['-g0', 'Root Two', 'a;b'])
      assert.deepEqual(
        parseParams(def, name, { state: 'exists' }).issues.map(i => [i.path, i.message]),
        [[['name'], `\`${name}\` is not a valid ${kind} name`]],
      )
})

test('group: create with a gid, drift repair after groupmod by hand, delete', async t => {
  const defer = cleanups(t)
  const name = `mgmt-t13-g${id}`
  cleanup(defer, [], [name])
  const [gid, other] = await freeIds(2)
  const h = await startResource(group, name, { state: 'exists', gid })
  defer(() => h.stop())
  await h.startup()
  assert.equal(await h.converge(), 1)
  assert.equal((await groupOf(name))?.gid, gid)
  await h.expectEvent(() => run('groupmod', ['-g', String(other), name]))
  assert.equal(await h.converge(), 1)
  assert.equal((await groupOf(name))?.gid, gid)
  await h.stop()
  const gone = await startResource(group, name, { state: 'absent' })
  defer(() => gone.stop())
  await gone.startup()
  assert.equal(await gone.converge(), 1)
  assert.equal(await groupOf(name), undefined)
})

test('user: create, drift repair after usermod by hand, modify, delete', async t => {
  const defer = cleanups(t)
  const name = `mgmt-t13-u${id}`
  const [g1, g2] = [`mgmt-t13-p${id}`, `mgmt-t13-s${id}`]
  cleanup(defer, [name], [g1, g2])
  for (const g of [g1, g2]) await run('groupadd', [g])
  const [uid] = await freeIds(1)
  const params = { state: 'exists', uid, group: g1, groups: [g2], homedir: `/tmp/${name}/`, shell: '/bin/sh' }
  const h = await startResource(user, name, params)
  defer(() => h.stop())
  await h.startup()
  assert.equal(await h.converge(), 1)
  const u = await passwd(name)
  assert.equal(u?.uid, uid)
  assert.equal(u?.gid, (await groupOf(g1))?.gid)
  assert.equal(u?.home, `/tmp/${name}`)
  assert.equal(u?.shell, '/bin/sh')
  assert.deepEqual((await groupOf(g2))?.members, [name])

  // Changed by hand: the watch sees /etc/passwd change, and the check puts it back.
  await h.expectEvent(() => run('usermod', ['-s', '/bin/bash', name]))
  assert.equal(await h.converge(), 1)
  assert.equal((await passwd(name))?.shell, '/bin/sh')
  // Removed from its supplementary group by hand (/etc/group): back in it.
  await h.expectEvent(() => run('gpasswd', ['-d', name, g2]))
  assert.equal(await h.converge(), 1)
  assert.deepEqual((await groupOf(g2))?.members, [name])
  await h.stop()

  const changed = await startResource(user, name, { ...params, shell: '/bin/bash', groups: [] })
  defer(() => changed.stop())
  await changed.startup()
  assert.equal(await changed.converge(), 1)
  assert.equal((await passwd(name))?.shell, '/bin/bash')
  assert.deepEqual((await groupOf(g2))?.members, [])
  await changed.stop()

  const gone = await startResource(user, name, { state: 'absent' })
  defer(() => gone.stop())
  await gone.startup()
  assert.equal(await gone.converge(), 1)
  assert.equal(await passwd(name), undefined)
})

test("the original's user1, group1 and autoedges4 run (names and ids renamed to the test's)", async t => {
  const defer = cleanups(t)
  const originals = new URL('../../../../shared/mgmt-yaml/examples/', import.meta.url)
  const read = (f: string): Promise<string> => readFile(new URL(f, originals), 'utf8')
  if (!(await read('user1.yaml').catch(() => ''))) {
    t.skip('the original graphs are not here')
    return
  }
  const [uid, gid, gid100] = await freeIds(3)
  const names = ['testuser', 'testgroup', 'edgeuser2', 'edgeuser', 'edgegroup3', 'edgegroup2', 'edgegroup']
  const renamed = Object.fromEntries(names.map((n, i) => [n, `mgmt-t13-${i}${id}`]))
  cleanup(
    defer,
    ['testuser', 'edgeuser2', 'edgeuser'].map(n => renamed[n]!),
    ['testgroup', 'edgegroup3', 'edgegroup2', 'edgegroup'].map(n => renamed[n]!).concat(`mgmt-t13-100${id}`),
  )
  // user1's gid 100 is "users": a group of the test's stands in for it.
  await run('groupadd', ['-g', String(gid100), `mgmt-t13-100${id}`])
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-t13-users-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const mgmt = async (file: string): Promise<string> => {
    let text = await read(file)
    for (const n of names) text = text.replace(new RegExp(`\\b${n}\\b`, 'g'), renamed[n]!)
    text = text
      .replace(/\b1002\b/g, String(uid))
      .replace(/\b10000\b/g, String(gid))
      .replace(/\bgid: 100\b/, `gid: ${gid100}`)
    const path = join(dir, file)
    await writeFile(path, text)
    const r = await runMgmt(['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', path])
    assert.equal(r.code, 0, `${file}: ${r.output}`)
    return r.output
  }
  await mgmt('user1.yaml')
  assert.equal((await passwd(renamed.testuser!))?.uid, uid)
  assert.equal((await passwd(renamed.testuser!))?.gid, gid100)
  await mgmt('group1.yaml')
  assert.equal((await groupOf(renamed.testgroup!))?.gid, gid)
  await run('groupdel', [renamed.testgroup!])
  await mgmt('autoedges4.yaml')
  const u2 = await passwd(renamed.edgeuser2!)
  assert.equal(u2?.gid, (await groupOf(renamed.edgegroup!))?.gid)
  assert.equal((await groupOf(renamed.edgegroup!))?.gid, gid)
  assert.deepEqual((await groupOf(renamed.edgegroup2!))?.members, [renamed.edgeuser2])
  assert.deepEqual((await groupOf(renamed.edgegroup3!))?.members, [renamed.edgeuser2])
})
