/**
 * `/etc/fstab` for the `mount` kind: entries parsed with their lines kept, so that a rewrite
 * changes only the entries of one mount point and keeps every comment and other line as it was.
 */

/** One fstab entry. Options are a map (`defaults`, `size=1M` → {defaults: '', size: '1M'}). */
export interface FstabEntry {
  readonly spec: string
  readonly file: string
  readonly vfstype: string
  readonly options: Readonly<Record<string, string>>
  readonly freq: number
  readonly passno: number
}

/** fstab escapes spaces and tabs as octal (`\040`). */
export const octalDecode = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
const octalEncode = (s: string): string =>
  s.replace(/[ \t\n\\]/g, c => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)

export function parseOptions(s: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const o of s.split(',').filter(Boolean)) {
    const i = o.indexOf('=')
    if (i < 0) out[o] = ''
    else out[o.slice(0, i)] = o.slice(i + 1)
  }
  return out
}

export const formatOptions = (o: Readonly<Record<string, string>>): string =>
  Object.entries(o)
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(',') || 'defaults'

/** The entry of one line, or undefined for a comment, a blank or a malformed line. */
export function parseLine(line: string): FstabEntry | undefined {
  const f = line.trim().split(/\s+/)
  if (!f[0] || f[0].startsWith('#') || f.length < 3) return undefined
  return {
    spec: octalDecode(f[0]),
    file: octalDecode(f[1] ?? ''),
    vfstype: f[2] ?? '',
    options: parseOptions(f[3] ?? 'defaults'),
    freq: Number(f[4] ?? 0) || 0,
    passno: Number(f[5] ?? 0) || 0,
  }
}

export const formatLine = (e: FstabEntry): string =>
  [octalEncode(e.spec), octalEncode(e.file), e.vfstype, formatOptions(e.options), e.freq, e.passno].join(' ')

const sameOptions = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v)

export const sameEntry = (a: FstabEntry, b: FstabEntry): boolean =>
  a.spec === b.spec &&
  a.file === b.file &&
  a.vfstype === b.vfstype &&
  sameOptions(a.options, b.options) &&
  a.freq === b.freq &&
  a.passno === b.passno

/** A mount point without trailing slashes (but `/` stays). */
export const mountPoint = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p)

/** Is `want` the only entry for its mount point? */
export function hasExactly(text: string, want: FstabEntry): boolean {
  const mine = text
    .split('\n')
    .map(parseLine)
    .filter((e): e is FstabEntry => e !== undefined && mountPoint(e.file) === mountPoint(want.file))
  return mine.length === 1 && sameEntry(mine[0]!, want)
}

/** `text` with every entry of `file`'s mount point removed, and `want` appended when given. */
export function replaceEntry(text: string, file: string, want?: FstabEntry): string {
  const kept = text.split('\n').filter(l => {
    const e = parseLine(l)
    return !e || mountPoint(e.file) !== mountPoint(file)
  })
  while (kept.length && kept[kept.length - 1] === '') kept.pop()
  if (want) kept.push(formatLine(want))
  return kept.length ? `${kept.join('\n')}\n` : ''
}
