/**
 * A served file as a part of its server (`http:server:file`, `tftp:file`): the rules of its params
 * and its running instance. It serves `data` (bytes in memory, usually received from another
 * resource) or `path` (a file, or a directory when it ends in `/`, read at each request) under its
 * `filename`. It changes nothing on the system: its checkApply reports a change when it starts
 * serving new data. The data itself is never logged (it may hold a secret), only its size.
 */
import { isAbsolute } from 'node:path'
import { z } from 'zod'
import { type Instance, type ResourceContext, untilAborted } from '../../engine/resource.js'
import type { Issue } from '../../util/errors.js'
import {
  type Lookup,
  requestPath,
  type Served,
  type ServingPart,
  servedData,
  servedPath,
  servedUnder,
} from './served.js'

/** The params of a served-file kind: keys are the YAML names, verbatim. */
export const partParams = () =>
  z
    .object({
      /** The name of its server; empty: the graph's only one. */
      server: z.string().default(''),
      /** The name it is served as (`/ks.cfg`); the resource name by default. */
      filename: z.string().default(''),
      /** An absolute file to serve, or a directory (ending in `/`) whose files are served below `filename`. */
      path: z.string().optional(),
      /** The content to serve instead of `path`; may be received from another resource. */
      data: z.string().optional(),
    })
    .strict()

/** The automatic edge of a server to the `file` resource that manages its `root` directory. */
export const rootEdge = (root: string): string[][] =>
  root ? [[`file:${root.endsWith('/') ? root : `${root}/`}`]] : []

/** The params every served-file kind has. */
export interface PartShape {
  readonly server: string
  readonly filename: string
  readonly path?: string | undefined
  readonly data?: string | undefined
}

/** Cross-field rules: `path` xor `data`, an absolute `path`, a `filename` that stays in its server. */
export function validatePart(p: PartShape): Issue[] {
  const issues: Issue[] = []
  if (p.path !== undefined && p.data !== undefined)
    issues.push({ path: ['data'], message: 'cannot be combined with `path`: serve a file or data, not both' })
  if (p.path !== undefined && !isAbsolute(p.path))
    issues.push({ path: ['path'], message: `expected an absolute path, got ${JSON.stringify(p.path)}` })
  const own = requestPath(p.filename)
  if (!own?.length)
    issues.push({
      path: ['filename'],
      message: `expected a file name such as \`/ks.cfg\` (no \`..\`), got ${JSON.stringify(p.filename)}`,
    })
  return issues
}

const startsWith = (a: readonly string[], prefix: readonly string[]): boolean =>
  prefix.length <= a.length && prefix.every((s, i) => a[i] === s)

/** The running part; `p` is its live params (received `data` is written into it). */
export function servingPart(p: PartShape, ctx: ResourceContext): Instance & ServingPart {
  const own = requestPath(p.filename) ?? []
  /** The data being served (a Served of bytes holds nothing open: one serves every request). */
  let current: { text: string; served: Served } | undefined
  const take = (text: string): void => {
    current = { text, served: servedData(Buffer.from(text), new Date()) }
  }
  if (p.data !== undefined) take(p.data)

  return {
    async serve(segments): Promise<Lookup | undefined> {
      if (p.path?.endsWith('/'))
        return startsWith(segments, own) ? servedUnder(p.path, segments.slice(own.length)) : undefined
      if (segments.length !== own.length || !startsWith(segments, own)) return undefined
      if (p.path !== undefined) return servedPath(p.path)
      return current?.served ?? 'missing'
    },
    async watch(signal) {
      ctx.event()
      await untilAborted(signal)
    },
    async checkApply(apply) {
      const want = p.data
      if (p.path !== undefined || want === undefined || want === current?.text) return true
      const size = `${Buffer.byteLength(want)} bytes`
      if (!apply) {
        ctx.log.info(`would serve new data at ${p.filename} (${size})`)
        return false
      }
      take(want)
      ctx.log.info(`serving new data at ${p.filename} (${size})`)
      return false
    },
  }
}
