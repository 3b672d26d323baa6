/**
 * Watching the mount table at one mount point, for the `mount` kind's watch.
 *
 * The kernel marks `/proc/self/mountinfo` with POLLPRI whenever the mount table changes, relative
 * to the moment the file was opened. Node.js cannot wait for POLLPRI, so a small watcher process
 * does: a Perl program (perl-base is part of every Debian system) that opens the file, reads its
 * starting point, says `ready`, and then prints a line each time the entries at the mount point
 * change. Every change made after `ready` is reported, so a check made after it misses nothing.
 *
 * Without Perl, `findmnt --poll` watches instead. It gives no sign of when it has read its
 * starting point, so a change made in its first milliseconds can go unreported.
 */
import { which } from '../../util/which.js'
import { type Command, type CommandResult, startCommand } from '../exec/run.js'

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin'

/**
 * The watcher, given the mount point as its argument: it compares the lines of the mount table
 * whose mount point (octal escapes decoded) is that one, so other mounts never wake the resource.
 * select()'s exception set is the kernel's POLLPRI.
 */
const WATCHER = String.raw`
my $mp = shift;
open(my $f, '<', '/proc/self/mountinfo') or die "/proc/self/mountinfo: $!\n";
sub at {
  seek($f, 0, 0) or die "/proc/self/mountinfo: $!\n";
  local $/;
  my $t = <$f>;
  join "\n", grep { my @x = split / /; (($x[4] // '') =~ s/\\([0-7]{3})/chr oct $1/ger) eq $mp } split /\n/, $t;
}
my $last = at();
$| = 1;
print "ready\n";
for (;;) {
  my $e = '';
  vec($e, fileno $f, 1) = 1;
  select(undef, undef, $e, undef) >= 0 or die "select: $!\n";
  my $now = at();
  if ($now ne $last) { $last = $now; print "changed\n" }
}
`

/** A running watch of the mount table. */
export interface TableWatch {
  /** The watcher's program, for logs. */
  readonly display: string
  /** Settles when the watcher exits (it only does when stopped or broken). */
  readonly done: Promise<CommandResult>
}

/**
 * Starts watching the entries at `mp`; resolves once every later change will reach `onChange`.
 * Rejects when no watcher can start, or when it exits before it is ready. `perl: false` makes it
 * use findmnt even where Perl is installed.
 */
export async function watchTable(
  mp: string,
  signal: AbortSignal,
  onChange: () => void,
  opts: { readonly perl?: boolean } = {},
): Promise<TableWatch> {
  const env = { PATH, LC_ALL: 'C' }
  const perl = opts.perl ?? (await which('perl', PATH)) !== undefined
  if (!perl) {
    const cmd: Command = {
      display: `findmnt --poll --mountpoint ${mp}`,
      file: 'findmnt',
      args: ['--poll', '--noheadings', '--mountpoint', mp],
      env,
    }
    const running = await startCommand(cmd, { signal, collect: false, onLine: onChange })
    return { display: cmd.display, done: running.done }
  }
  const cmd: Command = {
    display: `perl (mount table at ${mp})`,
    file: 'perl',
    args: ['-e', WATCHER, '--', mp],
    env,
  }
  let ready!: () => void
  const isReady = new Promise<void>(resolve => (ready = resolve))
  let started = false
  const running = await startCommand(cmd, {
    signal,
    collect: false,
    onLine: (line, stream) => {
      if (stream === 'stderr') return
      if (started) onChange()
      else if (line === 'ready') {
        started = true
        ready()
      }
    },
  })
  const ended = running.done.then(r => {
    if (started || r.aborted) return
    throw new Error(
      `${cmd.display} exited before it was ready (${r.exitCode ?? r.signal}): ${r.stderr.trim()}`,
    )
  })
  await Promise.race([isReady, ended])
  return { display: cmd.display, done: running.done }
}
