/**
 * A small horizontal bar chart in plain SVG, written by hand so the suite needs no charting
 * dependency. Panels stack vertically, each with its own linear scale starting at zero, a solid
 * reference line (the floor or the bare framework, 1.00×) and, per group, an optional dashed
 * target line.
 */

/** One bar. */
export interface ChartBar {
  label: string
  value: number
  /** Drawn in the accent colour (jwt-gate). */
  highlight: boolean
}

/** Bars that belong together (one algorithm, one framework and token mode). */
export interface ChartGroup {
  title: string
  bars: ChartBar[]
  /** Where issue 5 wants jwt-gate's bar to reach. */
  target?: number
}

/** One panel: a title, a unit suffix for the values, a reference line, its groups. */
export interface ChartPanel {
  title: string
  unit: string
  reference?: { value: number; label: string }
  groups: ChartGroup[]
}

const WIDTH = 920
const LABEL_WIDTH = 250
const VALUE_WIDTH = 70
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20
const BAR_HEIGHT = 14
const BAR_GAP = 4
const GROUP_GAP = 10
const ACCENT = '#2563eb'
const MUTED = '#9ca3af'
const INK = '#111827'
const FAINT = '#6b7280'

/** Render `panels` under a title and a subtitle (the machine and date). */
export function renderChart(
  title: string,
  subtitle: string,
  panels: readonly ChartPanel[],
): string {
  const parts: string[] = []
  let y = 30
  parts.push(text(16, y, title, { size: 18, weight: 'bold' }))
  y += 20
  parts.push(text(16, y, subtitle, { size: 12, fill: FAINT }))
  y += 18
  for (const panel of panels) {
    const drawn = renderPanel(panel, y)
    parts.push(drawn.svg)
    y = drawn.bottom + 16
  }
  parts.push(legend(y))
  y += 24
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

function renderPanel(panel: ChartPanel, top: number): { svg: string; bottom: number } {
  const values = panel.groups.flatMap((group) => [
    ...group.bars.map((bar) => bar.value),
    group.target ?? 0,
  ])
  const max = niceMax(Math.max(panel.reference?.value ?? 0, ...values.filter(Number.isFinite)))
  const x = (value: number) => LABEL_WIDTH + (Math.max(0, value) / max) * PLOT_WIDTH
  const parts: string[] = []
  let y = top + 14
  parts.push(text(16, y, panel.title, { size: 14, weight: 'bold' }))
  y += 12
  const plotTop = y

  const groupsStart = parts.length
  for (const group of panel.groups) {
    y += 14
    parts.push(text(16, y - 2, group.title, { size: 12, weight: 'bold', fill: INK }))
    const groupTop = y + 2
    const bars: string[] = []
    for (const bar of group.bars) {
      y += BAR_GAP
      const barY = y
      bars.push(
        text(LABEL_WIDTH - 8, barY + BAR_HEIGHT - 3, bar.label, { size: 11, anchor: 'end' }),
      )
      if (Number.isFinite(bar.value)) {
        const width = Math.max(1, x(bar.value) - LABEL_WIDTH)
        const fill = bar.highlight ? ACCENT : MUTED
        bars.push(
          `<rect x="${LABEL_WIDTH}" y="${barY}" width="${round(width)}" height="${BAR_HEIGHT}" rx="2" fill="${fill}"/>`,
        )
        const value = `${format(bar.value)}${panel.unit}`
        const weight = bar.highlight ? 'bold' : 'normal'
        bars.push(
          text(LABEL_WIDTH + width + 5, barY + BAR_HEIGHT - 3, value, {
            size: 11,
            weight,
            halo: true,
          }),
        )
      } else {
        bars.push(text(LABEL_WIDTH + 5, barY + BAR_HEIGHT - 3, 'n/a', { size: 11, fill: FAINT }))
      }
      y += BAR_HEIGHT
    }
    // The target line goes under the bars and their labels.
    if (group.target !== undefined) {
      const targetX = round(x(group.target))
      parts.push(
        `<line x1="${targetX}" y1="${groupTop}" x2="${targetX}" y2="${y + 2}" stroke="${ACCENT}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
      )
    }
    parts.push(...bars)
    y += GROUP_GAP
  }

  // Axis ticks, and the reference line over every group.
  const axisY = y + 4
  parts.push(
    `<line x1="${LABEL_WIDTH}" y1="${plotTop}" x2="${LABEL_WIDTH}" y2="${axisY}" stroke="${INK}" stroke-width="1"/>`,
  )
  for (const tick of ticks(max)) {
    const tickX = round(x(tick))
    parts.push(
      `<line x1="${tickX}" y1="${axisY}" x2="${tickX}" y2="${axisY + 4}" stroke="${FAINT}" stroke-width="1"/>`,
    )
    parts.push(
      text(tickX, axisY + 15, `${formatTick(tick)}${panel.unit}`, {
        size: 10,
        fill: FAINT,
        anchor: 'middle',
      }),
    )
  }
  if (panel.reference) {
    const referenceX = round(x(panel.reference.value))
    // Under the bars' value labels, like the target lines.
    parts.splice(
      groupsStart,
      0,
      `<line x1="${referenceX}" y1="${plotTop}" x2="${referenceX}" y2="${axisY}" stroke="${INK}" stroke-width="1.5"/>`,
    )
    parts.push(text(referenceX + 4, plotTop + 10, panel.reference.label, { size: 10, fill: INK }))
  }
  return { svg: parts.join('\n'), bottom: axisY + 18 }
}

function legend(y: number): string {
  return [
    `<rect x="16" y="${y - 10}" width="12" height="12" fill="${ACCENT}"/>`,
    text(34, y, 'jwt-gate', { size: 12 }),
    `<rect x="110" y="${y - 10}" width="12" height="12" fill="${MUTED}"/>`,
    text(128, y, 'peer library', { size: 12 }),
    `<line x1="230" y1="${y - 4}" x2="254" y2="${y - 4}" stroke="${ACCENT}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    text(260, y, "issue 5's target for jwt-gate", { size: 12 }),
  ].join('\n')
}

/** A round upper bound for the scale: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten. */
function niceMax(value: number): number {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find(
    (candidate) => candidate * power >= value * 1.04,
  )
  return (step ?? 10) * power
}

function ticks(max: number): number[] {
  const rough = max / 5
  const power = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough)!
  const values: number[] = []
  for (let tick = 0; tick <= max + step / 1000; tick += step) values.push(Number(tick.toFixed(6)))
  return values
}

function format(value: number): string {
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

function formatTick(value: number): string {
  return String(Number(value.toFixed(2)))
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

interface TextStyle {
  size: number
  /** A white outline, so lines crossing the text leave it readable. */
  halo?: boolean
  weight?: 'bold' | 'normal'
  fill?: string
  anchor?: 'start' | 'middle' | 'end'
}

function text(x: number, y: number, content: string, style: TextStyle): string {
  const attributes = [
    `x="${round(x)}"`,
    `y="${round(y)}"`,
    `font-size="${style.size}"`,
    `fill="${style.fill ?? INK}"`,
  ]
  if (style.weight === 'bold') attributes.push('font-weight="bold"')
  if (style.anchor && style.anchor !== 'start') attributes.push(`text-anchor="${style.anchor}"`)
  if (style.halo) attributes.push('stroke="#ffffff" stroke-width="3" paint-order="stroke"')
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}
