/**
 * `tftp:file`: a file that its `tftp:server` sends under `filename`: `data` (usually received from
 * another resource) or `path` (a file, or a directory ending in `/` whose files are sent below
 * `filename`). It is a part of its server: grouped into it always, and answering before the
 * server's `root`. It changes nothing on the system.
 */
import { defineResource } from '../engine/resource.js'
import { partParams, servingPart, validatePart } from './serve/part.js'

/** Params of `tftp:file`. Keys are the YAML names, verbatim. */
export const TftpFileParams = partParams()

export const tftpFile = defineResource({
  kind: 'tftp:file',
  params: TftpFileParams,
  anyText: ['data'],
  normalize: (p, name) => ({ ...p, filename: p.filename || name }),
  validate: validatePart,
  partOf: p => ({ kind: 'tftp:server', name: p.server || undefined }),
  autoEdges: p => (p.path ? [[`file:${p.path}`]] : []),
  init: (p, ctx) => servingPart(p, ctx),
})
