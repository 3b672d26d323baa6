/**
 * The built-in resource kinds, in order. This list is the only place a kind is registered:
 * adding a kind means adding its module here (and a section in docs/resources.md and an example
 * in examples/yaml/).
 */

import { Registry } from '../engine/registry.js'
import type { ResourceDef } from '../engine/resource.js'
import { noop } from './noop.js'

// biome-ignore lint/suspicious/noExplicitAny: the list holds kinds with different param types
export const builtinKinds: readonly ResourceDef<string, any>[] = [noop]

/** A registry holding every built-in kind. */
export function builtinRegistry(): Registry {
  return new Registry(builtinKinds as readonly ResourceDef[])
}
