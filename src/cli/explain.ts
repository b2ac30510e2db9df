/**
 * `jwt-gate explain`: run a token through a real `createVerifier` (the middleware's own code,
 * traced through a package-internal hook) and report each check in pipeline order: passed, the
 * one that failed with its reason and the expected and received values, or not reached.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { isAuthError, type AuthError } from '../errors.js'
import { CHANNELS, type JwksEvent } from '../events.js'
import type { KeySourceConfig } from '../keys/key-source.js'
import type { VerifierOptions } from '../types.js'
import { createVerifier, TRACED_STAGES, tracedVerifyOf, type TracedStage } from '../verifier.js'
import { UsageError, type ExplainArgs } from './args.js'

/** What each traced stage checks, for people. */
export const STAGE_LABELS: Record<TracedStage, string> = {
  syntax: 'syntax and header (length, base64url, JSON, alg allow-list, kid, crit)',
  claims: 'claim types and required claims (exp, iss, aud, ...)',
  issuer: 'issuer (iss) is trusted',
  header: "issuer's header rules (alg, typ)",
  time: 'audience (aud) and time (exp, nbf, iat)',
  keys: 'keys fetched for kid and alg',
  signature: 'signature',
}

/** One check of the report. */
export interface CheckResult {
  stage: TracedStage
  label: string
  status: 'passed' | 'failed' | 'not_run'
  reason?: string
  message?: string
  expected?: unknown
  received?: unknown
  /** A hint about a likely mistake (a trailing slash). */
  hint?: string
}

/** The whole answer of `explain`. */
export interface ExplainReport {
  valid: boolean
  /** The decoded header and claims, for display (undefined when not decodable). */
  header: unknown
  payload: unknown
  checks: CheckResult[]
  /** The key that verified the signature. */
  key?: { kid: string | undefined; alg: string; source: string }
  /** Seconds until `exp` (negative: expired). */
  expiresInSeconds?: number
  /** The refusal, when refused. */
  error?: { status: number; code: string; reason: string; message: string; cause?: string }
}

/** The verifier options the flags describe. */
export function verifierOptionsOf(args: ExplainArgs, env: NodeJS.ProcessEnv): VerifierOptions {
  const base = {
    issuer: args.issuer,
    audience: args.audience,
    cache: false as const,
    ...(args.algorithms && { algorithms: args.algorithms as VerifierOptions['algorithms'] }),
    ...(args.typ !== undefined && { typ: args.typ }),
    ...(args.clockTolerance !== undefined && {
      clockTolerance: /^\d+$/.test(args.clockTolerance)
        ? Number(args.clockTolerance)
        : args.clockTolerance,
    }),
  }
  if (args.secretEnv !== undefined) {
    const secret = env[args.secretEnv]
    if (!secret) throw new UsageError(`environment variable ${args.secretEnv} is empty or unset`)
    return { ...base, secret }
  }
  if (args.jwksUri !== undefined) return { ...base, jwksUri: args.jwksUri }
  return base
}

/** Explain `token` under `options`. Throws `TypeError` for options the verifier refuses. */
export async function explain(
  token: string,
  options: VerifierOptions,
  describeSecret: string,
): Promise<ExplainReport> {
  const verifier = createVerifier(options)
  const traced = tracedVerifyOf(verifier)!
  let discovered: string | undefined
  const onJwks = (message: unknown) => {
    const event = message as JwksEvent
    if (event.type === 'discovered') discovered = event.jwksUri
  }
  subscribe(CHANNELS.jwks, onJwks)
  const entered: TracedStage[] = []
  let key: ExplainReport['key']
  let failure: AuthError | undefined
  let payload: Record<string, unknown> | undefined
  try {
    const result = await traced(token, {
      enter: (stage) => entered.push(stage),
      keyMatched(kid, alg, source) {
        key = { kid, alg, source: describeSource(source, describeSecret, discovered) }
      },
    })
    payload = result.payload
  } catch (error) {
    failure = isAuthError(error) ? error : undefined
    if (failure === undefined) throw error
  } finally {
    unsubscribe(CHANNELS.jwks, onJwks)
    await verifier.close()
  }

  const shown = decodeForDisplay(token)
  const failedAt = failure ? entered.at(-1) : undefined
  const checks = TRACED_STAGES.map((stage): CheckResult => {
    const label = STAGE_LABELS[stage]
    if (failure === undefined) return { stage, label, status: 'passed' }
    if (stage === failedAt)
      return { stage, label, status: 'failed', ...facts(failure, options, shown.payload) }
    return { stage, label, status: entered.includes(stage) ? 'passed' : 'not_run' }
  })
  const exp = (payload ?? (shown.payload as Record<string, unknown> | undefined))?.exp
  const report: ExplainReport = {
    valid: failure === undefined,
    header: shown.header,
    payload: shown.payload,
    checks,
  }
  if (key) report.key = key
  if (typeof exp === 'number') report.expiresInSeconds = exp - Math.floor(Date.now() / 1000)
  if (failure) {
    report.error = {
      status: failure.status,
      code: failure.code,
      reason: failure.reason,
      message: failure.message,
    }
    // This is the operator's own terminal: the key server's error is what they need to see.
    if (failure.status === 503 && failure.cause !== undefined) {
      report.error.cause = describeCause(failure.cause)
    }
  }
  return report
}

/** The claim a time refusal is about, shown as the received value. */
const TIME_CLAIMS: Partial<Record<string, string>> = {
  expired: 'exp',
  not_yet_valid: 'nbf',
  too_old: 'iat',
  issued_in_future: 'iat',
}

/** The failed check's reason, message, and its expected and received values. */
function facts(error: AuthError, options: VerifierOptions, payload: unknown): Partial<CheckResult> {
  const out: Partial<CheckResult> = { reason: error.reason, message: error.message }
  const details = error.details
  if (details?.expected !== undefined) out.expected = details.expected
  if (details?.received !== undefined) out.received = details.received
  const timeClaim = TIME_CLAIMS[error.reason]
  if (out.received === undefined && timeClaim !== undefined) {
    const value = (payload as Record<string, unknown> | undefined)?.[timeClaim]
    if (typeof value === 'number') {
      out.received = `${timeClaim} ${value} (${new Date(value * 1000).toISOString()})`
      out.expected = `now ${new Date().toISOString()}`
    }
  }
  if (error.reason === 'wrong_issuer' && out.expected === undefined && 'issuer' in options) {
    out.expected = options.issuer
  }
  const received = out.received
  if (typeof received === 'string') {
    const bare = (value: string) => value.replace(/\/+$/, '')
    const near = ([] as unknown[])
      .concat(out.expected)
      .some(
        (value) =>
          typeof value === 'string' && value !== received && bare(value) === bare(received),
      )
    if (near) out.hint = 'they differ only by a trailing slash'
  }
  return out
}

function describeSource(
  source: KeySourceConfig,
  describeSecret: string,
  discovered: string | undefined,
): string {
  switch (source.kind) {
    case 'secret':
      return describeSecret
    case 'keys':
      return 'local JWKS'
    case 'remote':
      return `JWKS ${source.url.href}`
    case 'discovery':
      return `JWKS ${discovered ?? '(discovered)'} via OIDC discovery`
  }
}

function describeCause(cause: unknown): string {
  const parts: string[] = []
  for (let at: unknown = cause; at instanceof Error && parts.length < 4; at = at.cause) {
    parts.push(at.message)
  }
  return parts.length > 0 ? parts.join(': ') : String(cause)
}

/** The header and payload as JSON, for display only: the verifier decides what is valid. */
function decodeForDisplay(token: string): { header: unknown; payload: unknown } {
  const [header, payload] = token.split('.')
  return { header: jsonOf(header), payload: jsonOf(payload) }
}

function jsonOf(segment: string | undefined): unknown {
  if (!segment) return undefined
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown
  } catch {
    return undefined
  }
}
