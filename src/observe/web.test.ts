/**
 * The live web view in a real browser (headless Chromium, Debian `chromium`, driven by
 * playwright-core): it shows every vertex, follows a clobbered file through "changing" to
 * "converged", a graph change, and a failure with its error, and never a param value.
 *
 * With MGMT_SCREENSHOTS=DIR it also saves the page at desktop and phone widths into DIR (the
 * pictures in docs/ come from there).
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import { startMgmt } from '../testing/cli.js'

/** TESTING.md's flags for Chromium in a container, without a display. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let dir: string
let browser: Browser
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgmt-web-'))
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
})
after(async () => {
  await browser?.close()
  await rm(dir, { recursive: true, force: true })
})

const graph = (root: string, extra = '') => `graph: live
resources:
  file:
  - {name: f1, path: "${root}/f1", state: exists, content: "wanted\\n"}
  - {name: secret, path: "${root}/secret", state: exists, mode: "0600"}
  password:
  - {name: pw, length: 20}
  exec:
  - {name: bad, cmd: "echo no such thing >&2; exit 3", shell: /bin/sh, meta: {retry: 0}}
  noop:
  - {name: n1}${extra}
edges:
- {name: e1, from: {kind: file, name: f1}, to: {kind: noop, name: n1}, notify: true}
- {name: e2, from: {kind: password, name: pw}, to: {kind: file, name: secret}, send: password, recv: content}
`

/** The page's rows: data-id → data-state. */
const rows = async (page: Page): Promise<Record<string, string | null>> => {
  const out: Record<string, string | null> = {}
  for (const li of await page.$$('li.res'))
    out[(await li.getAttribute('data-id'))!] = await li.getAttribute('data-state')
  return out
}

const text = async (page: Page, selector: string): Promise<string> => (await page.textContent(selector)) ?? ''

test('the web view shows every vertex and follows a clobbered file from changing to converged', async t => {
  const root = await mkdtemp(join(dir, 'live-'))
  const yaml = join(root, 'graph.yaml')
  await writeFile(yaml, graph(root))
  const m = startMgmt(['run', '--tmp-prefix', '--http-listen', '127.0.0.1:0', 'yaml', yaml])
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
  const pageErrors: string[] = []
  page.on('pageerror', e => pageErrors.push(e.message))
  try {
    await m.waitFor(/web view on http:\/\/127\.0\.0\.1:\d+\//)
    const url = /web view on (\S+)/.exec(m.output())![1]!
    await m.waitFor(/converged: 5 resources/)
    await page.goto(url)
    await page.locator('li.res[data-state]').nth(4).waitFor()
    assert.deepEqual(await rows(page), {
      'file[f1]': 'converged',
      'file[secret]': 'converged',
      'password[pw]': 'converged',
      'exec[bad]': 'failed',
      'noop[n1]': 'converged',
    })
    assert.match(
      await text(page, '#failures'),
      /exec\[bad\] \(failed\)[\s\S]*exited with code 3: no such thing/,
    )
    assert.match(await text(page, '#edges'), /password\[pw\] → file\[secret\]password → content/)
    assert.equal(await text(page, '#status'), 'idle')

    // Every value the row takes, in order (a record's new value is the next one's old value);
    // `window.turned` resolves once it was "changing", then "converged". In-page code is text:
    // this project compiles without the DOM's types.
    await page.evaluate(`(() => {
      const li = document.querySelector('li.res[data-id="file[f1]"]')
      const seen = []
      window.turned = new Promise(resolve => new MutationObserver(records => {
        records.forEach((r, i) => seen.push(i + 1 < records.length ? records[i + 1].oldValue : li.dataset.state))
        const i = seen.indexOf('changing')
        if (i >= 0 && seen.indexOf('converged', i) > i) resolve(seen)
      }).observe(li, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true }))
    })()`)
    const clobbered = performance.now()
    await writeFile(join(root, 'f1'), 'clobbered\n')
    const seen = await Promise.race([
      page.evaluate('window.turned'),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('not changing, then converged, within 30 s')), 30_000),
      ),
    ])
    const ms = performance.now() - clobbered
    t.diagnostic(`states of file[f1] on the page: ${String(seen)}`)
    t.diagnostic(`clobber to "converged" on the page: ${ms.toFixed(0)} ms`)
    // Typically ~100 ms (50 ms of it the batching): said, not asserted, as a loaded machine takes
    // seconds (3,973 ms once, in a CI run beside other work), and a test asserts outcomes.
    assert.equal(await readFile(join(root, 'f1'), 'utf8'), 'wanted\n')
    await page.locator('#changes li', { hasText: 'file[f1]: watch event' }).first().waitFor()
    assert.match(await text(page, 'li.res[data-id="file[f1]"] .last'), /changed \d\d:\d\d:\d\d · watch event/)

    // A graph change reaches the open page, without a reload.
    await writeFile(yaml, graph(root, '\n  value:\n  - {name: v1, any: 42}'))
    await page.waitForSelector('li.res[data-id="value[v1]"][data-state=converged]')

    const password = await readFile(join(root, 'secret'), 'utf8')
    assert.equal(password.length, 20)
    const html = await page.content()
    const json = await (await fetch(`${url}graph.json`)).text()
    const dot = await (await fetch(`${url}graph.dot`)).text()
    for (const text of [html, json, dot]) assert.ok(!text.includes(password), 'the password is not shown')
    assert.ok(dot.includes('"value[v1]"'))

    const shots = process.env.MGMT_SCREENSHOTS
    if (shots) {
      await page.screenshot({ path: join(shots, 'web-view-desktop.png') })
      await page.setViewportSize({ width: 390, height: 844 })
      await page.screenshot({ path: join(shots, 'web-view-phone.png') })
    }
    assert.deepEqual(pageErrors, [])
  } finally {
    await page.close()
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 1, 'exec[bad] failed')
})

test('the web view answers loopback names only, and serves nothing else', async () => {
  const m = startMgmt(['run', '--tmp-prefix', '--http-listen', ':0', 'empty'])
  try {
    await m.waitFor(/web view on http:\/\/127\.0\.0\.1:\d+\//)
    const url = /web view on (\S+)/.exec(m.output())![1]!
    const page = await fetch(url)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; style-src 'sha256-/)
    assert.match(await page.text(), /<script>/)
    assert.equal((await fetch(`${url}nope`)).status, 404)
    assert.equal((await fetch(url, { method: 'POST' })).status, 405)
    // fetch() may not set Host; a raw request can.
    const { request } = await import('node:http')
    const status = await new Promise<number>((resolve, reject) =>
      request(url, { headers: { host: 'attacker.example:80' } }, res => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
        .on('error', reject)
        .end(),
    )
    assert.equal(status, 421)
  } finally {
    m.child.kill('SIGINT')
  }
  assert.equal(await m.exited, 0, m.output())
})
