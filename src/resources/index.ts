/**
 * The built-in resource kinds, in order. This list is the only place a kind is registered:
 * adding a kind means adding its module here (and a section in docs/resources.md and an example
 * in examples/yaml/).
 */

import { Registry } from '../engine/registry.js'
import type { ResourceDef } from '../engine/resource.js'
import { cron } from './cron.js'
import { exec } from './exec.js'
import { file } from './file.js'
import { group } from './group.js'
import { hostname } from './hostname.js'
import { mount } from './mount.js'
import { msg } from './msg.js'
import { noop } from './noop.js'
import { password } from './password.js'
import { pkg } from './pkg.js'
import { print } from './print.js'
import { svc } from './svc.js'
import { timer } from './timer.js'
import { user } from './user.js'
import { value } from './value.js'

export const builtinKinds = [
  noop,
  file,
  exec,
  print,
  msg,
  password,
  timer,
  value,
  svc,
  cron,
  pkg,
  user,
  group,
  hostname,
  mount,
] as const

/** A registry holding every built-in kind. */
export function builtinRegistry(): Registry {
  return new Registry(builtinKinds as unknown as readonly ResourceDef[])
}
