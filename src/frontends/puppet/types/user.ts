/** Puppet's `user` and `group` → mgmt's `user` and `group`. */
import { flag, id, list, nameOf, str, type TypeMapping, type Unmapped, unmapped } from './common.js'

function stateOf(ensure: unknown): string | Unmapped | undefined {
  if (ensure === undefined) return undefined
  if (ensure === 'present') return 'exists'
  if (ensure === 'absent') return 'absent'
  return unmapped(`ensure => ${String(ensure)}`)
}

export const userMapping: TypeMapping = {
  kind: 'user',
  params: ['name', 'ensure', 'uid', 'gid', 'groups', 'home', 'shell', 'allowdupe', 'membership'],
  lists: ['groups'],
  map(r, p) {
    const state = stateOf(p.ensure)
    if (typeof state === 'object') return state
    const out: Record<string, unknown> = { state: state ?? 'exists' }
    if (p.uid !== undefined) out.uid = id(p.uid)
    // A numeric gid is an id; a name is a group.
    if (p.gid !== undefined) {
      const gid = id(p.gid)
      if (typeof gid === 'string' && gid !== '') out.group = gid
      else out.gid = gid
    }
    if (p.groups !== undefined) {
      // mgmt sets the exact list; Puppet's default membership only adds.
      if (str(p.membership) !== 'inclusive') return unmapped('groups without membership => inclusive')
      out.groups = list(p.groups)
        .flatMap(g => String(g).split(','))
        .map(g => g.trim())
        .filter(Boolean)
    }
    // An empty home stays empty, for the kind to reject: not `/`.
    const home = str(p.home)
    if (home !== undefined) out.homedir = home === '' ? '' : home.replace(/\/?$/, '/')
    if (p.shell !== undefined) out.shell = String(p.shell)
    const allowdupe = flag(p.allowdupe, true)
    if (allowdupe !== undefined && allowdupe !== false) out.allowduplicateuid = allowdupe
    return { kind: 'user', name: nameOf(r, p), params: out }
  },
}

export const groupMapping: TypeMapping = {
  kind: 'group',
  params: ['name', 'ensure', 'gid'],
  map(r, p) {
    const state = stateOf(p.ensure)
    if (typeof state === 'object') return state
    const out: Record<string, unknown> = { state: state ?? 'exists' }
    if (p.gid !== undefined) out.gid = id(p.gid)
    return { kind: 'group', name: nameOf(r, p), params: out }
  },
}
