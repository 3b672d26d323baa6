/**
 * File modes as the `file` kind takes them: an octal string (`'0644'`, `'644'`, `'4755'`), a YAML
 * number whose decimal digits are read as octal digits (YAML 1.2 reads `mode: 0644` as 644), or
 * symbolic assignments (`u=rw,g=r,o=`). Relative forms (`+`, `-`) are rejected: a declaration
 * states the mode, it does not edit it.
 */

/** A parsed mode: exact bits, or assignments applied to the current mode. */
export type ModeSpec =
  | { readonly kind: 'octal'; readonly bits: number }
  | { readonly kind: 'symbolic'; readonly clauses: readonly Clause[] }

interface Clause {
  /** The bits this clause owns (cleared first). */
  readonly mask: number
  /** The bits it sets. */
  readonly bits: number
}

const who = {
  u: { r: 0o400, w: 0o200, x: 0o100, s: 0o4000, t: 0, all: 0o4700 },
  g: { r: 0o40, w: 0o20, x: 0o10, s: 0o2000, t: 0, all: 0o2070 },
  o: { r: 0o4, w: 0o2, x: 0o1, s: 0, t: 0o1000, all: 0o1007 },
} as const

/** The canonical string of a mode param: numbers become their decimal digits. */
export function modeString(v: string | number): string {
  return typeof v === 'number' ? String(v) : v.trim()
}

/** Parses a mode param; throws an Error saying what is wrong. */
export function parseMode(v: string | number): ModeSpec {
  const s = modeString(v)
  if (/^[0-7]{1,4}$/.test(s)) return { kind: 'octal', bits: Number.parseInt(s, 8) }
  if (typeof v === 'number')
    throw new Error(`expected an octal mode, got the number ${v} (its digits must be 0-7; quote it: '0644')`)
  if (/[+-]/.test(s)) throw new Error(`relative mode \`${s}\` is not allowed: use \`=\` (u=rw,g=r,o=)`)
  const clauses: Clause[] = []
  for (const part of s.split(',')) {
    const m = /^([ugoa]*)=([rwxst]*)$/.exec(part)
    if (!m)
      throw new Error(`expected an octal mode ('0644') or symbolic assignments (u=rw,g=r,o=), got \`${s}\``)
    const classes = !m[1] || m[1].includes('a') ? 'ugo' : m[1]
    let mask = 0
    let bits = 0
    for (const c of classes) {
      const w = who[c as keyof typeof who]
      mask |= w.all
      for (const p of m[2]!) bits |= w[p as 'r' | 'w' | 'x' | 's' | 't']
    }
    clauses.push({ mask, bits })
  }
  return { kind: 'symbolic', clauses }
}

/** The mode bits wanted, given the current ones (only symbolic modes depend on them). */
export function applyMode(spec: ModeSpec, current: number): number {
  if (spec.kind === 'octal') return spec.bits
  let m = current & 0o7777
  for (const c of spec.clauses) m = (m & ~c.mask) | c.bits
  return m
}

/** `0o644` → `'0644'`. */
export function formatMode(bits: number): string {
  return (bits & 0o7777).toString(8).padStart(4, '0')
}
