/**
 * `jwt-gate` CLI output: the explain and jwks reports as text for people (✓ / ✗ per check) or
 * as JSON for scripts.
 */
import type { ExplainReport } from './explain.js'
import type { JwksReport } from './jwks.js'

/** A report as one JSON document. */
export function asJson(report: ExplainReport | JwksReport): string {
  return JSON.stringify(report, null, 2)
}

/** The explain report for a terminal. */
export function explainText(report: ExplainReport): string {
  const lines: string[] = []
  lines.push(
    'Header:',
    indent(pretty(report.header)),
    'Claims:',
    indent(pretty(report.payload)),
    '',
  )
  lines.push('Checks, in the order the verifier runs them:')
  for (const check of report.checks) {
    const mark = check.status === 'passed' ? '✓' : check.status === 'failed' ? '✗' : '·'
    const tail = check.status === 'not_run' ? ' (not reached)' : ''
    lines.push(`  ${mark} ${check.label}${tail}`)
    if (check.status !== 'failed') continue
    lines.push(`      reason:   ${check.reason}`, `      message:  ${check.message}`)
    if (check.expected !== undefined)
      lines.push(`      expected: ${JSON.stringify(check.expected)}`)
    if (check.received !== undefined)
      lines.push(`      received: ${JSON.stringify(check.received)}`)
    if (check.hint !== undefined) lines.push(`      hint:     ${check.hint}`)
  }
  if (report.error?.cause !== undefined) lines.push(`  cause: ${report.error.cause}`)
  lines.push('')
  if (report.key) {
    const kid = report.key.kid === undefined ? '(none)' : JSON.stringify(report.key.kid)
    lines.push(`Key: kid ${kid}, alg ${report.key.alg}, from ${report.key.source}`)
  }
  if (report.expiresInSeconds !== undefined) {
    const seconds = report.expiresInSeconds
    lines.push(
      seconds > 0 ? `Expires in ${duration(seconds)}` : `Expired ${duration(-seconds)} ago`,
    )
  }
  lines.push(
    report.valid
      ? 'VALID: the middleware would accept this token.'
      : `REFUSED: ${report.error!.status} ${report.error!.code} (reason ${report.error!.reason})`,
  )
  return lines.join('\n')
}

/** The jwks report for a terminal. */
export function jwksText(report: JwksReport): string {
  const lines: string[] = []
  if (report.discoveredFrom) lines.push(`Discovery: ${report.discoveredFrom}`)
  lines.push(`JWKS: ${report.jwksUri}`, `Cache-Control: ${report.cacheControl ?? '(none)'}`, '')
  const rows = [['kid', 'kty', 'alg', 'size', 'use', 'jwt-gate']]
  for (const key of report.keys) {
    rows.push([
      key.kid ?? '(none)',
      key.kty ?? '-',
      key.alg ?? '-',
      key.size ?? '-',
      key.use ?? '-',
      key.skipped === undefined ? 'used' : `skipped: ${key.skipped}`,
    ])
  }
  lines.push(...table(rows), '')
  if (report.warnings.length === 0) lines.push('No problems found.')
  else for (const warning of report.warnings) lines.push(`⚠ ${warning}`)
  return lines.join('\n')
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  )
}

function pretty(value: unknown): string {
  return value === undefined ? '(not decodable)' : JSON.stringify(value, null, 2)
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ')
}

function duration(totalSeconds: number): string {
  const days = Math.floor(totalSeconds / 86400)
  const hours = Math.floor((totalSeconds % 86400) / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  const parts = [days && `${days}d`, hours && `${hours}h`, minutes && `${minutes}m`, `${seconds}s`]
  return parts.filter(Boolean).join(' ')
}
