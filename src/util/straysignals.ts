/**
 * Signals that mean nothing to mgmt, and that Node.js would act on: each is said, and ignored.
 *
 * - SIGUSR1 makes Node.js open its debugger, on loopback and without any authentication: any local
 *   user who reaches it runs code as this process, root for mgmt. A signal meant for another daemon
 *   (a `kill -USR1` in a log rotation script, a `killall -USR1 node`) must not open that door.
 * - SIGUSR2 ends a Node.js process at once by default, without the orderly stop of SIGINT or
 *   SIGTERM: running commands cut off, the converged state never said. It is what nodemon sends to
 *   restart its program, and what a `killall -USR2 node` meant for another one sends.
 *
 * A listener of its own takes each signal from Node.js (the listener's handler replaces the
 * debugger's, and the default action, on every version from 20 on).
 */
export function ignoreStraySignals(say: (line: string) => void): void {
  process.on('SIGUSR1', () =>
    say(
      "SIGUSR1 ignored: it would open Node.js's debugger, which lets any local user run code as this process",
    ),
  )
  process.on('SIGUSR2', () => say('SIGUSR2 ignored: it means nothing to mgmt (SIGINT or SIGTERM stops it)'))
}
