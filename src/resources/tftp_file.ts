/**
 * `tftp:file`: a file that its `tftp:server` sends under `filename`: `data` (usually received from
 * another resource) or `path` (a file, or a directory ending in `/` whose files are sent below
 * `filename`). It is a part of its server: grouped into it always, and answering before the
 * server's `root`. It changes nothing on the system.
 */
import { z } from 'zod'
import { defineResource } from '../engine/resource.js'
import { servingPart, validatePart } from './serve/part.js'

/** Params of `tftp:file`. Keys are the YAML names, verbatim. */
export const TftpFileParams = z
  .object({
    /** The name of its `tftp:server`; empty: the graph's only one. */
    server: z.string().default(''),
    /** The name it is served as, e.g. `pxelinux.cfg/default`; the resource name by default. */
    filename: z.string().default(''),
    /** An absolute file to serve, or a directory (ending in `/`) whose files are served below `filename`. */
    path: z.string().optional(),
    /** The content to serve instead of `path`; may be received from another resource. */
    data: z.string().optional(),
  })
  .strict()

export const tftpFile = defineResource({
  kind: 'tftp:file',
  params: TftpFileParams,
  normalize: (p, name) => ({ ...p, filename: p.filename || name }),
  validate: validatePart,
  partOf: p => ({ kind: 'tftp:server', name: p.server || undefined }),
  autoEdges: p => (p.path ? [[`file:${p.path}`]] : []),
  init: (p, ctx) => servingPart(p, ctx),
})
