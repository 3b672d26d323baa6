/**
 * Validation messages in our words, not the schema library's: `expected a whole number of
 * seconds, got 1.5` instead of `Invalid input: expected int, received number`. A kind's own
 * messages (refinements, cross-field checks) are kept as written.
 *
 * Units: every key that is a duration has its unit here, one place for the messages and the docs
 * (docs/resources.md says the same): metaparams `delay` and `timeout` are milliseconds, every
 * other duration (meta `poll`, a resource's `timeout`, `interval`...) is seconds.
 */
import type { z } from 'zod'
import { didYouMean } from '../util/suggest.js'

/** The unit of each duration key, by `kind.key` (`meta.key` for metaparams). */
export const UNITS: Readonly<Record<string, string>> = {
  'meta.delay': 'milliseconds',
  'meta.timeout': 'milliseconds',
  'meta.poll': 'seconds',
  'exec.timeout': 'seconds',
  'timer.interval': 'seconds',
  'http:client.interval': 'seconds',
  'http:client.timeout': 'seconds',
  'http:server.timeout': 'seconds',
  'http:server.read_timeout': 'seconds',
  'http:server.write_timeout': 'seconds',
  'http:server.shutdown_timeout': 'seconds',
  'tftp:server.timeout': 'seconds',
}

/** How a value is shown in a message: short, and never a long string in full. */
export function shown(v: unknown): string {
  if (v === null) return 'nothing (null)'
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v)
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return String(v)
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  tuple: 'a list',
  bigint: 'a whole number',
  null: 'nothing',
}

function typeWord(expected: string, unit: string | undefined): string {
  const w = TYPE_WORDS[expected] ?? expected
  return unit && (expected === 'int' || expected === 'number') ? `${w} of ${unit}` : w
}

type ZodIssue = z.core.$ZodIssue & { input?: unknown }

/** zod's own default messages start so; anything else was written by a kind. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized key)/

/** One zod issue, in our words; `unit` is the key's unit (seconds...), when it has one. */
export function issueMessage(i: ZodIssue, unit?: string): string {
  if (i.code === 'custom' || !ZOD_DEFAULT.test(i.message)) return i.message
  const got = 'input' in i && i.input !== undefined ? `, got ${shown(i.input)}` : ''
  switch (i.code) {
    case 'invalid_type':
      if (!('input' in i) || i.input === undefined) return `required: expected ${typeWord(i.expected, unit)}`
      return `expected ${typeWord(i.expected, unit)}${got}`
    case 'invalid_value': {
      const values = i.values.map(v => shown(v))
      const hint =
        typeof i.input === 'string'
          ? didYouMean(
              i.input,
              i.values.filter(v => typeof v === 'string'),
            )
          : ''
      return `${values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(', ')}`}${got}${hint}`
    }
    case 'too_small':
    case 'too_big': {
      const small = i.code === 'too_small'
      const bound = small ? (i as { minimum: unknown }).minimum : (i as { maximum: unknown }).maximum
      const cmp = small ? (i.inclusive ? 'at least' : 'more than') : i.inclusive ? 'at most' : 'less than'
      if (i.origin === 'string') {
        if (small && Number(bound) === 1) return 'expected a non-empty string'
        return `expected ${cmp} ${bound} characters${'input' in i ? `, got ${String(i.input).length}` : ''}`
      }
      if (i.origin === 'array' || i.origin === 'set') {
        if (small && Number(bound) === 1) return 'expected a non-empty list'
        return `expected ${cmp} ${bound} items${Array.isArray(i.input) ? `, got ${i.input.length}` : ''}`
      }
      return `expected ${cmp} ${bound}${unit ? ` ${unit}` : ''}${got}`
    }
    case 'invalid_union': {
      // Every alternative wanted another type: list them; else the first alternative's reason.
      const types = i.errors.map(alt => alt.find(a => a.code === 'invalid_type' && a.path.length === 0))
      if (types.every(t => t !== undefined))
        return `expected ${[...new Set(types.map(t => typeWord((t as { expected: string }).expected, unit)))].join(' or ')}${got}`
      const first = i.errors.flat().find(a => a.code !== 'invalid_type')
      return first ? issueMessage(first as ZodIssue, unit) : `not a valid value${got}`
    }
    case 'invalid_format':
      return i.format === 'regex'
        ? `expected a string matching ${(i as { pattern?: string }).pattern ?? 'its pattern'}${got}`
        : `expected ${i.format}${got}`
    case 'not_multiple_of':
      return `expected a multiple of ${String(i.divisor)}${got}`
    case 'unrecognized_keys':
      return `unknown key${i.keys.length === 1 ? '' : 's'} ${i.keys.map(k => `\`${k}\``).join(', ')}`
    case 'invalid_key':
      return `invalid key${got}`
    case 'invalid_element':
      return `invalid element${got}`
    default:
      return (i as { message: string }).message
  }
}
