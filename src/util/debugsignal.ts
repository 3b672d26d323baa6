/**
 * SIGUSR1 makes Node.js open its debugger, on loopback and without any authentication: any local
 * user who reaches it runs code as this process, root for mgmt. A signal meant for another daemon
 * (a `kill -USR1` in a log rotation script, a `killall -USR1 node`) must not open that door.
 *
 * A listener of its own takes the signal from Node.js's debugger (the listener's handler replaces
 * the one that would start it, on every version from 20 on): the signal is said, and ignored.
 */
export function refuseDebugSignal(say: (line: string) => void): void {
  process.on('SIGUSR1', () =>
    say(
      "SIGUSR1 ignored: it would open Node.js's debugger, which lets any local user run code as this process",
    ),
  )
}
