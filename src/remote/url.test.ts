import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatRemote, maskPassword, parseRemoteUrl } from './url.js'

const me = () => 'alice'

test('a remote URL: user, password, host and port, with the defaults of ssh', () => {
  assert.deepEqual(parseRemoteUrl('ssh://root:s%40cret@h1:2222', me), {
    user: 'root',
    password: 's@cret',
    host: 'h1',
    port: 2222,
  })
  assert.deepEqual(parseRemoteUrl('ssh://h1', me), { user: 'alice', host: 'h1', port: 22 })
  assert.deepEqual(parseRemoteUrl('bob@10.0.0.1', me), { user: 'bob', host: '10.0.0.1', port: 22 })
  assert.deepEqual(parseRemoteUrl('ssh://bob@[fd00::1]:22/', me), { user: 'bob', host: 'fd00::1', port: 22 })
  assert.equal(formatRemote(parseRemoteUrl('ssh://bob:pw@[fd00::1]:2200', me)), 'bob@[fd00::1]:2200')
})

test('a bad remote URL says what is wrong, never the password', () => {
  for (const [url, re] of [
    ['http://u@h', /unsupported scheme `http`/],
    ['ssh://u:pw@h/path', /no path/],
    ['ssh://u:pw@h:99999', /not a URL|out of range/],
    ['ssh://u:%zz@h', /percent-encoded/],
    ['ssh://', /not a URL|no host/],
  ] as const) {
    assert.throws(
      () => parseRemoteUrl(url, me),
      (e: Error) => re.test(e.message) && !e.message.includes('pw'),
    )
  }
})

test('maskPassword keeps the length and hides the password', () => {
  assert.equal(maskPassword('ssh://root:secret@h:22'), 'ssh://root:******@h:22')
  assert.equal(maskPassword('root:pw@h'), 'root:**@h')
  assert.equal(maskPassword('ssh://root@h'), 'ssh://root@h')
})
