/** The program's version: fixed at build time in the single-file bundle, else from package.json. */
import { readFileSync } from 'node:fs'

/** Set by scripts/bundle.ts (esbuild `define`); absent when running from dist/. */
declare const MGMT_BUNDLED_VERSION: string | undefined

function readVersion(): string {
  if (typeof MGMT_BUNDLED_VERSION === 'string') return MGMT_BUNDLED_VERSION
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

/** True when running from the single-file bundle (`dist/mgmt.mjs`, or its copy on a remote host). */
export const isBundle: boolean = typeof MGMT_BUNDLED_VERSION === 'string'
