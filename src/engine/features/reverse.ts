/**
 * Meta `reverse`: when a resource that asks for it starts, what it is about to change is read
 * (its kind's `reversed`) and kept under `<prefix>/engine/reverse/`. When the resource later leaves
 * the graph, that record is applied once, putting back what was there, and then deleted. A record
 * is written once and kept while the resource stays, so it always describes the state before mgmt.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { describeError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { writeStateFile } from '../../util/statefile.js'
import { sweepTemps } from '../../util/tempfile.js'
import type { Res } from '../compiled.js'
import { varDirName } from '../context.js'

export interface Reversal {
  readonly kind: string
  readonly name: string
  readonly params: Record<string, unknown>
}

export class ReverseStore {
  constructor(
    readonly dir: string,
    readonly log: Logger,
  ) {}

  #file(kind: string, name: string): string {
    return join(this.dir, `${varDirName(kind, name)}.json`)
  }

  /** Keeps what `res` would put back, unless a record exists already. */
  async record(res: Res): Promise<void> {
    if (!res.meta.reverse || !res.def.reversed) return
    const file = this.#file(res.kind, res.name)
    if (
      await readFile(file).then(
        () => true,
        () => false,
      )
    )
      return
    const params = await res.def.reversed(res.params)
    if (!params) {
      this.log.warn(`${res.id}: cannot be reversed (its current state cannot be recorded)`)
      return
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await writeStateFile(file, JSON.stringify({ kind: res.kind, name: res.name, params } satisfies Reversal))
  }

  /** Every record, with a function that deletes it once applied. */
  async list(): Promise<{ reversal: Reversal; done: () => Promise<void> }[]> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    await sweepTemps(this.dir, names).catch(() => [])
    const out: { reversal: Reversal; done: () => Promise<void> }[] = []
    for (const n of names.filter(n => n.endsWith('.json'))) {
      const file = join(this.dir, n)
      try {
        const reversal = JSON.parse(await readFile(file, 'utf8')) as Reversal
        out.push({ reversal, done: () => unlink(file) })
      } catch (err) {
        this.log.warn(`ignoring unreadable reversal ${file}: ${describeError(err)}`)
      }
    }
    return out
  }
}
