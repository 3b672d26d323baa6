/**
 * The password → file example, written with the library API. Run it (after `npm ci`) with:
 *
 *   node dist/examples/lib/password-file.js [DIR]
 *
 * A generated password becomes the content of DIR/password (send/recv); the file's change notifies
 * a noop. The run ends once everything is converged.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Graph, run } from 'mgmt'

const dir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'mgmt-example-')))

const g = new Graph('password-file')
const password = g.add('password', 'password1', { length: 16 })
const file = g.add('file', 'file1', { path: join(dir, 'password'), state: 'exists', mode: '0600' })
const noop = g.add('noop', 'noop1')
g.sendRecv(password, 'password', file, 'content')
g.notify(file, noop)

const result = await run(g, { convergedTimeout: 0, prefix: join(dir, '.mgmt') })
console.log(`${join(dir, 'password')}: ${result.changed} changed, ${result.failed.length} failed`)
process.exitCode = result.failed.length ? 1 : 0
