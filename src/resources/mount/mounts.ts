/**
 * What is mounted, for the `mount` kind: `/proc/self/mountinfo`, a device named as the fstab names
 * it (a path, `UUID=`, `LABEL=`, or an image file mounted through a loop device), and the systemd
 * unit name of a mount point.
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { octalDecode } from './fstab.js'

export interface Mounted {
  readonly target: string
  readonly source: string
  readonly fstype: string
}

/** The mounts of this process's mount namespace, latest last. */
export async function readMounts(): Promise<Mounted[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8')
  return text
    .split('\n')
    .filter(Boolean)
    .map(l => {
      const f = l.split(' ')
      const sep = f.indexOf('-')
      return {
        target: octalDecode(f[4] ?? ''),
        fstype: f[sep + 1] ?? '',
        source: octalDecode(f[sep + 2] ?? ''),
      }
    })
}

/** The path a device spec names (`UUID=x` → /dev/disk/by-uuid/x, resolved); the spec when unresolvable. */
export async function resolveSpec(spec: string): Promise<string> {
  const m = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.+)$/.exec(spec)
  const path = m ? `/dev/disk/by-${m[1]!.toLowerCase()}/${m[2]}` : spec
  return realpath(path).catch(() => spec)
}

/** The file behind a loop device (`/dev/loop3`), if it is one. */
export async function loopBackingFile(device: string): Promise<string | undefined> {
  if (!/^\/dev\/loop\d+$/.test(device)) return undefined
  const file = await readFile(`/sys/block/${basename(device)}/loop/backing_file`, 'utf8').catch(() => '')
  return file.trim() || undefined
}

/** Does the mount `m` come from the device `spec` (directly, or an image file through a loop device)? */
export async function fromDevice(m: Mounted, spec: string): Promise<boolean> {
  const want = await resolveSpec(spec)
  if (m.source === want || m.source === spec) return true
  if ((await stat(want).catch(() => undefined))?.isFile()) return (await loopBackingFile(m.source)) === want
  return (await realpath(m.source).catch(() => m.source)) === want
}

/** systemd's unit for a mount point: `/mnt/data disk` → `mnt-data\x20disk.mount`. */
export function mountUnitName(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '').replace(/\/+/g, '/')
  if (!trimmed) return '-.mount'
  let out = ''
  for (const [i, c] of [...Buffer.from(trimmed)].entries()) {
    const ch = String.fromCharCode(c)
    if (ch === '/') out += '-'
    else if (/[A-Za-z0-9:_]/.test(ch) || (ch === '.' && i > 0)) out += ch
    else out += `\\x${c.toString(16).padStart(2, '0')}`
  }
  return `${out}.mount`
}
