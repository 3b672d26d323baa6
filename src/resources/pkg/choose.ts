/**
 * The choice of a package manager: PackageKit over the system bus when it is there, else apt
 * (apt-get and dpkg) when installed. The choice is made when the resource first needs it (not when
 * the graph loads) and said in the log.
 */
import { access, constants } from 'node:fs/promises'
import type { Logger } from '../../util/logger.js'
import { AptBackend } from './apt.js'
import type { PkgBackend } from './backend.js'
import { PackageKitBackend } from './packagekit.js'

const isExecutable = (p: string): Promise<boolean> =>
  access(p, constants.X_OK).then(
    () => true,
    () => false,
  )

/** PackageKit when it answers on the system bus, else apt; says which (and why) in `log`. */
export async function chooseBackend(log: Logger): Promise<PkgBackend> {
  let why: string
  try {
    const pk = await PackageKitBackend.connect()
    log.info('using PackageKit')
    return pk
  } catch (e) {
    why = (e as Error).message
  }
  if ((await isExecutable('/usr/bin/apt-get')) && (await isExecutable('/usr/bin/dpkg-query'))) {
    log.info(`PackageKit is not available (${why}): using apt (apt-get, dpkg)`)
    return new AptBackend()
  }
  throw new Error(`no package manager: PackageKit is not available (${why}) and apt-get is not installed`)
}
