/**
 * Questions at the terminal, for `--allow-interactive`: one at a time (hosts connect in parallel),
 * a secret answer read with echo off. `^C` or the end of input gives up on the question, and the
 * login goes on to its next method.
 */
import type { Prompter } from './auth.js'

interface TtyIn extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?(mode: boolean): unknown
}

export function terminalPrompter(
  input: TtyIn = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Prompter {
  let queue: Promise<unknown> = Promise.resolve()
  const ask = (question: string, secret: boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const raw = secret && typeof input.setRawMode === 'function'
      // Echo off before the question shows: an answer typed (or pasted) at once is not echoed.
      if (raw) input.setRawMode!(true)
      output.write(question)
      let answer = ''
      const finish = (err?: Error): void => {
        input.off('data', onData)
        input.off('end', onEnd)
        if (raw) input.setRawMode!(false)
        input.pause()
        output.write('\n')
        if (err) reject(err)
        else resolve(answer)
      }
      const onEnd = (): void => finish(new Error('no answer'))
      const onData = (chunk: Buffer | string): void => {
        for (const ch of chunk.toString()) {
          if (ch === '\r' || ch === '\n') {
            finish()
            return
          }
          if (ch === '\u0003' || ch === '\u0004') {
            finish(new Error('no answer'))
            return
          }
          if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1)
          else answer += ch
        }
      }
      input.on('data', onData)
      input.on('end', onEnd)
      input.resume()
    })
  return {
    ask(question, secret) {
      const next = queue.then(
        () => ask(question, secret),
        () => ask(question, secret),
      )
      queue = next.catch(() => undefined)
      return next
    },
  }
}
