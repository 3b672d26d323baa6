/**
 * A line chart as a small, self-contained SVG: series of (x, y) points on a linear x axis and a
 * logarithmic y axis (the tools differ by orders of magnitude). Used for the peer benchmark's
 * picture in docs/benchmarks.md.
 */

export interface PlotPoint {
  readonly x: number
  readonly y: number
}

export interface PlotSeries {
  readonly label: string
  readonly colour: string
  readonly dashed?: boolean
  readonly points: readonly PlotPoint[]
}

export interface PlotOptions {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly PlotSeries[]
  /** Formats a y value for the point labels. */
  readonly yFormat?: (y: number) => string
  readonly width?: number
  readonly height?: number
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1))

/** Ticks 1, 2, 5 × 10^k covering [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = []
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** k
      if (v >= lo && v <= hi) out.push(v)
    }
  return out
}

/** A tick label: `0.5`, `2`, `1,000`. */
function tickLabel(v: number): string {
  return v >= 1 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(1)))
}

export function plotSvg(o: PlotOptions): string {
  const width = o.width ?? 760
  const height = o.height ?? 440
  const m = { left: 64, right: 210, top: 40, bottom: 52 }
  const pw = width - m.left - m.right
  const ph = height - m.top - m.bottom
  const all = o.series.flatMap(s => s.points)
  if (!all.length) throw new Error('nothing to plot')
  const xs = [...new Set(all.map(p => p.x))].sort((a, b) => a - b)
  const xMax = xs.at(-1)! * 1.05
  const ys = all.map(p => p.y).filter(y => y > 0)
  // Whole decades around the data, so that the axis reads at a glance.
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys)))
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys)))
  const px = (x: number): number => m.left + (x / xMax) * pw
  const py = (y: number): number =>
    m.top + ph - ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * ph
  const yFormat = o.yFormat ?? fmt
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  ]
  for (const v of logTicks(yLo, yHi)) {
    const y = py(v).toFixed(1)
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">${tickLabel(v)}</text>`,
    )
  }
  for (const x of xs) {
    const X = px(x).toFixed(1)
    out.push(
      `<line x1="${X}" x2="${X}" y1="${m.top}" y2="${m.top + ph}" stroke="#f3f4f6"/>`,
      `<text x="${X}" y="${m.top + ph + 16}" text-anchor="middle" fill="#374151">${x.toLocaleString('en-US')}</text>`,
    )
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  )
  o.series.forEach((s, i) => {
    const pts = [...s.points].filter(p => p.y > 0).sort((a, b) => a.x - b.x)
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : ''
    out.push(
      `<polyline fill="none" stroke="${s.colour}" stroke-width="2"${dash} points="${pts.map(p => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
    )
    // Labels above the point for solid lines, below for dashed ones: pairs of close lines stay legible.
    const dy = s.dashed ? 14 : -6
    for (const p of pts)
      out.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${s.colour}"/>`,
        `<text x="${(px(p.x) + 6).toFixed(1)}" y="${(py(p.y) + dy).toFixed(1)}" font-size="10" fill="${s.colour}">${esc(yFormat(p.y))}</text>`,
      )
    const ly = m.top + 10 + i * 20
    const lx = m.left + pw + 16
    out.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${s.colour}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 32}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`,
    )
  })
  out.push('</svg>', '')
  return out.join('\n')
}
