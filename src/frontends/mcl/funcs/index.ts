/**
 * The builtin function registry: the functions with no package (`len`, `concat`...) and the
 * system packages a program imports by name (`import "fmt"`, `import "golang/strings"`). A
 * package may also export variables (`$os.family_debian`).
 */
import { LangError } from '../errors.js'
import { isConcrete, parseType, prune, T, type Type } from '../types.js'
import { McFunc, McMap, McStruct, type Value, zeroValue } from '../values.js'
import type { Builtin, Package, RunContext } from './builtin.js'
import { iterPackage, listPackage, mapPackage, mathPackage } from './collections.js'
import { corePackage } from './core.js'
import { fmtPackage } from './fmt.js'
import { netHttpPackage, netPackage } from './net.js'
import {
  datetimePackage,
  deployPackage,
  fwupdPackage,
  golangExecPackage,
  golangFilepathPackage,
  golangOsPackage,
  golangRuntimePackage,
  osPackage,
  sysPackage,
} from './system.js'
import {
  runTemplate,
  TemplateError,
  type TFunc,
  type TValue,
  templateBuiltins,
  toTemplate,
} from './template.js'
import {
  convertPackage,
  encodingPackage,
  golangHtmlPackage,
  golangStrconvPackage,
  golangStringsPackage,
  regexpPackage,
  stringsPackage,
} from './text.js'
import {
  exampleNestedPackage,
  examplePackage,
  localPackage,
  testPackage,
  utilPackage,
  valuePackage,
  worldCollectPackage,
  worldPackage,
} from './world.js'

export type { Builtin, Package } from './builtin.js'

const golangPackage: Record<string, Builtin> = {
  template: {
    infer: ({ argc }) => {
      if (argc === 1) return T.func([{ name: 'template', type: T.str }], T.str)
      if (argc === 2)
        return T.func(
          [
            { name: 'template', type: T.str },
            { name: 'vars', type: T.fresh() },
          ],
          T.str,
        )
      throw new Error(`template takes 1 or 2 args, got ${argc}`)
    },
    run: ([text, vars], ctx) => {
      try {
        return runTemplate(text as string, vars === undefined ? null : toTemplate(vars), templateFuncs(ctx))
      } catch (err) {
        if (err instanceof TemplateError)
          throw new LangError('run', `template: execution error: ${err.message}`, [ctx.span])
        throw err
      }
    },
  },
}

/** Every system package, by import path. */
export const packages: Readonly<Record<string, Package>> = {
  fmt: { funcs: fmtPackage },
  strings: { funcs: stringsPackage },
  convert: { funcs: convertPackage },
  math: { funcs: mathPackage },
  list: { funcs: listPackage },
  map: { funcs: mapPackage },
  iter: { funcs: iterPackage },
  encoding: { funcs: encodingPackage },
  regexp: { funcs: regexpPackage },
  net: { funcs: netPackage },
  'net/http': { funcs: netHttpPackage },
  os: osPackage,
  sys: { funcs: sysPackage },
  'sys/fwupd': { funcs: fwupdPackage },
  datetime: { funcs: datetimePackage },
  deploy: { funcs: deployPackage },
  world: { funcs: worldPackage },
  'world/collect': { funcs: worldCollectPackage },
  value: { funcs: valuePackage },
  local: { funcs: localPackage },
  util: { funcs: utilPackage },
  example: { funcs: examplePackage },
  'example/nested': { funcs: exampleNestedPackage },
  test: { funcs: testPackage },
  golang: { funcs: golangPackage },
  'golang/strings': { funcs: golangStringsPackage },
  'golang/html': { funcs: golangHtmlPackage },
  'golang/strconv': { funcs: golangStrconvPackage },
  'golang/os': { funcs: golangOsPackage },
  'golang/os/exec': { funcs: golangExecPackage },
  'golang/runtime': { funcs: golangRuntimePackage },
  'golang/path/filepath': { funcs: golangFilepathPackage },
}

/** The functions with no package. */
export const topLevel: Readonly<Record<string, Builtin>> = corePackage

/** The signature of a builtin with a fixed signature and no variables, or undefined. */
function monomorphic(b: Builtin): Type | undefined {
  if (!b.sig) return undefined
  const t = parseType(b.sig)
  return isConcrete(t) ? t : undefined
}

/** A template value back into an mcl value of type `t`. */
function fromTemplate(v: TValue, t: Type): Value {
  const p = prune(t)
  if (p.k === 'struct' && v instanceof Map)
    return new McStruct(
      new Map(
        p.fields.map(f => [
          f.name,
          fromTemplate(v.get(f.name.charAt(0).toUpperCase() + f.name.slice(1)) ?? '', f.type),
        ]),
      ),
    )
  if (p.k === 'list' && Array.isArray(v)) return v.map(x => fromTemplate(x, p.elem))
  if (p.k === 'map' && v instanceof Map)
    return new McMap([...v].map(([k, x]) => [fromTemplate(k, p.key), fromTemplate(x, p.val)]))
  if (p.k === 'int' && typeof v === 'number') return BigInt(Math.trunc(v))
  if (p.k === 'float' && typeof v === 'bigint') return Number(v)
  if (typeof v === 'object' && v !== null) return zeroValue(t)
  return (v ?? '') as Value
}

/** The functions a template may call: the usual ones, and every monomorphic builtin as `pkg_func`. */
function templateFuncs(ctx: RunContext): Map<string, TFunc> {
  const out = templateBuiltins()
  for (const [path, pkg] of Object.entries(packages))
    for (const [name, b] of Object.entries(pkg.funcs)) {
      const sig = monomorphic(b)
      if (sig?.k !== 'func') continue
      const fname = `${path.replace(/\//g, '_')}_${name}`
      out.set(fname, {
        fn: args => {
          if (args.length !== sig.args.length)
            throw new TemplateError(
              `wrong number of args for ${fname}: want ${sig.args.length} got ${args.length}`,
            )
          const vals = args.map((a, i) => fromTemplate(a, sig.args[i]!.type))
          return toTemplate(b.run(vals, { ...ctx, sig }))
        },
      })
    }
  return out
}

/** True for a value that is a function. */
export const isFunc = (v: Value): v is McFunc => v instanceof McFunc
