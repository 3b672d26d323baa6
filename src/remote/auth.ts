/**
 * How we log in to a remote host, in order: the URL's password; each private key (`--ssh-key`, else
 * `~/.ssh/id_ed25519` and `~/.ssh/id_rsa` when they exist); the SSH agent (`SSH_AUTH_SOCK`); and,
 * with `--allow-interactive` on a terminal, a password typed at a prompt (also answering
 * keyboard-interactive prompts), three tries. Each step is skipped when the server no longer offers
 * its method. The labels of what was tried go into the error when all of them fail.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import ssh2, { type AnyAuthMethod, type AuthenticationType, type AuthHandlerMiddleware } from 'ssh2'
import { describeError, errCode, MgmtError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { RemoteUrl } from './url.js'

/** Asks the person at the terminal; answers to secret questions are not echoed. */
export interface Prompter {
  ask(question: string, secret: boolean): Promise<string>
}

export interface Credentials {
  /** Private keys, read once for every host: label (the path as given) and contents. */
  readonly keys: readonly { readonly label: string; readonly key: Buffer }[]
  /** The agent's socket. */
  readonly agent?: string
  /** Set with `--allow-interactive` when there is a terminal. */
  readonly prompter?: Prompter
}

const PROMPT_TRIES = 3

/**
 * Reads the private keys: `explicit` must be readable (ERR_FILE_READ); the default ones are used
 * when present. An encrypted key cannot be used without its passphrase: it is skipped with a
 * warning (load it into the agent).
 */
export async function loadCredentials(opts: {
  explicit?: string
  home: string
  agent?: string
  prompter?: Prompter
  log: Logger
}): Promise<Credentials> {
  const paths = opts.explicit
    ? [opts.explicit]
    : [join(opts.home, '.ssh', 'id_ed25519'), join(opts.home, '.ssh', 'id_rsa')]
  const keys: { label: string; key: Buffer }[] = []
  for (const path of paths) {
    let key: Buffer
    try {
      key = await readFile(path)
    } catch (err) {
      if (!opts.explicit && errCode(err) === 'ENOENT') continue
      throw new MgmtError('ERR_FILE_READ', { file: path, reason: describeError(err) }, { cause: err })
    }
    const parsed = ssh2.utils.parseKey(key)
    if (parsed instanceof Error) {
      opts.log.warn(
        `${path}: ${/encrypted|passphrase/i.test(parsed.message) ? 'encrypted: add it to the SSH agent (ssh-add) to use it' : parsed.message}; not used`,
      )
      continue
    }
    keys.push({ label: path, key })
  }
  return {
    keys,
    ...(opts.agent ? { agent: opts.agent } : {}),
    ...(opts.prompter ? { prompter: opts.prompter } : {}),
  }
}

interface Step {
  readonly label: string
  readonly method: AuthenticationType
  /** The attempt, or undefined to skip it. */
  make(): Promise<AnyAuthMethod | undefined>
}

/** The steps for one host, in order. */
function steps(target: RemoteUrl, creds: Credentials): Step[] {
  const username = target.user
  const out: Step[] = []
  if (target.password !== undefined) {
    const password = target.password
    out.push({
      label: 'the password in the URL',
      method: 'password',
      make: async () => ({ type: 'password', username, password }),
    })
  }
  for (const k of creds.keys)
    out.push({
      label: `key ${k.label}`,
      method: 'publickey',
      make: async () => ({ type: 'publickey', username, key: k.key }),
    })
  if (creds.agent) {
    const agent = creds.agent
    out.push({
      label: 'the SSH agent',
      method: 'agent',
      make: async () => ({ type: 'agent', username, agent }),
    })
  }
  const prompter = creds.prompter
  if (prompter) {
    const who = `${username}@${target.host}`
    for (let i = 0; i < PROMPT_TRIES; i++)
      out.push({
        label: 'a password typed at the prompt',
        method: 'password',
        make: async () => ({
          type: 'password',
          username,
          password: await prompter.ask(`password for ${who}: `, true),
        }),
      })
    out.push({
      label: 'keyboard-interactive prompts',
      method: 'keyboard-interactive',
      make: async () => ({
        type: 'keyboard-interactive',
        username,
        prompt: (_name, instructions, _lang, prompts, finish) => {
          void (async () => {
            const answers: string[] = []
            for (const p of prompts)
              answers.push(
                await prompter.ask(`${who}: ${instructions ? `${instructions} ` : ''}${p.prompt}`, !p.echo),
              )
            finish(answers)
          })()
        },
      }),
    })
  }
  return out
}

/** ssh2's `authHandler`: the next step the server still accepts; `tried` collects the labels. */
export function authHandler(target: RemoteUrl, creds: Credentials, tried: string[]): AuthHandlerMiddleware {
  const queue = steps(target, creds)
  return (methodsLeft, _partial, next) => {
    void (async () => {
      for (;;) {
        const step = queue.shift()
        // ssh2 takes `false` for "no more methods"; its types do not say so.
        if (!step) return next(false as unknown as AuthenticationType)
        // The agent signs with public keys; the server names that method `publickey`.
        const wire = step.method === 'agent' ? 'publickey' : step.method
        if (methodsLeft && !methodsLeft.includes(wire)) continue
        const attempt = await step.make().catch(() => undefined)
        if (!attempt) continue
        if (!tried.includes(step.label)) tried.push(step.label)
        return next(attempt)
      }
    })()
  }
}
