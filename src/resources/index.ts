/**
 * The built-in resource kinds, in order. This list is the only place a kind is registered:
 * adding a kind means adding its module here (and a section in docs/resources.md and an example
 * in examples/yaml/).
 *
 * Each kind is named here with the module that defines it, which is loaded when a graph first uses
 * the kind (`Registry.get`): a run of files evaluates the file kind's module and its schemas, not
 * those of the other kinds (9 ms of every start under Node.js 24, profiled; docs/benchmarks.md).
 * Everything that lists kinds (`mgmt check`, the docs' tests, the schema export) still sees every
 * one: a name is known without its module. Each load is written out as
 * `createRequire(import.meta.url)('./x.js')`, which the bundles turn into a part of their own that
 * is evaluated on the first call (scripts/bundle.ts).
 */
import { createRequire } from 'node:module'
import { Registry } from '../engine/registry.js'
import { type AnyResourceDef, anyDef } from '../engine/resource.js'
import type { cron } from './cron.js'
import type { exec } from './exec.js'
import type { file } from './file.js'
import type { group } from './group.js'
import type { hostname } from './hostname.js'
import type { httpClient } from './http_client.js'
import type { httpServer } from './http_server.js'
import type { httpServerFile } from './http_server_file.js'
import type { kmsg } from './kmsg.js'
import type { kv } from './kv.js'
import type { mount } from './mount.js'
import type { msg } from './msg.js'
import type { noop } from './noop.js'
import type { password } from './password.js'
import type { pippet } from './pippet.js'
import type { pkg } from './pkg.js'
import type { print } from './print.js'
import type { svc } from './svc.js'
import type { test } from './test.js'
import type { tftpFile } from './tftp_file.js'
import type { tftpServer } from './tftp_server.js'
import type { timer } from './timer.js'
import type { user } from './user.js'
import type { value } from './value.js'

/** Every built-in kind's definition, as its module exports it. */
export type BuiltinDef =
  | typeof noop
  | typeof file
  | typeof exec
  | typeof print
  | typeof msg
  | typeof password
  | typeof timer
  | typeof value
  | typeof kv
  | typeof svc
  | typeof cron
  | typeof pkg
  | typeof user
  | typeof group
  | typeof hostname
  | typeof mount
  | typeof httpClient
  | typeof httpServer
  | typeof httpServerFile
  | typeof tftpServer
  | typeof tftpFile
  | typeof kmsg
  | typeof test
  | typeof pippet

/** The built-in kinds, in order: each kind's name, and the load of its module. */
export const builtinKindModules: Readonly<Record<BuiltinDef['kind'], () => BuiltinDef>> = {
  noop: () => (createRequire(import.meta.url)('./noop.js') as typeof import('./noop.js')).noop,
  file: () => (createRequire(import.meta.url)('./file.js') as typeof import('./file.js')).file,
  exec: () => (createRequire(import.meta.url)('./exec.js') as typeof import('./exec.js')).exec,
  print: () => (createRequire(import.meta.url)('./print.js') as typeof import('./print.js')).print,
  msg: () => (createRequire(import.meta.url)('./msg.js') as typeof import('./msg.js')).msg,
  password: () =>
    (createRequire(import.meta.url)('./password.js') as typeof import('./password.js')).password,
  timer: () => (createRequire(import.meta.url)('./timer.js') as typeof import('./timer.js')).timer,
  value: () => (createRequire(import.meta.url)('./value.js') as typeof import('./value.js')).value,
  kv: () => (createRequire(import.meta.url)('./kv.js') as typeof import('./kv.js')).kv,
  svc: () => (createRequire(import.meta.url)('./svc.js') as typeof import('./svc.js')).svc,
  cron: () => (createRequire(import.meta.url)('./cron.js') as typeof import('./cron.js')).cron,
  pkg: () => (createRequire(import.meta.url)('./pkg.js') as typeof import('./pkg.js')).pkg,
  user: () => (createRequire(import.meta.url)('./user.js') as typeof import('./user.js')).user,
  group: () => (createRequire(import.meta.url)('./group.js') as typeof import('./group.js')).group,
  hostname: () =>
    (createRequire(import.meta.url)('./hostname.js') as typeof import('./hostname.js')).hostname,
  mount: () => (createRequire(import.meta.url)('./mount.js') as typeof import('./mount.js')).mount,
  'http:client': () =>
    (createRequire(import.meta.url)('./http_client.js') as typeof import('./http_client.js')).httpClient,
  'http:server': () =>
    (createRequire(import.meta.url)('./http_server.js') as typeof import('./http_server.js')).httpServer,
  'http:server:file': () =>
    (createRequire(import.meta.url)('./http_server_file.js') as typeof import('./http_server_file.js'))
      .httpServerFile,
  'tftp:server': () =>
    (createRequire(import.meta.url)('./tftp_server.js') as typeof import('./tftp_server.js')).tftpServer,
  'tftp:file': () =>
    (createRequire(import.meta.url)('./tftp_file.js') as typeof import('./tftp_file.js')).tftpFile,
  kmsg: () => (createRequire(import.meta.url)('./kmsg.js') as typeof import('./kmsg.js')).kmsg,
  test: () => (createRequire(import.meta.url)('./test.js') as typeof import('./test.js')).test,
  pippet: () => (createRequire(import.meta.url)('./pippet.js') as typeof import('./pippet.js')).pippet,
}

/** Every built-in kind's definition, in order: loads every kind's module (the docs, the schema). */
export function builtinKinds(): BuiltinDef[] {
  return Object.values(builtinKindModules).map(load => load())
}

/** A registry holding every built-in kind, each loaded when first used. */
export function builtinRegistry(): Registry {
  const registry = new Registry()
  for (const [kind, load] of Object.entries(builtinKindModules))
    registry.registerLazy(kind, (): AnyResourceDef => anyDef(load()))
  return registry
}
