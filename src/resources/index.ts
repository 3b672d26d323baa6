/**
 * The built-in resource kinds, in order. This list is the only place a kind is registered:
 * adding a kind means adding its module here (and a section in docs/resources.md and an example
 * in examples/yaml/).
 */

import { Registry } from '../engine/registry.js'
import { anyDef } from '../engine/resource.js'
import { cron } from './cron.js'
import { exec } from './exec.js'
import { file } from './file.js'
import { group } from './group.js'
import { hostname } from './hostname.js'
import { httpClient } from './http_client.js'
import { httpServer } from './http_server.js'
import { httpServerFile } from './http_server_file.js'
import { kmsg } from './kmsg.js'
import { kv } from './kv.js'
import { mount } from './mount.js'
import { msg } from './msg.js'
import { noop } from './noop.js'
import { password } from './password.js'
import { pippet } from './pippet.js'
import { pkg } from './pkg.js'
import { print } from './print.js'
import { svc } from './svc.js'
import { test } from './test.js'
import { tftpFile } from './tftp_file.js'
import { tftpServer } from './tftp_server.js'
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
  kv,
  svc,
  cron,
  pkg,
  user,
  group,
  hostname,
  mount,
  httpClient,
  httpServer,
  httpServerFile,
  tftpServer,
  tftpFile,
  kmsg,
  test,
  pippet,
] as const

/** A registry holding every built-in kind. */
export function builtinRegistry(): Registry {
  return new Registry(builtinKinds.map(d => anyDef(d)))
}
