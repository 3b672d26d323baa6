/**
 * V8's settings for the command, given on the command line that starts Node.js: V8 reads the size
 * of its young generation once, as it sets up the heap, so they cannot be set from JavaScript.
 *
 * `--max-semi-space-size=2` (MB): V8 grows the young generation while scavenges see many
 * survivors, which a first converge does (it keeps most of what it makes: workers, contexts,
 * watches), up to two semi-spaces of 16 MB under Node.js 24. Those 32 MB were most of a
 * long-running engine's peak over its settled memory at 1,000 files. Capped at 2 MB, the peak is
 * about 18 MiB lower, and a one-shot run takes no longer (docs/benchmarks.md, the eighth pass).
 *
 * The command's launcher (the `#!/bin/sh` line of `dist/mgmt.mjs`), the build's warm-up that makes
 * its code cache, and a remote host's command line all start Node.js with these flags. Node.js 20
 * keys its code cache on them too: the cache is made and read under the same flags.
 */
export const V8_FLAGS: readonly string[] = ['--max-semi-space-size=2']
