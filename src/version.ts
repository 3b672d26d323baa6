/** The program's version, from package.json. */
import { readFileSync } from 'node:fs'

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'mgmt' && pkg.version) return pkg.version
    } catch {
      // not here; try the next place
    }
  }
  return '0.0.0-unknown'
}

export const version: string = readVersion()
