/**
 * Structured events on `node:diagnostics_channel`, the convention undici and Fastify use:
 * publishing costs one boolean check when nobody subscribes. No event ever carries a token.
 *
 * ```js
 * import { subscribe } from 'node:diagnostics_channel'
 * subscribe('jwt-gate:rejected', (event) => metrics.inc({ reason: event.reason }))
 * ```
 */
import { channel } from 'node:diagnostics_channel'
import type { AuthError, AuthErrorCode, AuthErrorReason } from './errors.js'

/** Channel names, stable across minor versions. */
export const CHANNELS = {
  verified: 'jwt-gate:verified',
  rejected: 'jwt-gate:rejected',
  jwks: 'jwt-gate:jwks',
  denylist: 'jwt-gate:denylist',
} as const

/** `jwt-gate:verified`: a token passed every check. */
export interface VerifiedEvent {
  /** Whether the verified-token cache answered (no signature check was needed). */
  cached: boolean
  alg: string
  kid: string | undefined
  iss: string | undefined
  sub: string | undefined
}

/** `jwt-gate:rejected`: a request or token was refused. */
export interface RejectedEvent {
  reason: AuthErrorReason
  status: number
  code: AuthErrorCode
  /** The failed check, in words (the error's message; never the token). */
  message: string
}

/** `jwt-gate:jwks`: what the JWKS cache did. */
export type JwksEvent =
  | { type: 'fetched'; uri: string; keys: number; durationMs: number; trigger: JwksTrigger }
  | { type: 'failed'; uri: string; error: string; durationMs: number; trigger: JwksTrigger }
  | { type: 'stale-served'; uri: string; ageMs: number }
  | { type: 'cooldown'; uri: string; retryInMs: number }
  | { type: 'key-skipped'; uri: string; kid: string | undefined; why: string }
  | { type: 'discovered'; issuer: string; jwksUri: string }
  | { type: 'discovery-failed'; issuer: string; error: string }

/** What made the JWKS cache fetch. */
export type JwksTrigger = 'initial' | 'unknown-kid' | 'refresh' | 'expired' | 'retry'

/** `jwt-gate:denylist`: the Redis denylist's replica and connection. */
export type DenylistEvent =
  /** The replica caught up: a full load, or (`full: false`) a resume from the log after a failure. */
  | { type: 'synced'; full: boolean; entries: number; durationMs: number }
  /** The replica is staler than `maxStaleness`: requests fail with 503, or pass with `failOpen`. */
  | { type: 'stale'; stalenessMs: number; failOpen: boolean }
  /** The replica is current again after being stale (or for the first time). */
  | { type: 'fresh' }
  /**
   * Something was ignored or let through: malformed data under the prefix (`key` says where),
   * or a token passed unchecked by a stale replica with `failOpen`.
   */
  | { type: 'warning'; message: string; key?: string }
  /** Talking to Redis failed (first failure of a run; retried with backoff until it works). */
  | { type: 'sync-error'; message: string }
  /** This process revoked a token or a subject. */
  | { type: 'revoked'; kind: 'token' | 'subject' }

const verifiedChannel = channel(CHANNELS.verified)
const rejectedChannel = channel(CHANNELS.rejected)
const jwksChannel = channel(CHANNELS.jwks)
const denylistChannel = channel(CHANNELS.denylist)

/** Whether anyone listens for verifications (lets the hot path skip building the event). */
export const hasVerifiedSubscribers = (): boolean => verifiedChannel.hasSubscribers

/** Publish a `jwt-gate:verified` event. */
export function publishVerified(event: VerifiedEvent): void {
  verifiedChannel.publish(event)
}

/** Publish the `jwt-gate:rejected` event for a refusal, if anyone listens. */
export function publishRejection(error: AuthError): void {
  if (!rejectedChannel.hasSubscribers) return
  const event: RejectedEvent = {
    reason: error.reason,
    status: error.status,
    code: error.code,
    message: error.message,
  }
  rejectedChannel.publish(event)
}

/** Publish a `jwt-gate:jwks` event, if anyone listens. */
export function publishJwks(event: JwksEvent): void {
  if (jwksChannel.hasSubscribers) jwksChannel.publish(event)
}

/** Publish a `jwt-gate:denylist` event, if anyone listens. */
export function publishDenylist(event: DenylistEvent): void {
  if (denylistChannel.hasSubscribers) denylistChannel.publish(event)
}
