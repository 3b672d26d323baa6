/**
 * `http:server:file`: a file that its `http:server` serves at `filename`: `data` (usually received
 * from another resource: a rendered template, a password's hash) or `path` (a file, or a directory
 * ending in `/` whose files are served below `filename`). It is a part of its server: grouped into
 * it always, and answering before the server's `root`. It changes nothing on the system.
 */
import { defineResource } from '../engine/resource.js'
import { partParams, servingPart, validatePart } from './serve/part.js'

/** Params of `http:server:file`. Keys are the YAML names, verbatim. */
export const HttpServerFileParams = partParams()

export const httpServerFile = defineResource({
  kind: 'http:server:file',
  params: HttpServerFileParams,
  anyText: ['data'],
  normalize: (p, name) => ({ ...p, filename: p.filename || name }),
  validate: validatePart,
  partOf: p => ({ kind: 'http:server', name: p.server || undefined }),
  autoEdges: p => (p.path ? [[`file:${p.path}`]] : []),
  init: (p, ctx) => servingPart(p, ctx),
})
