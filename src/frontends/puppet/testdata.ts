/**
 * Test helpers of the Puppet frontend: the catalog fixtures (`fixtures/NAME.json`, each a real
 * Puppet 7 compile of the manifest it holds, trimmed of tags), translated, and lookups into the
 * result. No Ruby is needed.
 */
import { readFileSync } from 'node:fs'
import type { EdgeSpec, ResourceSpec } from '../../engine/spec.js'
import { builtinRegistry } from '../../resources/index.js'
import { type CatalogResource, readCompileResult } from './catalog.js'
import { kindParamsOf } from './compiler.js'
import { type Translation, translate } from './translate.js'

const dir = new URL('../../../../src/frontends/puppet/fixtures/', import.meta.url)

export const builtinKindParams = kindParamsOf(builtinRegistry())

export function fixture(name: string) {
  return readCompileResult(JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')))
}

export interface Translated extends Translation {
  /** The resource `kind[name]`; throws when it is not there. */
  res(kind: string, name: string): ResourceSpec
  has(kind: string, name: string): boolean
  /** Edges as `kind[name] -> kind[name]`, with ` (notify)` when they refresh, sorted. */
  readonly edgeLines: string[]
}

export function translated(name: string, kindParams = builtinKindParams, pollInterval = 1800): Translated {
  const t = translate(fixture(name), { kindParams, pollInterval })
  const find = (kind: string, n: string) => t.spec.resources.find(r => r.kind === kind && r.name === n)
  return {
    ...t,
    res(kind, n) {
      const r = find(kind, n)
      if (!r) throw new Error(`${kind}[${n}] is not in the graph of ${name}`)
      return r
    },
    has: (kind, n) => find(kind, n) !== undefined,
    edgeLines: t.spec.edges.map(edgeLine).sort(),
  }
}

export const edgeLine = (e: EdgeSpec): string =>
  `${e.from.kind}[${e.from.name}] -> ${e.to.kind}[${e.to.name}]${e.notify ? ' (notify)' : ''}`

/** A manifest whose compile writes `compiling` to `marker` once it has started, then never ends. */
export const endless = (marker: string): string =>
  `$started = generate('/bin/sh', '-c', 'echo compiling > ${marker}')\nInteger[1, 2000000000].each |$i| { }\n`

/** The translation of a catalog of `resources` alone, each declared in /etc/puppet/site.pp at its index + 1. */
export function translateResources(resources: readonly CatalogResource[]): Translation {
  const located = resources.map((r, i) => ({ file: '/etc/puppet/site.pp', line: i + 1, ...r }))
  const catalog = { name: 'n', edges: [], resources: located }
  return translate(
    { catalog, collections: [], realized: [], collected: {}, modules: {}, modulepath: [] },
    { kindParams: builtinKindParams, pollInterval: 0 },
  )
}
