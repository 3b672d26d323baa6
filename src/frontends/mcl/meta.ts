/**
 * The `Meta:` params of a resource, their mcl types, and the full struct that `Meta => struct{...}`
 * must be (every field, in this order). They become the engine's metaparams unchanged: `delay` and
 * `timeout` are milliseconds, `poll` seconds.
 */
import { T, type Type } from './types.js'

export const metaParams: Readonly<Record<string, Type>> = {
  noop: T.bool,
  retry: T.int,
  retryreset: T.bool,
  delay: T.int,
  timeout: T.int,
  poll: T.int,
  limit: T.float,
  burst: T.int,
  reset: T.bool,
  sema: T.list(T.str),
  rewatch: T.bool,
  realize: T.bool,
  dollar: T.bool,
  hidden: T.bool,
  export: T.list(T.str),
  reverse: T.bool,
  autoedge: T.bool,
  autogroup: T.bool,
}

/** The type of `Meta => ...`. */
export const metaStruct: Type = T.struct(Object.entries(metaParams).map(([name, type]) => ({ name, type })))

/** Range checks at interpretation, as the original makes them. */
export function metaRangeProblem(name: string, v: number): string | undefined {
  switch (name) {
    case 'retry':
      return v < -32768 || v > 32767 ? `meta retry ${v} does not fit a 16-bit integer` : undefined
    case 'delay':
    case 'timeout':
    case 'burst':
      return v < 0 ? `meta ${name} ${v} is negative` : undefined
    case 'poll':
      return v < -(2 ** 31) || v >= 2 ** 31 ? `meta poll ${v} does not fit a 32-bit integer` : undefined
    default:
      return undefined
  }
}
