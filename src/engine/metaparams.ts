/**
 * Metaparams: engine-level settings of every resource (`meta:` in YAML). They are part of a
 * resource's identity: changing one replaces the resource on a graph swap.
 *
 * Most resources set none, and share `defaultMeta`. The schema is built when a resource sets one
 * (`metaParams()`): building and first running it was 6 ms of every start. A test holds the
 * defaults written out below to the ones the schema gives.
 */
import { z } from 'zod'
import { MAX_TIMER_MS, MAX_TIMER_S } from '../util/timers.js'

let schema: ReturnType<typeof buildSchema> | undefined

/** The schema of a resource's metaparams, with their defaults. */
export const metaParams = (): ReturnType<typeof buildSchema> => (schema ??= buildSchema())

function buildSchema() {
  const ms = z.number().int().min(0).max(MAX_TIMER_MS)
  return z
    .object({
      /** checkApply runs with apply=false: nothing changes, what would change is logged. */
      noop: z.boolean().default(false),
      /** Retries after a watch or checkApply error; -1 forever. */
      retry: z.number().int().min(-1).max(32767).default(0),
      /** Reset the checkApply retry budget after a success. */
      retryreset: z.boolean().default(false),
      /** Milliseconds between retries. */
      delay: ms.default(0),
      /** checkApply deadline in milliseconds; 0 = none. */
      timeout: ms.default(0),
      /** Seconds between polls, replacing watch; 0 = watch; negative = one initial run only. */
      poll: z.number().int().max(MAX_TIMER_S).default(0),
      /** Watch events per second let through to checkApply (token bucket); `.inf` (the default) = unlimited. */
      limit: z
        .union([z.number().positive(), z.literal(Number.POSITIVE_INFINITY)])
        .default(Number.POSITIVE_INFINITY),
      /** Token bucket size for `limit`. */
      burst: z.number().int().min(0).default(0),
      /** On a graph swap that changes this resource, reset its retry counters. */
      reset: z.boolean().default(false),
      /** Counting semaphores held during checkApply: `id` or `id:N`. */
      sema: z.array(z.string().min(1)).default([]),
      /** On a graph swap, restart this resource if it had failed permanently. */
      rewatch: z.boolean().default(false),
      /** Apply at least once before removal from the graph. */
      realize: z.boolean().default(false),
      /** Present in the graph (edges, send/recv) but never watched or applied. */
      hidden: z.boolean().default(false),
      /** Allow a name starting with `$`. */
      dollar: z.boolean().default(false),
      /** Hosts (or `*`) this resource is exported to. */
      export: z.array(z.string().min(1)).default([]),
      /** Add automatic edges for this resource. */
      autoedge: z.boolean().default(true),
      /** Let this resource merge with others of its kind. */
      autogroup: z.boolean().default(true),
      /** Undo this resource when it leaves the graph. */
      reverse: z.boolean().default(false),
    })
    .strict()
}

export type MetaParams = z.output<ReturnType<typeof buildSchema>>

/** The defaults, for resources declared without `meta` (the schema's, for `{}`). */
export const defaultMeta: Readonly<MetaParams> = Object.freeze({
  noop: false,
  retry: 0,
  retryreset: false,
  delay: 0,
  timeout: 0,
  poll: 0,
  limit: Number.POSITIVE_INFINITY,
  burst: 0,
  reset: false,
  sema: [],
  rewatch: false,
  realize: false,
  hidden: false,
  dollar: false,
  export: [],
  autoedge: true,
  autogroup: true,
  reverse: false,
})

/** The metaparams' names. */
export const META_KEYS: ReadonlySet<string> = new Set(Object.keys(defaultMeta))

/** Cross-field checks, with the reference's rules. */
export function validateMeta(m: MetaParams): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = []
  if (m.limit !== Number.POSITIVE_INFINITY && m.burst === 0)
    issues.push({ path: ['burst'], message: 'a finite limit needs a burst of at least 1' })
  for (const [i, s] of m.sema.entries())
    if (/^\d+$/.test(s))
      issues.push({ path: ['sema', String(i)], message: `\`${s}\` is a bare number, not a semaphore id` })
  return issues
}
