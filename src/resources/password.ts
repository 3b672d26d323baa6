/**
 * `password`: generates a random password, keeps it, and sends it as `password` to receivers
 * (a file's content, a user's password, ...). It is regenerated on a notification, when its token
 * is missing or empty, when `length` was changed (a rotation, logged: the state file `length` says
 * which length the token was made for), and, with `check_recovery`, when the token is corrupt.
 *
 * The token is the state file `password`, mode 0600 in a 0700 directory, replaced atomically. It always
 * holds the cleartext, `saved` or not: a password is configured into other things (a service, a
 * database user), so it must be the same after a restart of the engine, and the only way to give
 * the same one back is to keep it. mgmt without `saved` keeps an empty token and the password in
 * memory only, so after a restart it has nothing to send. `saved` is accepted for its YAML files,
 * and changes nothing. To get a new password, notify the resource or delete its token.
 */
import { randomBytes } from 'node:crypto'
import { chmod, stat } from 'node:fs/promises'
import { z } from 'zod'
import { defineResource, type StateFiles, untilAborted } from '../engine/resource.js'

/** The characters of a password. */
export const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const TOKEN_MODE = 0o600

/** Params of `password`. Keys are the YAML names, verbatim. */
export const PasswordParams = z
  .object({
    /** How many characters. */
    length: z.number().int().positive().max(65535).default(64),
    /** Keep the cleartext in the state directory. It is always kept (see above): accepted, no effect. */
    saved: z.boolean().default(false),
    /** Regenerate a corrupt token (wrong length or characters) instead of failing. */
    check_recovery: z.boolean().default(false),
  })
  .strict()

/** A password of `length` characters of ALPHABET, unbiased: bytes past the last full round are dropped. */
export function generatePassword(length: number): string {
  const limit = 256 - (256 % ALPHABET.length)
  let out = ''
  while (out.length < length) {
    for (const b of randomBytes(length - out.length + 16)) {
      if (b >= limit) continue
      out += ALPHABET[b % ALPHABET.length]
      if (out.length === length) break
    }
  }
  return out
}

/** What is wrong with a stored password, or undefined when it is a valid one of `length`. */
export function tokenProblem(value: string, length: number): string | undefined {
  if (value.length !== length) return `the stored password has ${value.length} characters, not ${length}`
  for (const c of value) if (!ALPHABET.includes(c)) return 'the stored password has an invalid character'
  return undefined
}

/** A token as read from disk. */
export type Token =
  | { readonly state: 'ok'; readonly password: string }
  | { readonly state: 'missing' | 'corrupt'; readonly reason: string }
  /** A valid password made for another `length`: the param was changed, so it is rotated. */
  | { readonly state: 'resized'; readonly reason: string; readonly password: string }

const TOKEN = 'password'
/** The length the token was generated for. */
const LENGTH = 'length'

/** Reads the token and checks it against `length`. */
export async function readToken(state: StateFiles, length: number): Promise<Token> {
  const text = await state.read(TOKEN)
  if (text === undefined) return { state: 'missing', reason: 'no token' }
  const password = text.endsWith('\n') ? text.slice(0, -1) : text
  if (password === '') return { state: 'missing', reason: 'the token is empty' }
  const problem = tokenProblem(password, length)
  if (problem && password.length !== length) {
    const madeFor = Number((await state.read(LENGTH))?.trim())
    if (madeFor === password.length && tokenProblem(password, madeFor) === undefined)
      return {
        state: 'resized',
        reason: `\`length\` changed from ${madeFor} to ${length}: rotating it`,
        password,
      }
  }
  return problem ? { state: 'corrupt', reason: problem } : { state: 'ok', password }
}

/** Replaces the token atomically, mode 0600. */
export async function writeToken(state: StateFiles, password: string): Promise<void> {
  await state.write(LENGTH, `${password.length}\n`, TOKEN_MODE)
  await state.write(TOKEN, `${password}\n`, TOKEN_MODE)
}

export const password = defineResource({
  kind: 'password',
  params: PasswordParams,
  traits: { refreshable: true },
  sends: { password: z.string() },
  /** A secret: never shown, and receivers' logs hide it too (see the contract). */
  sensitive: ['password'],
  async init(params, ctx) {
    const file = await ctx.state.path(TOKEN)
    if (ctx.debug) ctx.log.debug(`token: ${file}`)

    /** Why a new password is needed, or undefined; throws on a corrupt token without recovery. */
    const needNew = (token: Token, refresh: boolean): string | undefined => {
      if (refresh) return 'notified'
      if (token.state === 'ok') return undefined
      if (token.state === 'corrupt' && !params.check_recovery)
        throw new Error(`${file}: ${token.reason} (set check_recovery to regenerate it, or notify)`)
      return token.reason
    }

    /** The token's mode is 0600; returns true when it already was. */
    const checkMode = async (apply: boolean): Promise<boolean> => {
      const mode = (await stat(file)).mode & 0o7777
      if (mode === TOKEN_MODE) return true
      ctx.log.info(`${apply ? 'setting' : 'would set'} the token's mode ${mode.toString(8)} to 0600`)
      if (apply) await chmod(file, TOKEN_MODE)
      return false
    }

    return {
      async watch(signal) {
        await ctx.watchPath(file, signal, () => ctx.event())
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(apply) {
        const token = await readToken(ctx.state, params.length)
        const why = needNew(token, ctx.refresh())
        if (why === undefined && token.state === 'ok') {
          const ok = await checkMode(apply)
          ctx.send({ password: token.password })
          return ok
        }
        if (!apply) {
          ctx.log.info(`would generate a new password (not shown) (${why})`)
          if (token.state === 'ok' || token.state === 'resized') ctx.send({ password: token.password })
          return false
        }
        const fresh = generatePassword(params.length)
        await writeToken(ctx.state, fresh)
        ctx.log.info(`generated a new password (${why})`)
        ctx.send({ password: fresh })
        return false
      },
    }
  },
})
