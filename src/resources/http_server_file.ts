/**
 * `http:server:file`: a file that its `http:server` serves at `filename`: `data` (usually received
 * from another resource: a rendered template, a password's hash) or `path` (a file, or a directory
 * ending in `/` whose files are served below `filename`). It is a part of its server: grouped into
 * it always, and answering before the server's `root`. It changes nothing on the system.
 */
import { z } from 'zod'
import { defineResource } from '../engine/resource.js'
import { servingPart, validatePart } from './serve/part.js'

/** Params of `http:server:file`. Keys are the YAML names, verbatim. */
export const HttpServerFileParams = z
  .object({
    /** The name of its `http:server`; empty: the graph's only one. */
    server: z.string().default(''),
    /** The path it is served at, e.g. `/ks.cfg`; the resource name by default. */
    filename: z.string().default(''),
    /** An absolute file to serve, or a directory (ending in `/`) whose files are served below `filename`. */
    path: z.string().optional(),
    /** The content to serve instead of `path`; may be received from another resource. */
    data: z.string().optional(),
  })
  .strict()

export const httpServerFile = defineResource({
  kind: 'http:server:file',
  params: HttpServerFileParams,
  normalize: (p, name) => ({ ...p, filename: p.filename || name }),
  validate: validatePart,
  partOf: p => ({ kind: 'http:server', name: p.server || undefined }),
  autoEdges: p => (p.path ? [[`file:${p.path}`]] : []),
  init: (p, ctx) => servingPart(p, ctx),
})
