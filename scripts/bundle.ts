/**
 * Builds `dist/mgmt.mjs`: the whole `mgmt` command in one file that Node.js runs with nothing
 * beside it (`node dist/mgmt.mjs run ...`). Remote execution copies this file to the hosts it
 * configures, and the package's `mgmt` command is this file. `npm run build` runs this after `tsc`,
 * from the compiled JavaScript, so the bundle holds exactly the code the tests ran.
 *
 * It builds `dist/lib.mjs` too, the library (`import { Graph, run } from 'mgmt'`) in one file with
 * its dependencies inside but zod, which the library's types name and custom kinds use: so the
 * package depends on zod alone, and installing it runs no install script (ssh2 and protobufjs,
 * inside the bundles, have some).
 *
 * What a single file needs beyond a plain esbuild bundle (each plugin below says why):
 * - the CommonJS dependencies (commander, js-yaml, ssh2...) call `require` and may read
 *   `__dirname`: ESM output gets both in the banner;
 * - modules loaded lazily with `createRequire(import.meta.url)(name)` are rewritten to `require(name)`,
 *   which esbuild bundles (and still evaluates only when first called);
 * - the version comes from package.json at build time;
 * - optional parts stay out: ssh2's native helpers (its crypto binding, `cpu-features`; it falls
 *   back to pure JavaScript, as when npm skipped building them) and dbus-next's X11 lookup;
 * - `etcd3` reads `proto/rpc.proto` from disk when it loads: the file is parsed here and embedded.
 */
import { readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

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

async function main(): Promise<void> {
  await bundle(join(root, 'dist', 'src', 'cli', 'main.js'), join(root, 'dist', 'mgmt.mjs'))
  await bundle(join(root, 'dist', 'src', 'index.js'), join(root, 'dist', 'lib.mjs'), ['zod'])
}

/** `entry` and everything it imports but `external`, in one ES module. */
async function bundle(entry: string, outfile: string, external: string[] = []): Promise<void> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }
  await build({
    entryPoints: [entry],
    outfile,
    external,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
    banner: {
      js: [
        "import { createRequire as __mgmtCreateRequire } from 'node:module';",
        "import { fileURLToPath as __mgmtFileURLToPath } from 'node:url';",
        'const require = __mgmtCreateRequire(import.meta.url);',
        'const __filename = __mgmtFileURLToPath(import.meta.url);',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join('\n'),
    },
    define: { MGMT_BUNDLED_VERSION: JSON.stringify(pkg.version) },
    plugins: [lazyRequire, optionalParts, etcd3Protos],
  })
  const { size } = await stat(outfile)
  process.stdout.write(`dist/${outfile.split('/').at(-1)}: ${(size / 1024).toFixed(0)} KiB\n`)
}

// Run by `npm run build`; imported (for its plugins) by nothing else in the build.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
