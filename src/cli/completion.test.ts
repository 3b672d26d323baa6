import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { runMgmt } from '../testing/cli.js'
import { program } from './program.js'

/** What bash offers after `words` (the last one being completed), through the real script. */
function bashComplete(script: string, words: string[]): string[] {
  const line = words.map(w => `'${w}'`).join(' ')
  const out = execFileSync(
    'bash',
    [
      '-c',
      `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _mgmt; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  )
  return out.split('\n').filter(Boolean)
}

test('bash completion offers subcommands, flags and a flag’s choices', async () => {
  const r = await runMgmt(['completion', 'bash'])
  assert.equal(r.code, 0)
  assert.deepEqual(bashComplete(r.output, ['mgmt', 'r']), ['run'])
  const no = bashComplete(r.output, ['mgmt', 'run', '--no'])
  assert.ok(no.includes('--no-watch') && no.includes('--noop'), no.join(' '))
  assert.ok(
    no.every(w => w.startsWith('--no')),
    no.join(' '),
  )
  assert.deepEqual(bashComplete(r.output, ['mgmt', 'run', '--log-format', '']), ['text', 'json'])
  assert.deepEqual(bashComplete(r.output, ['mgmt', 'run', '--noop', 'y']), ['yaml'])
  assert.deepEqual(bashComplete(r.output, ['mgmt', 'completion', 'f']), ['fish'])
})

test('zsh and fish completion scripts name every run flag; an unknown shell is a usage error', async () => {
  const run = program().commands.find(c => c.name() === 'run')!
  const fish = (await runMgmt(['completion', 'fish'])).output
  // Hidden options (--depth, internal to remote execution) are left out on purpose.
  const shown = run.options.filter(o => !o.hidden)
  for (const o of shown) assert.ok(fish.includes(`-l ${o.long!.slice(2)}`), `fish: ${o.long}`)
  const zsh = (await runMgmt(['completion', 'zsh'])).output
  assert.match(zsh, /^#compdef mgmt/)
  for (const o of shown) assert.ok(zsh.includes(o.long!), `zsh: ${o.long}`)
  assert.equal((await runMgmt(['completion', 'tcsh'])).code, 2)
})

test('the man page documents every run flag and renders without warnings', async () => {
  const r = await runMgmt(['manpage'])
  assert.equal(r.code, 0)
  const run = program().commands.find(c => c.name() === 'run')!
  for (const o of run.options.filter(o => !o.hidden))
    assert.ok(r.output.includes(o.long!.replace(/-/g, '\\-')), o.long)
  const g = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: r.output, encoding: 'utf8' })
  if (g.error) return // no groff on this machine: the content checks above still ran
  assert.equal(g.stderr, '')
  assert.equal(g.status, 0)
})
