import assert from 'node:assert/strict'
import { test } from 'node:test'
import { logTicks, plotSvg } from './plot.js'

test('log ticks cover the range in 1-2-5 steps', () => {
  assert.deepEqual(logTicks(0.1, 100), [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100])
})

test('the plot: one line and a legend entry per series, labelled points, escaped text', () => {
  const svg = plotSvg({
    title: 'Time <to> apply',
    xLabel: 'files',
    yLabel: 'seconds',
    series: [
      {
        label: 'a & b',
        colour: '#123456',
        points: [
          { x: 1000, y: 0.5 },
          { x: 5000, y: 2 },
        ],
      },
      {
        label: 'c',
        colour: '#654321',
        dashed: true,
        points: [
          { x: 1000, y: 9 },
          { x: 5000, y: 41 },
        ],
      },
    ],
  })
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  assert.equal(svg.match(/<polyline /g)?.length, 2)
  assert.equal(svg.match(/<circle /g)?.length, 4)
  assert.match(svg, /stroke-dasharray/)
  assert.ok(svg.includes('Time &lt;to&gt; apply') && svg.includes('a &amp; b'))
  assert.ok(svg.includes('>5,000<') && svg.includes('>41<'))
  // The y axis spans whole decades around the data: 0.1 to 100 s.
  assert.ok(svg.includes('>0.1<') && svg.includes('>100<'))
  assert.ok(svg.trimEnd().endsWith('</svg>'))
})
