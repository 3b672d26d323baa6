/**
 * The frontend of `mgmt run empty`: no graph of its own, but the newest deploy stored in the
 * world (`mgmt deploy`), followed live: each newer deploy is unpacked under
 * `<prefix>/deploy/<n>/` (its graph and the files it names) and applied as a graph diff. A deploy
 * that does not load is logged and skipped; the running graph stays.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, normalize, sep } from 'node:path'
import type { Compiled } from '../engine/compiled.js'
import { describeError, isMgmtError } from '../util/errors.js'
import type { Deploy, World } from '../world/world.js'
import { emptyGraph, type Frontend, type FrontendContext } from './frontend.js'
import { loadYaml } from './yaml/parse.js'

/** Deploys kept unpacked: the running one and the one before. */
const KEPT = 2

export function deployFrontend(): Frontend {
  return async ctx => {
    const { world, prefix } = ctx
    if (!world || !prefix) throw new Error('the deploy frontend needs a world and a prefix')
    const empty = emptyGraph(ctx)
    await untilReady(world, ctx.signal)
    const d = ctx.signal.aborted ? undefined : await newest(world, ctx)
    const first = (d && (await load(d, prefix, ctx))) ?? empty
    return { first, later: ctx.watch ? follow(ctx, world, prefix, d?.id ?? 0) : undefined }
  }
}

async function* follow(
  ctx: FrontendContext,
  world: World,
  prefix: string,
  from: number,
): AsyncGenerator<Compiled> {
  const { signal } = ctx
  let current = from
  let dirty = false
  let wake: (() => void) | undefined
  const poke = (): void => {
    dirty = true
    wake?.()
  }
  signal.addEventListener('abort', poke, { once: true })
  try {
    await world.deployWatch(signal, poke)
    for (;;) {
      while (!dirty) await new Promise<void>(r => (wake = r))
      dirty = false
      if (signal.aborted) return
      const d = await newest(world, ctx)
      if (!d || d.id <= current) continue
      current = d.id
      const g = await load(d, prefix, ctx)
      if (g) yield g
    }
  } finally {
    signal.removeEventListener('abort', poke)
  }
}

/** The newest deploy; undefined (logged) when there is none or it cannot be read. */
async function newest(world: World, ctx: FrontendContext): Promise<Deploy | undefined> {
  try {
    return await world.deployGet()
  } catch (err) {
    if (!ctx.signal.aborted) ctx.log.warn(`cannot read the newest deploy: ${describeError(err)}`)
    return undefined
  }
}

/** Unpacks and compiles a deploy; undefined (logged) when it does not load. */
async function load(d: Deploy, prefix: string, ctx: FrontendContext): Promise<Compiled | undefined> {
  try {
    if (d.frontend !== 'yaml') throw new Error(`its frontend \`${d.frontend}\` is not known here`)
    if (!Object.hasOwn(d.files, d.main)) throw new Error(`its graph file ${d.main} is not among its files`)
    const dir = join(prefix, 'deploy', String(d.id))
    await unpack(d, dir)
    const file = join(dir, d.main)
    const g = loadYaml(await readFile(file, 'utf8'), file, ctx.registry, ctx.compile)
    for (const m of g.messages) ctx.log.warn(m)
    ctx.log.info(`running deploy ${d.id} (graph \`${g.name}\`, made ${d.time})`)
    await rm(join(prefix, 'deploy', String(d.id - KEPT)), { recursive: true, force: true })
    return g
  } catch (err) {
    ctx.log.error(
      `deploy ${d.id} does not load${isMgmtError(err) ? `:\n${err.message}` : `: ${describeError(err)}`}\n  (keeping the running graph)`,
    )
    return undefined
  }
}

/** Writes a deploy's files under `dir`, refusing any path that would leave it. */
async function unpack(d: Deploy, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true, mode: 0o700 })
  for (const [rel, f] of Object.entries(d.files)) {
    const clean = normalize(rel)
    if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`))
      throw new Error(`it names a file outside its directory: ${rel}`)
    const path = join(dir, clean)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, Buffer.from(f.data, 'base64'), { mode: f.mode & 0o777 })
  }
}

/** Waits for the world; returns early when `signal` aborts. */
async function untilReady(world: World, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  let onAbort: (() => void) | undefined
  try {
    await Promise.race([
      world.ready(),
      new Promise<void>(resolve => {
        onAbort = resolve
        signal.addEventListener('abort', onAbort, { once: true })
      }),
    ])
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}
