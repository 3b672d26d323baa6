/**
 * Meta `reverse`: when a resource that asks for it starts, what it is about to change is read
 * (its kind's `reversed`) and kept under `<prefix>/engine/reverse/`. When the resource later leaves
 * the graph, that record is applied once, putting back what was there, and then deleted. A record
 * is written once and kept while the resource stays, so it always describes the state before mgmt.
 */
import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises'
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

  /**
   * Every record, with a function that deletes it once applied. A record that is not one (broken
   * by hand, cut short by another program) is set aside as `<name>.json.broken` and said once:
   * nothing of it can be put back, and left in place it would be said at every graph change.
   */
  async list(): Promise<{ reversal: Reversal; done: () => Promise<void> }[]> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    await sweepTemps(this.dir, names).catch(() => [])
    const out: { reversal: Reversal; done: () => Promise<void> }[] = []
    for (const n of names.filter(n => n.endsWith('.json'))) {
      const file = join(this.dir, n)
      let problem: string
      try {
        const reversal: unknown = JSON.parse(await readFile(file, 'utf8'))
        const wrong = shapeProblem(reversal)
        if (!wrong) {
          out.push({ reversal: reversal as Reversal, done: () => unlink(file) })
          continue
        }
        problem = wrong
      } catch (err) {
        problem = describeError(err)
      }
      const aside = `${file}.broken`
      const moved = await rename(file, aside).then(
        () => `set aside as ${aside}`,
        err => `and it cannot be set aside (${describeError(err)})`,
      )
      this.log.warn(
        `the reversal record ${file} is not one (${problem}): nothing of it is put back; ${moved}`,
      )
    }
    return out
  }
}

/** What makes `v` no reversal record, or undefined when it is one. */
function shapeProblem(v: unknown): string | undefined {
  const isMap = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
  if (!isMap(v)) return 'expected a mapping'
  if (typeof v.kind !== 'string' || !v.kind) return 'kind: expected a string'
  if (typeof v.name !== 'string' || !v.name) return 'name: expected a string'
  if (!isMap(v.params)) return 'params: expected a mapping'
  return undefined
}
