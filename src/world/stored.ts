/**
 * What the world stores, checked as it is read back. etcd holds what any of its clients wrote:
 * another program, another version, a hand with etcdctl. A value that is not what it should be is
 * refused with its problem, never used in part: a deploy's number becomes a directory that is
 * emptied, and one exported resource of the wrong shape would otherwise fail every collect.
 */
import { z } from 'zod'
import { issueMessage } from '../engine/messages.js'
import { formatPath } from '../util/errors.js'
import type { Deploy, ExportedResource } from './world.js'

/** The schemas, built on first use: most runs read no stored world (2 ms of a start). */
let schemas: ReturnType<typeof buildSchemas> | undefined

function buildSchemas() {
  const Plain = z.record(z.string(), z.unknown())
  const Exported = z.object({
    kind: z.string().min(1),
    name: z.string().min(1),
    params: Plain,
    meta: Plain.optional(),
    to: z.array(z.string()),
    annotations: Plain.optional(),
  })
  const Deployed = z.object({
    id: z.number().int().positive(),
    frontend: z.string().min(1),
    main: z.string().min(1),
    files: z.record(z.string(), z.object({ data: z.string(), mode: z.number().int().min(0) })),
    time: z.string(),
  })
  const Strings = z.record(z.string(), z.string())
  /** The embedded world's file (`<prefix>/world/world.json`), every part optional. */
  const Saved = z.object({
    strings: Strings.optional(),
    maps: z.record(z.string(), Strings).optional(),
    exports: z.record(z.string(), z.array(Exported)).optional(),
    deploys: z.array(Deployed).optional(),
  })
  return { Exported, Deployed, Saved }
}

const schema = (): ReturnType<typeof buildSchemas> => (schemas ??= buildSchemas())

/** The embedded world's file as it is saved. */
export type SavedWorld = {
  strings?: Record<string, string>
  maps?: Record<string, Record<string, string>>
  exports?: Record<string, ExportedResource[]>
  deploys?: Deploy[]
}

/** The embedded world's saved state, from the text of `file`; throws, naming the file and the problem. */
export function readSaved(file: string, text: string): SavedWorld {
  return read(schema().Saved, text, `${file} is not the world's state`)
}

/** The exported resource stored under `key`; throws, naming the key and the problem. */
export function readExported(key: string, text: string): ExportedResource {
  return read(schema().Exported, text, `the export ${key} in the world is not one`)
}

/** Deploy `n` as stored; throws, naming it and the problem. */
export function readDeploy(n: number, text: string): Deploy {
  const d = read(schema().Deployed, text, `deploy ${n} in the world is not one`)
  if (d.id !== n) throw new Error(`deploy ${n} in the world is not one: it says it is deploy ${d.id}`)
  return d
}

/** `text` as JSON of `schema`'s shape; else throws `<notOne>: <the first problem>`. */
function read<T>(schema: z.ZodType<T>, text: string, notOne: string): T {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error(`${notOne}: not JSON`)
  }
  const r = schema.safeParse(value, { reportInput: true })
  // The value as JSON.parse made it, not zod's copy: a record's copy drops a key `__proto__`
  // (a kv key a graph gave), which JSON.parse keeps as an own property. The schemas transform
  // nothing, so the two are the same otherwise.
  if (r.success) return value as T
  const i = r.error.issues[0]!
  const at = i.path.length ? `${formatPath(i.path.map(p => (typeof p === 'symbol' ? String(p) : p)))}: ` : ''
  throw new Error(`${notOne}: ${at}${issueMessage(i)}`)
}
