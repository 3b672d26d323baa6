/**
 * A test's deadline that does not outrun its own input. A machine that was paused (a virtual
 * machine held by its host, a process stopped for a while) runs every due timer first when it runs
 * again: the event loop's timer phase comes before its poll phase, which reads the output and
 * events that arrived meanwhile. A wait would then fail with its answer already in the pipe.
 * `expire` runs one turn later (setImmediate, after the poll phase), once what arrived was seen.
 */
export function deadline(ms: number, expire: () => void): { cancel(): void } {
  let turn: NodeJS.Immediate | undefined
  const timer = setTimeout(() => {
    turn = setImmediate(expire)
  }, ms)
  return {
    cancel() {
      clearTimeout(timer)
      if (turn) clearImmediate(turn)
    },
  }
}
