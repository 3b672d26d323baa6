/**
 * `mount`: a file system, by its mount point (the resource's name): its `/etc/fstab` entry and
 * whether it is mounted. With systemd on the system bus it mounts and unmounts through the
 * mount unit systemd makes from fstab (after a daemon-reload); without, with mount(8) and
 * umount(8). An image file as the device is mounted through a loop device.
 *
 * It watches `/etc/fstab` and the mount table at its mount point (`mount/table.ts`): an entry
 * edited or a file system unmounted by hand is repaired at once.
 */
import { execFile } from 'node:child_process'
import { lstat, readFile } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import { z } from 'zod'
import { defineResource, type ResourceContext } from '../engine/resource.js'
import type { Issue } from '../util/errors.js'
import { writeAtomic } from './file/atomic.js'
import { type FstabEntry, hasExactly, mountPoint, replaceEntry } from './mount/fstab.js'
import { fromDevice, mountUnitName, readMounts } from './mount/mounts.js'
import { type TableWatch, watchTable } from './mount/table.js'
import { Systemd } from './systemd/manager.js'

const FSTAB = '/etc/fstab'

/** Params of `mount`. Keys are the YAML names, verbatim. */
export const MountParams = z
  .object({
    /** `exists` (in fstab and mounted) or `absent` (neither). */
    state: z.enum(['exists', 'absent']),
    /** What to mount: a device, `UUID=...`, `LABEL=...`, or an image file. */
    device: z.string().default(''),
    /** The file system type (`ext4`, `xfs`, `tmpfs`, ...). */
    type: z.string().default(''),
    /** Mount options: name → value ('' for a flag). */
    options: z
      .record(z.string(), z.union([z.string(), z.number()]).transform(String))
      .default({ defaults: '' }),
    /** dump's frequency (fstab's fifth field). */
    freq: z.number().int().min(0).default(0),
    /** fsck's order at boot (fstab's sixth field). */
    passno: z.number().int().min(0).default(0),
  })
  .strict()

export type MountParams = z.output<typeof MountParams>

function validateMount(p: Readonly<MountParams>, name: string): Issue[] {
  const issues: Issue[] = []
  if (!isAbsolute(name) || name.includes('//'))
    issues.push({ path: ['name'], message: 'the name is the mount point: an absolute path' })
  if (p.state === 'exists') {
    if (!p.device) issues.push({ path: ['device'], message: 'a device is needed with `state: exists`' })
    if (!p.type) issues.push({ path: ['type'], message: 'a type is needed with `state: exists`' })
  }
  for (const k of ['device', 'type'] as const)
    if (/[\s#]/.test(p[k])) issues.push({ path: [k], message: 'cannot contain spaces or `#`' })
  for (const [k, v] of Object.entries(p.options))
    if (/[\s,=#]/.test(k) || /[\s,#]/.test(v))
      issues.push({ path: ['options', k], message: 'cannot contain spaces, `,` or `#`' })
  return issues
}

export const mount = defineResource({
  kind: 'mount',
  params: MountParams,
  validate: validateMount,
  uids: (_p, name) => [`mount:${mountPoint(name)}`],
  /** The directory it is mounted on, when a file resource makes it, comes first. */
  autoEdges: (_p, name) => [[`file:${mountPoint(name)}/`]],
  init(p, ctx) {
    const mp = mountPoint(ctx.name)
    const entry: FstabEntry = {
      spec: p.device,
      file: mp,
      vfstype: p.type,
      options: p.options,
      freq: p.freq,
      passno: p.passno,
    }
    let tool: Promise<Mounter> | undefined
    const mounter = (): Promise<Mounter> => {
      tool ??= chooseMounter(mp, ctx).catch(e => {
        tool = undefined
        throw e
      })
      return tool
    }
    return {
      watch: signal => watchMount(mp, ctx, signal),
      async checkApply(apply, signal) {
        const m = await mounter()
        if (p.state === 'absent') {
          // Both sub-checks run: a check converges in one call (unmounted and out of fstab).
          const unmounted = await checkMounted(mp, p, m, ctx, apply, signal)
          const removed = await checkFstab(mp, undefined, m, ctx, apply)
          return unmounted && removed
        }
        const st = await lstat(mp).catch(() => undefined)
        if (!st?.isDirectory()) throw new Error(`the mount point ${mp} is not a directory`)
        const fstabOk = await checkFstab(mp, entry, m, ctx, apply)
        return (await checkMounted(mp, p, m, ctx, apply, signal)) && fstabOk
      },
      async cleanup() {
        ;(await tool?.catch(() => undefined))?.close()
      },
    }
  },
})

/** How a mount point is mounted and unmounted: through systemd's mount unit, or mount(8). */
interface Mounter {
  /** fstab changed: let systemd regenerate its mount units. */
  reload(): Promise<void>
  mount(signal: AbortSignal): Promise<void>
  unmount(signal: AbortSignal): Promise<void>
  close(): void
}

async function chooseMounter(mp: string, ctx: ResourceContext): Promise<Mounter> {
  try {
    const sd = await Systemd.connect(false)
    const unit = mountUnitName(mp)
    ctx.log.info(`mounting through systemd (${unit})`)
    return {
      reload: () => sd.daemonReload(),
      mount: signal => sd.start(unit, signal),
      unmount: signal => sd.stop(unit, signal),
      close: () => sd.close(),
    }
  } catch (e) {
    ctx.log.info(`systemd is not available (${(e as Error).message}): mounting with mount(8)`)
  }
  return {
    reload: async () => {},
    mount: signal => tool('mount', [mp], signal),
    unmount: signal => tool('umount', [mp], signal),
    close() {},
  }
}

function tool(file: string, args: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { signal, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } },
      (err, _o, stderr) => {
        if (!err) resolve()
        else
          reject(
            signal.aborted
              ? signal.reason
              : new Error(`${file} ${args.join(' ')}: ${(stderr || err.message).trim()}`),
          )
      },
    )
  })
}

/** Keeps the fstab entry (or its absence); true when it was right. */
async function checkFstab(
  mp: string,
  want: FstabEntry | undefined,
  m: Mounter,
  ctx: ResourceContext,
  apply: boolean,
): Promise<boolean> {
  const st = await lstat(FSTAB).catch(() => undefined)
  if (st && !st.isFile()) throw new Error(`${FSTAB} is not a regular file`)
  const text = st ? await readFile(FSTAB, 'utf8') : ''
  const next = replaceEntry(text, mp, want)
  if (want ? hasExactly(text, want) : next === text) return true
  if (!apply) {
    ctx.log.info(want ? `would write the ${FSTAB} entry of ${mp}` : `would remove ${mp} from ${FSTAB}`)
    return false
  }
  ctx.log.info(want ? `writing the ${FSTAB} entry of ${mp}` : `removing ${mp} from ${FSTAB}`)
  await writeAtomic(FSTAB, { bytes: Buffer.from(next) }, { mode: 0o644 })
  await m.reload()
  return false
}

/** Mounts or unmounts; true when it was right. */
async function checkMounted(
  mp: string,
  p: Readonly<MountParams>,
  m: Mounter,
  ctx: ResourceContext,
  apply: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  const top = (await readMounts()).filter(x => x.target === mp).at(-1)
  if (p.state === 'absent') {
    if (!top) return true
    if (!apply) ctx.log.info(`would unmount ${mp}`)
    else {
      ctx.log.info(`unmounting ${mp}`)
      await m.unmount(signal)
    }
    return false
  }
  if (top && (await fromDevice(top, p.device))) return true
  if (!apply) {
    ctx.log.info(`would mount ${p.device} on ${mp}${top ? ` (now ${top.source})` : ''}`)
    return false
  }
  if (top) {
    ctx.log.info(`unmounting ${top.source} from ${mp}: it is not ${p.device}`)
    await m.unmount(signal)
  }
  ctx.log.info(`mounting ${p.device} on ${mp}`)
  await m.mount(signal)
  const now = (await readMounts()).filter(x => x.target === mp).at(-1)
  if (!now || !(await fromDevice(now, p.device)))
    throw new Error(`${p.device} is not mounted on ${mp} after mounting it`)
  return false
}

/** Watches fstab and the mount table (`mount/table.ts`); ready once both are in place. */
async function watchMount(mp: string, ctx: ResourceContext, signal: AbortSignal): Promise<void> {
  let ready = false
  const fire = (): void => {
    if (ready) ctx.event()
  }
  await ctx.watchPath(FSTAB, signal, fire)
  let table: TableWatch
  try {
    table = await watchTable(mp, signal, fire)
  } catch (e) {
    if (signal.aborted) return
    throw e
  }
  if (signal.aborted) return
  ready = true
  ctx.event()
  const r = await table.done
  if (r.aborted || signal.aborted) return
  throw new Error(`${table.display} exited (${r.exitCode ?? r.signal}): ${r.stderr.trim()}`)
}
