/**
 * The Puppet types with a native mgmt kind, by Puppet type name. A type that is not here, or a
 * resource whose params a mapping cannot express, is applied by Puppet itself through the `pippet`
 * kind, so that nothing in a manifest is silently dropped.
 */
import type { TypeMapping } from './common.js'
import { execMapping } from './exec.js'
import { fileMapping } from './file.js'
import { notifyMapping } from './notify.js'
import { packageMapping } from './package.js'
import { serviceMapping } from './service.js'
import { groupMapping, userMapping } from './user.js'

export const MAPPINGS: Readonly<Record<string, TypeMapping>> = {
  file: fileMapping,
  exec: execMapping,
  notify: notifyMapping,
  package: packageMapping,
  service: serviceMapping,
  user: userMapping,
  group: groupMapping,
}

/** Types that only order others (stdlib's anchor, Puppet's whit): `noop` vertices. */
export const ORDERING_ONLY: ReadonlySet<string> = new Set(['anchor', 'whit'])

/** Types with nothing for mgmt to apply: a `noop` vertex keeps their relationships, and a warning says why. */
export const NOT_APPLIED: Readonly<Record<string, string>> = {
  filebucket: 'mgmt keeps no file backups',
  schedule: 'schedules are not supported',
  resources: 'purging unmanaged resources is not supported',
}

/** Metaparams every type may carry; the translation handles them, the mappings never see them as unknown. */
export const METAPARAMS: ReadonlySet<string> = new Set([
  'alias',
  'audit',
  'before',
  'consume',
  'export',
  'loglevel',
  'noop',
  'notify',
  'require',
  'schedule',
  'stage',
  'subscribe',
  'tag',
])

export type { Invalid, MapContext, TypeMapping, Unmapped, Vertex } from './common.js'
export { bool, flag, isInvalid, isUnmapped, list } from './common.js'
