/**
 * Structured events on `node:diagnostics_channel`, the convention undici and Fastify use:
 * publishing costs one boolean check when nobody subscribes. No event ever carries a token.
 *
 * ```ts
 * import { subscribe } from 'jwt-gate' // typed; node:diagnostics_channel's own works too
 * subscribe('rejected', (event) => metrics.inc({ reason: event.reason }))
 * ```
 */
import {
  channel,
  subscribe as subscribeChannel,
  tracingChannel,
  unsubscribe as unsubscribeChannel,
} from 'node:diagnostics_channel'
import type { AuthError, AuthErrorCode, AuthErrorReason } from './errors.js'
import type { AuthResult } from './types.js'
import type { DenylistEvent } from './redis/events.js'

/** Channel names, stable across minor versions. */
export const CHANNELS = {
  verified: 'jwt-gate:verified',
  rejected: 'jwt-gate:rejected',
  jwks: 'jwt-gate:jwks',
  denylist: 'jwt-gate:denylist',
} as const

/**
 * The tracing channel of one verification (`tracing:jwt-gate:verification:start`, `:end`,
 * `:asyncStart`, `:asyncEnd`, `:error`, as `node:diagnostics_channel`'s `tracingChannel` names
 * them): for durations and spans. Route guards (`requireScopes`, …) are not verifications.
 */
export const VERIFICATION_TRACING_CHANNEL = 'jwt-gate:verification'

/**
 * The context object every event of one traced verification shares. At `end` it holds `result`
 * or `error` when the verification finished synchronously (a cached token, a local key);
 * otherwise it finishes at `asyncEnd`. Subscribers may add their own fields (a span, a start time).
 */
export interface VerificationContext {
  /** The verified token (null: no token and `credentialsRequired: false`); never the raw token in events. */
  result?: AuthResult | null
  /** The refusal (an `AuthError`). */
  error?: unknown
}

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

// `jwt-gate:denylist` events come from the Redis denylist alone: their type lives with it.
export type { DenylistEvent }

/** Each channel's key in `CHANNELS` and the event it carries. */
export interface EventMap {
  verified: VerifiedEvent
  rejected: RejectedEvent
  jwks: JwksEvent
  denylist: DenylistEvent
}

/**
 * Listen to one of jwt-gate's channels with the event typed (`node:diagnostics_channel` hands
 * listeners `unknown`). Returns the function that unsubscribes.
 *
 * @example
 * ```ts
 * import { subscribe } from 'jwt-gate'
 *
 * const stop = subscribe('rejected', (event) => console.warn('refused', event.reason, event.status))
 * stop() // on shutdown
 * ```
 */
export function subscribe<Name extends keyof EventMap>(
  name: Name,
  listener: (event: EventMap[Name]) => void,
): () => void {
  const channelName = CHANNELS[name]
  if (channelName === undefined) {
    throw new TypeError(
      `subscribe: unknown channel "${String(name)}"; one of ${Object.keys(CHANNELS).join(', ')}`,
    )
  }
  const handler = (message: unknown) => listener(message as EventMap[Name])
  subscribeChannel(channelName, handler)
  return () => {
    unsubscribeChannel(channelName, handler)
  }
}

const verifiedChannel = channel(CHANNELS.verified)
const rejectedChannel = channel(CHANNELS.rejected)
const jwksChannel = channel(CHANNELS.jwks)
const verificationTracing = tracingChannel<unknown, VerificationContext>(
  VERIFICATION_TRACING_CHANNEL,
)

/** Whether anyone traces verifications (lets the hot path skip the tracing wrapper). */
export const hasVerificationTracing = (): boolean => verificationTracing.hasSubscribers

/**
 * Run one verification inside the tracing channel: `start`, then `end` (with `result` or
 * `error` when it finished synchronously), or `end` and later `asyncStart` + `asyncEnd` (with
 * `error` published first) when it returned a promise. The same order `tracePromise` uses, for
 * a function that is synchronous whenever it can be.
 */
export function traceVerification<T extends AuthResult | null>(
  run: () => T | Promise<T>,
): T | Promise<T> {
  const context: VerificationContext = {}
  verificationTracing.start.publish(context)
  let value: T | Promise<T>
  try {
    value = run()
  } catch (error) {
    context.error = error
    verificationTracing.error.publish(context)
    verificationTracing.end.publish(context)
    throw error
  }
  if (!(value instanceof Promise)) {
    context.result = value
    verificationTracing.end.publish(context)
    return value
  }
  verificationTracing.end.publish(context)
  return value.then(
    (result) => {
      context.result = result
      verificationTracing.asyncStart.publish(context)
      verificationTracing.asyncEnd.publish(context)
      return result
    },
    (error: unknown) => {
      context.error = error
      verificationTracing.error.publish(context)
      verificationTracing.asyncStart.publish(context)
      verificationTracing.asyncEnd.publish(context)
      throw error
    },
  )
}

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
