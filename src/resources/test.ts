/**
 * `test`: the original's test kind. It changes nothing: its checkApply logs its params (those
 * named in `onlyshow`, or all), what it received and any notification, sends `hello` (its
 * `sendvalue`) and `answer` (42), and reports the state as right. Its typed fields exercise
 * every value conversion of the language; `validatebool`/`validateerror` make it invalid,
 * `comparefail` makes two of them differ, `waitforerror` makes checkApply fail after a delay,
 * `expectrecv` checks which params were received. The language's conformance cases use it.
 */
import { z } from 'zod'
import { defineResource, untilAborted } from '../engine/resource.js'

const int = (min: number, max: number) => z.number().int().min(min).max(max).default(0)
const INT64 = Number.MAX_SAFE_INTEGER

/** Params of `test`. Keys are the language's field names, verbatim. */
export const TestParams = z
  .object({
    bool: z.boolean().default(false),
    str: z.string().default(''),
    int: int(-INT64, INT64),
    int8: int(-128, 127),
    int16: int(-32768, 32767),
    int32: int(-(2 ** 31), 2 ** 31 - 1),
    int64: int(-INT64, INT64),
    uint: int(0, INT64),
    uint8: int(0, 255),
    uint16: int(0, 65535),
    uint32: int(0, 2 ** 32 - 1),
    uint64: int(0, INT64),
    byte: int(0, 255),
    rune: int(-(2 ** 31), 2 ** 31 - 1),
    float32: z.number().default(0),
    float64: z.number().default(0),
    /** Pointer fields of the original: they may be left unset, which differs from the zero value. */
    boolptr: z.boolean().optional(),
    stringptr: z.string().optional(),
    int64ptr: z.number().int().optional(),
    int8ptr: z.number().int().min(-128).max(127).optional(),
    uint8ptr: z.number().int().min(0).max(255).optional(),
    int8ptrptrptr: z.number().int().min(-128).max(127).optional(),
    slicestring: z.array(z.string()).default([]),
    mapintfloat: z.record(z.number().int(), z.number()).default({}),
    mixedstruct: z
      .object({
        somebool: z.boolean().default(false),
        somestr: z.string().default(''),
        someint: z.number().int().default(0),
        somefloat: z.number().default(0),
      })
      .strict()
      .default({ somebool: false, somestr: '', someint: 0, somefloat: 0 }),
    /** Any value. */
    interface: z.unknown().optional(),
    anotherstr: z.string().default(''),
    /** Makes the resource invalid. */
    validatebool: z.boolean().default(false),
    /** Makes the resource invalid, with this message. */
    validateerror: z.string().default(''),
    /** Lets test resources group together. */
    alwaysgroup: z.boolean().default(false),
    /** Makes two resources of one name always differ. */
    comparefail: z.boolean().default(false),
    /** The `hello` value this resource sends. */
    sendvalue: z.string().default(''),
    /** The params this resource expects to receive; another count fails checkApply. */
    expectrecv: z.array(z.string()).optional(),
    /** The params checkApply logs (all when empty), by their original names (`AnotherStr`). */
    onlyshow: z.array(z.string()).default([]),
    /** Milliseconds to wait in checkApply before failing; 0 never fails. */
    waitforerror: z.number().int().min(0).default(0),
    comment: z.string().default(''),
  })
  .strict()

/** The original's field names, for the log lines and `onlyshow`. */
const display = (key: string): string =>
  ({
    boolptr: 'BoolPtr',
    stringptr: 'StringPtr',
    int64ptr: 'Int64Ptr',
    int8ptr: 'Int8Ptr',
    uint8ptr: 'Uint8Ptr',
    int8ptrptrptr: 'Int8PtrPtrPtr',
    slicestring: 'SliceString',
    mapintfloat: 'MapIntFloat',
    mixedstruct: 'MixedStruct',
    anotherstr: 'AnotherStr',
  })[key] ?? key.charAt(0).toUpperCase() + key.slice(1)

/** The params checkApply logs (the test switches are not shown). */
const shown = [
  'bool',
  'str',
  'int',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'byte',
  'rune',
  'float32',
  'float64',
  'boolptr',
  'stringptr',
  'int64ptr',
  'int8ptr',
  'uint8ptr',
  'int8ptrptrptr',
  'slicestring',
  'mapintfloat',
  'mixedstruct',
  'interface',
  'anotherstr',
] as const

export const test = defineResource({
  kind: 'test',
  params: TestParams,
  traits: { refreshable: true, groupable: true },
  sends: { hello: z.string(), answer: z.number().int() },
  validate(p) {
    const issues = []
    if (p.validatebool) issues.push({ path: ['validatebool'], message: 'the validate param was set to true' })
    if (p.validateerror)
      issues.push({
        path: ['validateerror'],
        message: `the validate error param was set to: ${p.validateerror}`,
      })
    return issues
  },
  groupCmp: a => a.alwaysgroup,
  cmp(a, b) {
    if (a.comparefail || b.comparefail) return 'the CompareFail is true'
    for (const k of Object.keys(TestParams.shape) as (keyof typeof a)[])
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `the ${display(k)} differs`
    return undefined
  },
  init(params, ctx) {
    return {
      async watch(signal) {
        ctx.event()
        await untilAborted(signal)
      },
      async checkApply(_apply, signal) {
        const received = Object.entries(ctx.recv())
        for (const [key, r] of received) ctx.log.info(`received \`${key}\`, changed: ${r.changed}`)
        if (ctx.refresh()) ctx.log.info('received a notification')
        if (params.expectrecv && params.expectrecv.length !== received.length)
          throw new Error(
            `the received keys differ from expected, got: ${received.map(([k]) => k).join(', ')}`,
          )
        if (params.waitforerror > 0) {
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, params.waitforerror)
            signal.addEventListener('abort', () => {
              clearTimeout(t)
              reject(signal.reason)
            })
          })
          throw new Error(`waitforerror ${(params.waitforerror / 1000).toFixed(4)} seconds`)
        }
        for (const key of shown) {
          const name = display(key)
          if (params.onlyshow.length && !params.onlyshow.includes(name)) continue
          ctx.log.info(`${name}: ${JSON.stringify(params[key]) ?? '<nil>'}`)
        }
        ctx.send({ hello: params.sendvalue, answer: 42 })
        return true
      },
    }
  },
})
