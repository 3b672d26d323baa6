import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultMeta, META_KEYS, metaParams } from './metaparams.js'

test('the defaults written out are the ones the schema gives, and the names are its keys', () => {
  assert.deepEqual(defaultMeta, metaParams().parse({}))
  assert.deepEqual([...META_KEYS].sort(), Object.keys(metaParams().shape).sort())
  assert.ok(Object.isFrozen(defaultMeta))
})

test('the schema is built once, on first use', () => {
  assert.equal(metaParams(), metaParams())
  assert.deepEqual(metaParams().parse({ retry: 3, sema: ['db'] }), { ...defaultMeta, retry: 3, sema: ['db'] })
  assert.equal(metaParams().safeParse({ bogus: true }).success, false)
})
