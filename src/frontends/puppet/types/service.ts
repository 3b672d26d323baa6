/**
 * Puppet's `service` → mgmt's `svc` (systemd): `ensure` running or stopped, `enable` true or false.
 * A refresh reloads the unit where it can (Puppet restarts it).
 */
import { bool, nameOf, str, type TypeMapping, unmapped } from './common.js'

export const serviceMapping: TypeMapping = {
  kind: 'svc',
  params: ['name', 'ensure', 'enable', 'provider'],
  // systemd knows how to restart and query every unit.
  ignored: ['hasrestart', 'hasstatus'],
  map(r, p) {
    const provider = str(p.provider)
    if (provider && provider !== 'systemd') return unmapped(`provider => ${provider}`)
    const params: Record<string, unknown> = {}
    if (p.ensure !== undefined) {
      const running =
        bool(p.ensure) ?? (p.ensure === 'running' ? true : p.ensure === 'stopped' ? false : undefined)
      if (running === undefined) return unmapped(`ensure => ${String(p.ensure)}`)
      params.state = running ? 'running' : 'stopped'
    }
    if (p.enable !== undefined) {
      const enable = bool(p.enable)
      if (enable === undefined) return unmapped(`enable => ${String(p.enable)}`)
      params.startup = enable ? 'enabled' : 'disabled'
    }
    return { kind: 'svc', name: nameOf(r, p).replace(/\.service$/, ''), params }
  },
}
