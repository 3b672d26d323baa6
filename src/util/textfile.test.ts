import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { inTempDir } from '../testing/tempdir.js'
import { readTextFile, TextFileError } from './textfile.js'

const refused = (why: RegExp) => (e: unknown) => e instanceof TextFileError && why.test(e.message)

test('a file is read whole up to the bound, and one byte more is refused', () =>
  inTempDir('textfile', async dir => {
    const file = join(dir, 'f')
    // Larger than one read of 64 KiB, so that the bound is met across reads.
    await writeFile(file, 'x'.repeat(200_000))
    assert.equal(readTextFile(file, 200_000).length, 200_000)
    assert.throws(() => readTextFile(file, 199_999), refused(/larger than 199999 bytes/))
  }))

test('a file whose size says 0 is read whole; a device is refused before it is read', () => {
  // /proc says 0 for its files, whatever they hold.
  assert.match(readTextFile('/proc/self/status'), /^Name:/)
  assert.throws(() => readTextFile('/dev/zero', 1 << 20), refused(/character device, not a regular file/))
})

test('a FIFO, a directory and a missing file are refused in words, at once', () =>
  inTempDir('textfile', async dir => {
    const fifo = join(dir, 'fifo')
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    assert.throws(() => readTextFile(fifo), refused(/^it is a FIFO, not a regular file$/))
    assert.throws(() => readTextFile(dir), refused(/^it is a directory, not a regular file$/))
    assert.throws(
      () => readTextFile(join(dir, 'none')),
      (e: unknown) => e instanceof TextFileError && e.code === 'ENOENT',
    )
  }))
