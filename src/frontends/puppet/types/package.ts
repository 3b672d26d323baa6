/** Puppet's `package` → mgmt's `pkg` (by the package's name): installed, uninstalled, newest or a version. */
import { nameOf, str, type TypeMapping, unmapped } from './common.js'

const STATE: Readonly<Record<string, string>> = {
  present: 'installed',
  installed: 'installed',
  absent: 'uninstalled',
  latest: 'newest',
}
/** The providers whose packages mgmt's `pkg` manages (the system's package manager). */
const PROVIDERS = new Set(['apt', 'aptitude', 'dpkg', 'yum', 'dnf', 'zypper', 'pkcon'])

export const packageMapping: TypeMapping = {
  kind: 'pkg',
  params: ['name', 'ensure', 'provider'],
  ignored: ['allow_virtual'],
  map(r, p) {
    const provider = str(p.provider)
    if (provider && !PROVIDERS.has(provider)) return unmapped(`provider => ${provider}`)
    const ensure = str(p.ensure) ?? 'installed'
    if (ensure === 'purged' || ensure === 'held') return unmapped(`ensure => ${ensure}`)
    const state = STATE[ensure] ?? ensure // anything else is a version
    return { kind: 'pkg', name: nameOf(r, p), params: { state } }
  },
}
