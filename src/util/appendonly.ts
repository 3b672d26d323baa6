/**
 * Lines appended to a file that the user names (`--converged-status-file`), by a run that may be
 * root's, in a directory that others may write to (`/tmp`). A symbolic link found at the path is
 * followed only when its owner is this process's user or the directory's owner, as Linux's
 * `fs.protected_symlinks` allows in a sticky directory: a link of the user's own, or the system's
 * `/dev/fd/3`, is followed; a link that another user planted in `/tmp` is refused, and the file it
 * points at is left alone. Hosts that turned that protection off (containers often do) are guarded
 * all the same.
 */
import { constants, lstatSync, statSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { dirname } from 'node:path'

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = constants

/** Appends `text` to `path`, made with mode 0644 if missing, through a trusted link only. */
export async function appendGuarded(path: string, text: string): Promise<void> {
  const fh = await openGuarded(path)
  try {
    await fh.appendFile(text)
  } finally {
    await fh.close()
  }
}

const isLink = (path: string): boolean =>
  lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false

async function openGuarded(path: string): Promise<FileHandle> {
  const flags = O_WRONLY | O_APPEND | O_CREAT
  if (!isLink(path))
    try {
      return await open(path, flags | O_NOFOLLOW, 0o644)
    } catch (e) {
      // A link put there since: judged below. (With O_CREAT, some kernels say EACCES, not ELOOP.)
      if (!isLink(path)) throw e
    }
  const link = lstatSync(path)
  const dir = statSync(dirname(path))
  const me = process.geteuid?.() ?? link.uid
  if (link.uid !== me && link.uid !== dir.uid)
    throw Object.assign(
      new Error(
        `${path} is a symbolic link of uid ${link.uid}, in a directory of uid ${dir.uid}: not followed`,
      ),
      { code: 'ELOOP' },
    )
  return open(path, flags, 0o644)
}
