/**
 * Builds `dist/mgmt.mjs`: the whole `mgmt` command in one file that Node.js runs with nothing
 * beside it (`node dist/mgmt.mjs run ...`). It is what the `mgmt` command runs (`bin`, and
 * `dist/src/cli/main.js` loads it), and what remote execution copies to the hosts it configures.
 * `npm run build` runs this after `tsc`, from the compiled JavaScript, so the bundle holds exactly
 * the code the tests ran.
 *
 * A fast start: the program is esbuild's CommonJS output of `dist/src/cli/cli.js`, held in the file
 * as one string that a short ES module prologue compiles with `vm.Script`. That way it can use V8's
 * code cache (Node 20 has no cache for ES modules): `dist/mgmt.mjs.cache`, made here by a warm-up
 * run with this Node.js, holds the program's compiled code, so that a start neither parses 3 MB of
 * JavaScript nor compiles what a run uses. Its header names the program (a hash of it) and the
 * Node.js that made it: any other program or Node.js ignores it and compiles from the source (on
 * a remote host there is none). Modules load lazily (dynamic imports become lazily evaluated parts
 * of the one file): a run loads neither the language frontend, nor SSH, nor the etcd client. The
 * third-party packages that only some runs use (the etcd client, SSH, D-Bus, ...: two thirds of
 * the code) are not even in the program: they follow it in the file, each compiled from there when
 * first required (see PARTS), so a start reads, copies and holds 1 MB of text instead of 3.
 *
 * It builds `dist/lib.mjs` too, the library (`import { Graph, run } from 'mgmt'`) in one plain ES
 * module with its dependencies inside but zod, which the library's types name and custom kinds use:
 * so the package depends on zod alone, and installing it runs no install script (ssh2 and
 * protobufjs, inside the bundles, have some).
 *
 * What a single file needs beyond a plain esbuild bundle (each plugin below says why):
 * - modules loaded lazily with `createRequire(import.meta.url)(name)` are rewritten to `require(name)`,
 *   which esbuild bundles (and still evaluates only when first called);
 * - Node.js modules that only some runs use are loaded when first used;
 * - `import.meta.url` is the bundle's own URL, handed to the program by the prologue;
 * - the version comes from package.json at build time;
 * - optional parts stay out: ssh2's native helpers (its crypto binding, `cpu-features`; it falls
 *   back to pure JavaScript, as when npm skipped building them) and dbus-next's X11 lookup;
 * - `etcd3` reads `proto/rpc.proto` from disk when it loads: the file is parsed here and embedded.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BuildOptions, build, type Plugin } from 'esbuild'
import { convergedAfter, daemonCommand, startDaemon, statusLines, stopDaemon } from '../bench/daemon.js'
import { MALLOC_TRIM_ENV, mallocAssignments } from '../src/util/malloc.js'
import { V8_FLAGS } from '../src/util/v8flags.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** `createRequire(import.meta.url)('x')` → `require('x')`, which esbuild follows into the bundle. */
export const lazyRequire: Plugin = {
  name: 'lazy-require',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async args => {
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('createRequire(import.meta.url)(')) return undefined
      return {
        contents: text.replace(/createRequire\(import\.meta\.url\)\((['"][^'"]+['"])\)/g, 'require($1)'),
        loader: 'js',
      }
    })
  },
}

/**
 * Node.js modules that a start need not load: a run of files starts no process, hashes nothing,
 * times nothing and reads no line. Each is imported as an object of getters for its exports (as
 * this Node.js lists them) that loads the module when one is first read, where the import would
 * have loaded it (and what it loads: child_process brings net, dgram and streams) at start: 10 ms
 * of every start, profiled.
 */
export const lazyBuiltins: Plugin = {
  name: 'lazy-builtins',
  setup(b) {
    const filter =
      /^node:(child_process|crypto|dgram|net|perf_hooks|readline|stream\/promises|timers\/promises)$/
    b.onResolve({ filter }, args =>
      // The module's own require of the real one.
      args.namespace === 'lazy-builtin'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'lazy-builtin' },
    )
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, args => ({
      contents: lazyModule(args.path),
      loader: 'js',
    }))
  },
}

function lazyModule(id: string): string {
  const names = Object.keys(createRequire(import.meta.url)(id) as object)
  const getters = names.map(k => `get ${JSON.stringify(k)}() { return load()[${JSON.stringify(k)}] }`)
  return `let m; const load = () => (m ??= require(${JSON.stringify(id)}));\nmodule.exports = { ${getters.join(', ')} };\n`
}

/**
 * Optional native or desktop parts that the code runs without: ssh2's native helpers (required
 * inside try/catch), and dbus-next's X11 address lookup (only for a session bus found through an X
 * display, which a server never has). Left out of the bundle.
 */
export const optionalParts: Plugin = {
  name: 'optional-parts',
  setup(b) {
    b.onResolve({ filter: /^cpu-features$|^x11$|\.node$/ }, args => ({ path: args.path, external: true }))
  },
}

/**
 * etcd3 loads its gRPC service definitions with `loadSync(`${__dirname}/../proto/rpc.proto`, opts)`
 * when it is first imported. In the bundle there is no such file: the definitions are parsed here,
 * at build time, with the same protobufjs and options, and the call becomes
 * `fromJSON(<the parsed root>, opts)`. Inactive until etcd3 is a dependency.
 */
export const etcd3Protos: Plugin = {
  name: 'etcd3-protos',
  setup(b) {
    b.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async args => {
      const text = await readFile(args.path, 'utf8')
      const call = /\(0, (\w+)\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`,/
      const m = call.exec(text)
      if (!m)
        throw new Error(`${args.path}: no loadSync(rpc.proto) call; the etcd3-protos plugin needs updating`)
      const fromEtcd3 = createRequire(args.path)
      const protobuf = createRequire(fromEtcd3.resolve('@grpc/proto-loader'))('protobufjs') as {
        Root: new () => {
          loadSync(file: string, opts: { keepCase: boolean }): { toJSON(): unknown }
        }
      }
      const defs = new protobuf.Root().loadSync(join(dirname(args.path), '../proto/rpc.proto'), {
        keepCase: true,
      })
      return { contents: text.replace(call, `(0, ${m[1]}.fromJSON)(${JSON.stringify(defs.toJSON())},`) }
    })
  },
}

/**
 * Zod's messages in its other languages (300 KB of the program, 40-odd modules evaluated at each
 * start): mgmt speaks English, and `z.locales` holds `en` alone.
 */
export const englishOnly: Plugin = {
  name: 'english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";\n',
      loader: 'js',
    }))
  },
}

/**
 * The parts: third-party packages that only some runs use, each built on its own and kept after
 * the program, in the same file, out of the text a start reads. Our code's import of a package
 * becomes a require of its part (made once, by `partsLoader`), so the package keeps one instance
 * that every importer shares; packages imported together (etcd3 takes cockatiel's policies from
 * us) are in one part.
 */
export const PARTS: Readonly<Record<string, readonly string[]>> = {
  etcd: ['etcd3', 'cockatiel'],
  ssh: ['ssh2'],
  dbus: ['dbus-next'],
  metrics: ['prom-client'],
  re2: ['re2js'],
  yaml: ['yaml'],
}

/**
 * Where each part is in the file: its distance from the file's end and its length, in bytes, and
 * the sha256 of those bytes.
 */
type PartIndex = Record<string, readonly [number, number, string]>

/** The packages of PARTS, imported by our code, as requires of their parts. */
function partsOf(index: PartIndex): Plugin {
  const partOf = new Map(Object.entries(PARTS).flatMap(([part, pkgs]) => pkgs.map(p => [p, part] as const)))
  const filter = new RegExp(`^(${[...partOf.keys()].join('|')}|mgmt-parts)$`)
  return {
    name: 'parts',
    setup(b) {
      b.onResolve({ filter }, args => ({ path: args.path, namespace: 'mgmt-part' }))
      b.onLoad({ filter: /.*/, namespace: 'mgmt-part' }, args => ({
        contents:
          args.path === 'mgmt-parts'
            ? partsLoader(index)
            : `module.exports = require("mgmt-parts")(${JSON.stringify(partOf.get(args.path))})[${JSON.stringify(args.path)}];\n`,
        loader: 'js',
      }))
    },
  }
}

/**
 * The program's loader of parts: reads a part's bytes alone, at its distance from the end of the
 * file the program runs from (`__mgmtFd`, which the loader keeps open: a package upgrade that
 * renames a new file over it leaves this one readable), checks them against the build's hash (a
 * file rewritten in place is refused, never run), takes the text out of the line comments and
 * runs it as a CommonJS module, once.
 */
function partsLoader(index: PartIndex): string {
  return `const { fstatSync, readSync } = require("node:fs");
const { createHash } = require("node:crypto");
const { Script } = require("node:vm");
const index = ${JSON.stringify(index)};
const loaded = new Map();
module.exports = name => {
  let m = loaded.get(name);
  if (m) return m.exports;
  const [distance, length, sha256] = index[name];
  const bytes = fromEnd(__mgmtFd, distance, length);
  if (!bytes || createHash("sha256").update(bytes).digest("hex") !== sha256)
    throw new Error(\`\${__filename} was changed while mgmt ran: its part \${name} is not the one mgmt started with (restart mgmt)\`);
  m = { exports: {} };
  loaded.set(name, m);
  new Script(uncomment(bytes, 0), { filename: \`\${__filename}#\${name}\` }).runInThisContext()(m.exports, require, m, __filename, __dirname);
  return m.exports;
};
${READERS}
`
}

/**
 * What the loader (for the program) and the program (for its parts) both read with, in statements
 * that read right on one line too:
 * - `fromEnd(fd, distance, length, room)`: the `length` bytes that start `distance` bytes before
 *   the end of the open file `fd`, or undefined when the file is too short to hold them; in a
 *   buffer of at least `room` bytes (optional), which the caller may use again once done with them;
 * - `uncomment(bytes, from)`: text kept in line comments, out of them: from `from` (the first
 *   line's `//`) to the end of `bytes`, each line is moved down over the `//` that starts it, in
 *   the bytes as read, which then become the one string V8 compiles (a copy less than slicing and
 *   joining strings).
 */
const READERS = `function fromEnd(fd, distance, length, room = 0) {
  const at = fstatSync(fd).size - distance;
  const bytes = Buffer.allocUnsafe(Math.max(length, room)).subarray(0, length);
  return at >= 0 && readSync(fd, bytes, 0, length, at) === length ? bytes : undefined;
}
function uncomment(bytes, from) {
  from += 2;
  let to = 0;
  for (;;) {
    const nl = bytes.indexOf(10, from);
    const end = nl === -1 ? bytes.length : nl + 1;
    to += bytes.copy(bytes, to, from, end);
    if (end >= bytes.length) return bytes.latin1Slice(0, to);
    from = end + 2;
  }
}`

/** Text as lines behind `//`, as the file holds the program and its parts. */
function commented(text: string): string {
  if (/[\r\u2028\u2029]/.test(text))
    throw new Error('the code holds a line terminator other than \\n: it cannot be kept in line comments')
  return `//${text.split('\n').join('\n//')}\n`
}

/**
 * The file: a short ES module (what remote hosts run, `node mgmt.mjs`), then the program, each of
 * its lines behind `//`. Node.js skips comments at the speed it reads them, where a 3 MB string or
 * function would cost it a parse, so `mgmt --version` answers without touching the program. Any
 * other command reads the file, takes the program back from the comment and compiles it with the
 * code cache beside the file when that was made for it. With `MGMT_CODE_CACHE_OUT`, it writes the
 * cache of what the run compiled to that file as it exits (the build's warm-up).
 *
 * Run as a command, the file is a shell script first. Its second line sets glibc's malloc tuning
 * (src/util/malloc.ts), which must be in the environment as Node.js starts, and starts Node.js,
 * with V8's flags (src/util/v8flags.ts), on the same loader, given inline (`-e`, as a CommonJS script): then the file is read as the
 * program's text only, not also kept whole as a module's source (3 MB less resident). To
 * JavaScript, that line is a string and a comment.
 */
function bundleFile(id: string, version: string, program: string, parts: string): string {
  const text = commented(program)
  // One loader, in statements that also read right on one line (inline, it is in single quotes).
  const loader = (file: string): string => `const argv = process.argv;
if (argv.length === 3 && (argv[2] === "--version" || argv[2] === "-v")) {
  process.stdout.on("error", () => {});
  process.stdout.write("${version}\\n");
} else {
  const file = ${file};
  const module = { exports: {} };
  const url = pathToFileURL(file).href;
  /* Open for as long as the program runs: its parts are read from this file, even once another replaced it. */
  const fd = openSync(file, "r");
  compile(file, fd).runInThisContext()(module.exports, createRequire(url), module, file, file.slice(0, file.lastIndexOf("/")), url, fd);
  module.exports.runCli(argv);
}
/* In a function, so that the bytes of the file and of the cache go once compiled. The cache is read
   into the buffer the program was read into (the program is a string by then): on a machine where a
   page first touched is dear, 1 MB not taken anew. Its header is a multiple of 8 bytes long, so
   that the cache V8 is given is aligned as V8 wants it, which then reads it in place, uncopied. */
function compile(file, fd) {
  const h = \`mgmt-code-cache ${id} \${process.version} \${process.arch}\`;
  const header = Buffer.from(\`\${h.padEnd((h.length + 8 & ~7) - 1)}\\n\`);
  let cacheFd = -1;
  try {
    cacheFd = openSync(\`\${file}.cache\`, "r");
  } catch {}
  const room = cacheFd < 0 ? 0 : fstatSync(cacheFd).size;
  const marker = Buffer.from("\\n// MGMT-PROGRAM\\n");
  const bytes = programOf(file, fd, marker, room);
  const program = uncomment(bytes, marker.length);
  let cachedData;
  if (cacheFd >= 0) {
    try {
      const c = Buffer.from(bytes.buffer, bytes.byteOffset, room);
      if (readSync(cacheFd, c, 0, room, 0) === room && c.subarray(0, header.length).equals(header)) cachedData = c.subarray(header.length);
    } catch {}
    closeSync(cacheFd);
  }
  const script = new Script(program, { filename: file, cachedData });
  const out = process.env.MGMT_CODE_CACHE_OUT;
  if (out) process.once("exit", () => writeFileSync(out, Buffer.concat([header, script.createCachedData()])));
  return script;
}
/* The bytes of the program, in its line comments: its ${text.length} bytes, read alone, after the
   marker line and before the parts (${parts.length} bytes at its end), in a buffer of at least room
   bytes. A file of another size (cut short by a full disk, a download broken off) has no marker
   there: said as it is, never compiled. */
function programOf(file, fd, marker, room) {
  const bytes = fromEnd(fd, ${parts.length + text.length} + marker.length, marker.length + ${text.length}, room);
  if (!bytes || !bytes.subarray(0, marker.length).equals(marker)) {
    process.stderr.write(\`mgmt: \${file} is not whole (not as its build made it): install mgmt again\\n\`);
    process.exit(1);
  }
  return bytes;
}
${READERS}`
  const imports = `import { closeSync, fstatSync, openSync, readSync, realpathSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Script } from "node:vm";`
  // Inline, a CommonJS script: an ES module's import of node:fs would load fs's streams for its
  // namespace (5 ms of every start). The file is the one the shell ran (its real path, as Node.js
  // finds a module's).
  const requires = `const { closeSync, fstatSync, openSync, readSync, realpathSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");
const { Script } = require("node:vm");`
  const inline = `${requires}\n${loader('realpathSync(argv[1])')}`.replace(/\n\s*/g, ' ')
  if (inline.includes("'")) throw new Error('the inline loader holds a single quote')
  const prologue = `#!/bin/sh
':' //; [ -n "$${MALLOC_TRIM_ENV}" ] || export ${mallocAssignments()}; exec node ${V8_FLAGS.join(' ')} -e '${inline}' "$0" "$@"
// mgmt ${version}: the whole command in one file. The program follows, in line comments (the
// output of scripts/bundle.ts); it is compiled with the code cache beside this file when it was
// made for it. Run as a command, the file is a shell script first (its second line), which starts
// Node.js on this same loader, given inline (with require for import).
${imports}
${loader('fileURLToPath(import.meta.url)')}
// MGMT-PROGRAM
`
  return `${prologue}${text}${parts}`
}

/**
 * Runs of a small graph that compile what runs usually need, for the code cache: one from scratch
 * (the files are made), then a long-running one that finds them right, takes a live edit of its
 * graph file (saved by a rename, as editors do), applies it, and stops on SIGTERM, writing the
 * cache as it exits. So a start compiles neither the checks nor the first live edit's reload.
 */
async function warmUp(bundle: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mgmt-build-'))
  try {
    const g = join(dir, 'g.yaml')
    const graph = (edit: string): string => {
      const files = [0, 1, 2].map(
        i =>
          `  - name: f${i}\n    path: ${dir}/out/f${i}\n    state: exists\n    content: "${i}${i === 1 ? edit : ''}\\n"\n    mode: "0644"\n`,
      )
      return `graph: warm\nresources:\n  file:\n  - name: out\n    path: ${dir}/out/\n    state: exists\n    mode: "0755"\n${files.join('')}  noop:\n  - name: n\nedges: []\n`
    }
    writeFileSync(g, graph(''))
    // Under V8's flags, as the launcher starts it: Node.js 20 rejects a cache made under others.
    const args = [...V8_FLAGS, bundle, 'run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', g]
    execFileSync(process.execPath, args, { stdio: 'ignore' })
    // The bench's long-running engine: started, waited for and stopped (SIGTERM) the same way.
    const status = join(dir, 'status', 'converged')
    const node = {
      cmd: process.execPath,
      args: [...V8_FLAGS, bundle],
      env: { MGMT_CODE_CACHE_OUT: `${bundle}.cache` },
    }
    const d = startDaemon(daemonCommand(node, g, status), status, join(dir, 'warm-up.log'))
    try {
      await convergedAfter(d, 0, WARM_UP_MS)
      const before = statusLines(d).length
      writeFileSync(`${g}.new`, graph(' edited'))
      renameSync(`${g}.new`, g)
      await convergedAfter(d, before, WARM_UP_MS)
    } finally {
      await stopDaemon(d)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The longest wait for the warm-up run to converge, ms. */
const WARM_UP_MS = 60_000

async function main(): Promise<void> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }
  await bundleCommand(pkg.version)
  await bundleLibrary(pkg.version)
}

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [lazyRequire, lazyBuiltins, optionalParts, etcd3Protos, englishOnly],
}

/**
 * PARTS, each built on its own (CommonJS, its packages' exports by name), and the end of the file
 * that holds them: a line naming each, then its code behind `//`.
 */
async function bundleParts(): Promise<{ text: string; index: PartIndex }> {
  const codes: [string, string][] = []
  for (const [part, pkgs] of Object.entries(PARTS)) {
    const built = await build({
      ...common,
      stdin: {
        contents: `module.exports = { ${pkgs.map(p => `${JSON.stringify(p)}: require(${JSON.stringify(p)})`).join(', ')} };\n`,
        resolveDir: root,
        loader: 'js',
      },
      write: false,
      format: 'cjs',
      charset: 'ascii',
    })
    const code = `(function (exports, require, module, __filename, __dirname) {${built.outputFiles[0]!.text}\n})`
    codes.push([part, commented(code)])
  }
  const line = (part: string): string => `// MGMT-PART ${part}\n`
  const index: PartIndex = {}
  let fromEnd = 0
  for (const [part, code] of [...codes].reverse()) {
    fromEnd += code.length
    index[part] = [fromEnd, code.length, createHash('sha256').update(code, 'latin1').digest('hex')]
    fromEnd += line(part).length
  }
  return { text: codes.map(([part, code]) => line(part) + code).join(''), index }
}

/** `dist/mgmt.mjs` (the prologue and the program, see bundleFile) and its code cache. */
async function bundleCommand(version: string): Promise<void> {
  const outfile = join(root, 'dist', 'mgmt.mjs')
  const parts = await bundleParts()
  const built = await build({
    ...common,
    plugins: [...common.plugins!, partsOf(parts.index)],
    entryPoints: [join(root, 'dist', 'src', 'cli', 'cli.js')],
    write: false,
    format: 'cjs',
    charset: 'ascii',
    define: { MGMT_BUNDLED_VERSION: JSON.stringify(version), 'import.meta.url': '__mgmtUrl' },
  })
  const code = built.outputFiles[0]!.text
  const program = `(function (exports, require, module, __filename, __dirname, __mgmtUrl, __mgmtFd) {${code}\n})`
  const id = createHash('sha256').update(program).digest('hex').slice(0, 16)
  writeFileSync(outfile, bundleFile(id, version, program, parts.text), { mode: 0o755 })
  rmSync(`${outfile}.cache`, { force: true })
  await warmUp(outfile)
  process.stdout.write(`dist/mgmt.mjs: ${kib(outfile)}, its code cache: ${kib(`${outfile}.cache`)}\n`)
}

/** `dist/lib.mjs`: the library and everything it imports but zod, in one ES module. */
async function bundleLibrary(version: string): Promise<void> {
  const outfile = join(root, 'dist', 'lib.mjs')
  await build({
    ...common,
    entryPoints: [join(root, 'dist', 'src', 'index.js')],
    outfile,
    external: ['zod'],
    format: 'esm',
    // The CommonJS dependencies call `require` and read `__filename` and `__dirname`.
    banner: {
      js: [
        "import { createRequire as __mgmtCreateRequire } from 'node:module';",
        "import { fileURLToPath as __mgmtFileURLToPath } from 'node:url';",
        'const require = __mgmtCreateRequire(import.meta.url);',
        'const __filename = __mgmtFileURLToPath(import.meta.url);',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join('\n'),
    },
    define: { MGMT_BUNDLED_VERSION: JSON.stringify(version) },
  })
  process.stdout.write(`dist/lib.mjs: ${kib(outfile)}\n`)
}

const kib = (p: string): string => `${(statSync(p).size / 1024).toFixed(0)} KiB`

// Run by `npm run build`; imported (for its plugins) by nothing else in the build.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
