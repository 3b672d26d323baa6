/**
 * `net`: the pure address helpers (CIDRs, MACs, host:port, URLs), and first values of the
 * interface functions (read once from the host).
 */
import { isIPv4, isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { McStruct, type Value } from '../values.js'
import type { Builtin, RunContext } from './builtin.js'

interface Cidr {
  ip: bigint
  bits: number
  prefix: number
  v6: boolean
}

function ipToInt(ip: string): { n: bigint; v6: boolean } | undefined {
  if (isIPv4(ip)) return { n: ip.split('.').reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n), v6: false }
  if (!isIPv6(ip)) return undefined
  const [head, tail = ''] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : []
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  return { n: groups.reduce((a, g) => (a << 16n) | BigInt(Number.parseInt(g || '0', 16)), 0n), v6: true }
}

function intToIp(n: bigint, v6: boolean): string {
  if (!v6) return [24n, 16n, 8n, 0n].map(s => String((n >> s) & 255n)).join('.')
  const groups = Array.from({ length: 8 }, (_v, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16))
  const text = groups.join(':')
  // The longest run of zero groups becomes `::`.
  const runs = [...`:${text}:`.matchAll(/:(0(?::0)+):/g)].sort((a, b) => b[1]!.length - a[1]!.length)
  if (!runs.length) return text
  const run = runs[0]![1]!
  return `:${text}:`
    .replace(`:${run}:`, '::')
    .replace(/^:(?!:)/, '')
    .replace(/(?<!:):$/, '')
}

function parseCidr(s: string, ctx: RunContext): Cidr {
  const [ip, pre] = s.split('/')
  const parsed = ip === undefined ? undefined : ipToInt(ip)
  const bits = parsed?.v6 ? 128 : 32
  const prefix = Number(pre)
  if (!parsed || pre === undefined || !/^\d+$/.test(pre) || prefix > bits)
    throw ctx.fail(`invalid CIDR address: ${s}`)
  return { ip: parsed.n, bits, prefix, v6: parsed.v6 }
}

const mask = (c: Cidr): bigint => ((1n << BigInt(c.bits)) - 1n) ^ ((1n << BigInt(c.bits - c.prefix)) - 1n)

const cidrFn = (f: (c: Cidr) => string): Builtin => ({
  sig: 'func(a str) str',
  pure: true,
  run: ([s], ctx) => f(parseCidr(s as string, ctx)),
})

const macRe = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i

export const netPackage: Record<string, Builtin> = {
  cidr_to_ip: cidrFn(c => intToIp(c.ip, c.v6)),
  cidr_to_prefix: cidrFn(c => String(c.prefix)),
  cidr_to_mask: cidrFn(c => intToIp(mask(c), c.v6)),
  cidr_to_network: cidrFn(c => intToIp(c.ip & mask(c), c.v6)),
  cidr_to_first: cidrFn(c => intToIp((c.ip & mask(c)) + (c.prefix < c.bits - 1 ? 1n : 0n), c.v6)),
  cidr_to_last: cidrFn(c => {
    const broadcast = (c.ip & mask(c)) | (((1n << BigInt(c.bits)) - 1n) ^ mask(c))
    return intToIp(broadcast - (c.prefix < c.bits - 1 && !c.v6 ? 1n : 0n), c.v6)
  }),
  ip_in_cidr: {
    sig: 'func(ip str, cidr str) bool',
    pure: true,
    run: ([ip, cidr], ctx) => {
      const c = parseCidr(cidr as string, ctx)
      const a = ipToInt(ip as string)
      if (!a) throw ctx.fail(`invalid IP address: ${ip}`)
      return a.v6 === c.v6 && (a.n & mask(c)) === (c.ip & mask(c))
    },
  },
  is_mac: { sig: 'func(a str) bool', pure: true, run: ([s]) => macRe.test(s as string) },
  macfmt: {
    sig: 'func(a str) str',
    pure: true,
    run: ([s], ctx) => {
      if (!macRe.test(s as string)) throw ctx.fail(`invalid MAC address: ${s}`)
      return (s as string).toLowerCase().replace(/-/g, ':')
    },
  },
  oldmacfmt: {
    sig: 'func(a str) str',
    pure: true,
    run: ([s], ctx) => {
      if (!macRe.test(s as string)) throw ctx.fail(`invalid MAC address: ${s}`)
      return (s as string).toLowerCase().replace(/:/g, '-')
    },
  },
  split_hostport: {
    sig: 'func(str) struct{host str; port str}',
    pure: true,
    run: ([s], ctx) => {
      const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d*)$/.exec(s as string)
      if (!m) throw ctx.fail(`address ${s}: missing port in address`)
      return new McStruct(
        new Map<string, Value>([
          ['host', m[1] ?? m[2] ?? ''],
          ['port', m[3]!],
        ]),
      )
    },
  },
  url_parser: {
    sig: 'func(str) struct{scheme str; host str; path str; raw_query str}',
    pure: true,
    run: ([s], ctx) => {
      let u: URL
      try {
        u = new URL(s as string)
      } catch {
        throw ctx.fail(`invalid URL: ${s}`)
      }
      return new McStruct(
        new Map<string, Value>([
          ['scheme', u.protocol.replace(/:$/, '')],
          ['host', u.host],
          ['path', decodeURIComponent(u.pathname)],
          ['raw_query', u.search.replace(/^\?/, '')],
        ]),
      )
    },
  },
  macs: {
    sig: 'func() []str',
    run: () =>
      [
        ...new Set(
          Object.values(networkInterfaces())
            .flat()
            .map(a => a?.mac ?? '')
            .filter(m => m && m !== '00:00:00:00:00:00'),
        ),
      ].sort(),
  },
  wired_interface: {
    sig: 'func() str',
    run: () => Object.keys(networkInterfaces()).find(n => /^(en|eth)/.test(n)) ?? '',
  },
  interface_cidr: {
    sig: 'func(interface str) str',
    run: ([name]) => {
      const a = (networkInterfaces()[name as string] ?? []).find(x => x.family === 'IPv4')
      return a?.cidr ?? ''
    },
  },
}

export const netHttpPackage: Record<string, Builtin> = {
  response: {
    sig: 'func(uid str) struct{status int; output str}',
    // The result of an http:client resource; before it has run, there is none.
    run: () =>
      new McStruct(
        new Map<string, Value>([
          ['status', 0n],
          ['output', ''],
        ]),
      ),
  },
}
