/** Times as the original prints them: Go's reference-time layouts (`2006-01-02 15:04:05`), in local time. */

const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]

/** The lowercase English weekday of a time in seconds since the epoch. */
export const weekday = (t: number): string => days[new Date(t * 1000).getDay()]!.toLowerCase()

const p2 = (n: number): string => String(n).padStart(2, '0')

function zoneName(d: Date): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
    .formatToParts(d)
    .find(p => p.type === 'timeZoneName')?.value
  return name && !/^GMT[+-]/.test(name) ? name : name === 'GMT' ? 'UTC' : offset(d, false)
}

function offset(d: Date, colon: boolean): string {
  const m = -d.getTimezoneOffset()
  const sign = m < 0 ? '-' : '+'
  const a = Math.abs(m)
  return `${sign}${p2(Math.floor(a / 60))}${colon ? ':' : ''}${p2(a % 60)}`
}

/** Layout elements, longest first where they share a prefix. */
const elements: readonly (readonly [string, (d: Date) => string])[] = [
  ['January', d => months[d.getMonth()]!],
  ['Jan', d => months[d.getMonth()]!.slice(0, 3)],
  ['Monday', d => days[d.getDay()]!],
  ['Mon', d => days[d.getDay()]!.slice(0, 3)],
  ['MST', zoneName],
  ['2006', d => String(d.getFullYear())],
  ['-07:00', d => offset(d, true)],
  ['-0700', d => offset(d, false)],
  ['Z07:00', d => (d.getTimezoneOffset() === 0 ? 'Z' : offset(d, true))],
  [
    '.999999999',
    d => (d.getMilliseconds() ? `.${String(d.getMilliseconds()).padStart(3, '0').replace(/0+$/, '')}` : ''),
  ],
  ['.000', d => `.${String(d.getMilliseconds()).padStart(3, '0')}`],
  ['01', d => p2(d.getMonth() + 1)],
  ['02', d => p2(d.getDate())],
  ['03', d => p2(d.getHours() % 12 || 12)],
  ['04', d => p2(d.getMinutes())],
  ['05', d => p2(d.getSeconds())],
  ['06', d => p2(d.getFullYear() % 100)],
  ['15', d => p2(d.getHours())],
  ['PM', d => (d.getHours() < 12 ? 'AM' : 'PM')],
  ['pm', d => (d.getHours() < 12 ? 'am' : 'pm')],
  ['_2', d => String(d.getDate()).padStart(2, ' ')],
  ['1', d => String(d.getMonth() + 1)],
  ['2', d => String(d.getDate())],
  ['3', d => String(d.getHours() % 12 || 12)],
  ['4', d => String(d.getMinutes())],
  ['5', d => String(d.getSeconds())],
]

/** A time (seconds since the epoch) in a Go layout. */
export function formatTime(t: number, layout: string): string {
  const d = new Date(t * 1000)
  let out = ''
  for (let i = 0; i < layout.length; ) {
    const el = elements.find(([k]) => layout.startsWith(k, i))
    if (el) {
      out += el[1](d)
      i += el[0].length
    } else out += layout[i++]
  }
  return out
}
