import assert from 'node:assert/strict'
import { test } from 'node:test'
import { forgetMallocTuning, mallocAssignments } from './malloc.js'

test("mgmt's own malloc tuning leaves its environment; a user's own stays", () => {
  const ours: NodeJS.ProcessEnv = { PATH: '/bin' }
  for (const a of mallocAssignments().split(' ')) {
    const [k, v] = a.split('=')
    ours[k!] = v
  }
  forgetMallocTuning(ours)
  assert.deepEqual(ours, { PATH: '/bin' })
  const theirs: NodeJS.ProcessEnv = { MALLOC_TRIM_THRESHOLD_: '4096' }
  forgetMallocTuning(theirs)
  assert.deepEqual(theirs, { MALLOC_TRIM_THRESHOLD_: '4096' })
})
