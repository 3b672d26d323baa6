/**
 * Copying files to a remote host over SFTP. Every file is written under a temporary name and
 * renamed into place (OpenSSH's posix-rename), so a remote run watching its graph file never reads
 * half of one, and an interrupted copy never leaves a truncated program in the cache.
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import type { Client, SFTPWrapper } from 'ssh2'

export type ProgressFn = (done: number, total: number) => void

export class Sftp {
  readonly #sftp: SFTPWrapper

  private constructor(sftp: SFTPWrapper) {
    this.#sftp = sftp
  }

  static open(conn: Client): Promise<Sftp> {
    return new Promise((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(new Sftp(s)))))
  }

  /** Copies a local file to `dest` (mode applied before it appears there); resolves with its size. */
  async putFile(
    local: string,
    dest: string,
    mode: number,
    size: number,
    progress?: ProgressFn,
  ): Promise<number> {
    const tmp = tempName(dest)
    try {
      await new Promise<void>((resolve, reject) =>
        this.#sftp.fastPut(
          local,
          tmp,
          {
            mode,
            concurrency: 16,
            chunkSize: 64 * 1024,
            step: (done, _chunk, total) => progress?.(done, total),
          },
          err => (err ? reject(err) : resolve()),
        ),
      )
      await this.#chmod(tmp, mode)
      await this.#rename(tmp, dest)
    } catch (err) {
      await this.#unlink(tmp)
      throw err
    }
    return size
  }

  /** Writes `data` to `dest`, creating its directory; resolves with the bytes written. */
  async putData(dest: string, data: Buffer, mode: number): Promise<number> {
    await this.mkdirs(posix.dirname(dest))
    const tmp = tempName(dest)
    try {
      await new Promise<void>((resolve, reject) =>
        this.#sftp.writeFile(tmp, data, { mode }, err => (err ? reject(err) : resolve())),
      )
      await this.#rename(tmp, dest)
    } catch (err) {
      await this.#unlink(tmp)
      throw err
    }
    return data.length
  }

  /** `mkdir -p` with mode 0700 for what it creates. */
  async mkdirs(dir: string): Promise<void> {
    const exists = await new Promise<boolean>(r => this.#sftp.stat(dir, err => r(!err)))
    if (exists) return
    await this.mkdirs(posix.dirname(dir))
    await new Promise<void>((resolve, reject) =>
      this.#sftp.mkdir(dir, { mode: 0o700 }, err =>
        // Another copy may have made it in the meantime.
        err ? this.#sftp.stat(dir, e2 => (e2 ? reject(err) : resolve())) : resolve(),
      ),
    )
  }

  end(): void {
    this.#sftp.end()
  }

  #chmod(path: string, mode: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#sftp.chmod(path, mode, err => (err ? reject(err) : resolve())),
    )
  }

  #rename(from: string, to: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#sftp.ext_openssh_rename(from, to, err => {
        if (!err) return resolve()
        // Without the OpenSSH extension: remove the old file first (a short window without it).
        this.#sftp.unlink(to, () => this.#sftp.rename(from, to, e2 => (e2 ? reject(e2) : resolve())))
      }),
    )
  }

  #unlink(path: string): Promise<void> {
    return new Promise(resolve => this.#sftp.unlink(path, () => resolve()))
  }
}

const tempName = (dest: string): string =>
  posix.join(posix.dirname(dest), `.${posix.basename(dest)}.${randomBytes(4).toString('hex')}.part`)
