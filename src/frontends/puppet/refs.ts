/**
 * Resolving a ref (`File['/srv/www/']`, `Exec['reload']`, an alias) to the catalog resource it
 * names. Puppet checked every ref when it compiled, but a ref may name a resource by its title,
 * by its namevar (a file's `path` without a trailing `/`, an exec's `command`, otherwise `name`)
 * or by its `alias` metaparam. A case-insensitive match is the last resort.
 */
import { type CatalogResource, parseRef, refList, refOf } from './catalog.js'

/** The namevar of each type whose namevar is not `name`. */
const NAMEVAR: Readonly<Record<string, string>> = { file: 'path', exec: 'command' }

/** A file's path and a ref's title name the same file with or without a trailing `/`. */
function normalize(type: string, title: string): string {
  return type === 'file' && title.length > 1 ? title.replace(/\/+$/, '') : title
}

const key = (type: string, title: string): string => {
  const t = type.toLowerCase()
  return `${t}\0${normalize(t, title)}`
}

export class RefIndex {
  readonly #exact = new Map<string, CatalogResource>()
  readonly #names = new Map<string, CatalogResource>()
  readonly #folded = new Map<string, CatalogResource>()

  constructor(resources: Iterable<CatalogResource>) {
    for (const r of resources) {
      const p = r.parameters ?? {}
      this.#exact.set(refOf(r), r)
      this.#folded.set(refOf(r).toLowerCase(), r)
      const names = [r.title, p[NAMEVAR[r.type.toLowerCase()] ?? 'name'], ...refList(p.alias)]
      for (const n of names) if (typeof n === 'string') this.#names.set(key(r.type, n), r)
    }
  }

  /** The resource `s` (`Type[title]`) names, or undefined. */
  resolve(s: string): CatalogResource | undefined {
    const hit = this.#exact.get(s)
    if (hit) return hit
    const parsed = parseRef(s)
    return (parsed && this.#names.get(key(parsed.type, parsed.title))) ?? this.#folded.get(s.toLowerCase())
  }
}
