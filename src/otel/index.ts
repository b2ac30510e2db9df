/**
 * `jwt-gate/otel`: OpenTelemetry metrics (and optionally spans) from jwt-gate's
 * `node:diagnostics_channel` events. It only listens: nothing in the verifier changes, and with
 * no SDK registered the OpenTelemetry API is a no-op. `@opentelemetry/api` is an optional peer
 * dependency; bring your own SDK and exporter.
 *
 * Metrics (attributes in brackets):
 * - `jwt_gate.verifications` (counter) — every verified or refused request
 *   [`jwt_gate.outcome` = verified | rejected, `jwt_gate.cached`, `jwt_gate.reason`,
 *   `http.response.status_code`]; a route guard's refusal counts as `rejected` with its reason.
 * - `jwt_gate.verification.duration` (histogram, s) — extraction to verdict
 *   [`jwt_gate.outcome`, `jwt_gate.reason`].
 * - `jwt_gate.jwks.fetches` (counter) [`jwt_gate.jwks.outcome` = success | failure,
 *   `jwt_gate.jwks.trigger`]; `jwt_gate.jwks.fetch.duration` (histogram, s);
 *   `jwt_gate.jwks.stale_served` (counter); `jwt_gate.discovery.failures` (counter).
 * - `jwt_gate.denylist.staleness` (gauge, s) — how far the denylist replica is behind (0 when
 *   fresh); `jwt_gate.denylist.sync_errors` (counter).
 *
 * Spans (`spans: true`): one `jwt-gate verify` span per verification, a child of the active
 * span (your HTTP server span), with outcome, reason, `alg`, `kid` and `iss`; never the token
 * nor any claim besides `iss`. Status ERROR only for a 503: a refused token is the API doing
 * its job, as a 4xx is for an HTTP server span.
 *
 * @example
 * ```ts
 * import { instrument } from 'jwt-gate/otel'
 *
 * const telemetry = instrument({ spans: true }) // uses the global MeterProvider and TracerProvider
 * // … on shutdown
 * telemetry.close()
 * ```
 */
import {
  context as otelContext,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type MeterProvider,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api'
import { tracingChannel } from 'node:diagnostics_channel'
import { isAuthError } from '../errors.js'
import { subscribe, VERIFICATION_TRACING_CHANNEL, type VerificationContext } from '../events.js'

/** Options of `instrument`. */
export interface InstrumentOptions {
  /** Where the metrics go. Default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider
  /** Where the spans go. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider
  /** One span per verification. Default `false` (metrics only). */
  spans?: boolean
}

/** A running instrumentation: `close()` unsubscribes from every channel. */
export interface Instrumentation {
  close(): void
}

/** The instrumentation scope name of every meter and tracer this module creates. */
export const INSTRUMENTATION_NAME = 'jwt-gate'

/** What this instrumentation keeps about one verification in flight. */
interface InFlight {
  startedAt: number
  span: Span | undefined
}

/**
 * Subscribe to jwt-gate's channels and record OpenTelemetry metrics (and spans with
 * `spans: true`) for every verifier in the process. Call once at start-up, after your SDK is
 * registered (or pass its providers).
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME)
  const tracer = options.spans
    ? (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME)
    : undefined

  const verifications = meter.createCounter('jwt_gate.verifications', {
    description: 'Requests verified or refused by jwt-gate, by outcome and reason',
  })
  const duration = meter.createHistogram('jwt_gate.verification.duration', {
    description: 'Time from token extraction to the verdict',
    unit: 's',
  })
  const jwksFetches = meter.createCounter('jwt_gate.jwks.fetches', {
    description: 'JWKS fetches, by outcome and what triggered them',
  })
  const jwksFetchDuration = meter.createHistogram('jwt_gate.jwks.fetch.duration', {
    description: 'Duration of JWKS fetches',
    unit: 's',
  })
  const staleServed = meter.createCounter('jwt_gate.jwks.stale_served', {
    description: 'Verifications that used a cached key set past its freshness (key server down)',
  })
  const discoveryFailures = meter.createCounter('jwt_gate.discovery.failures', {
    description: 'Failed OIDC discovery document fetches',
  })
  const syncErrors = meter.createCounter('jwt_gate.denylist.sync_errors', {
    description: 'Failures talking to the denylist store',
  })
  let denylistStalenessSeconds: number | undefined
  const staleness = meter.createObservableGauge('jwt_gate.denylist.staleness', {
    description: 'How far the denylist replica is behind its store (0 when fresh)',
    unit: 's',
  })
  const observeStaleness = (result: { observe(value: number): void }) => {
    if (denylistStalenessSeconds !== undefined) result.observe(denylistStalenessSeconds)
  }
  staleness.addCallback(observeStaleness)

  const stops = [
    subscribe('verified', (event) => {
      verifications.add(1, { 'jwt_gate.outcome': 'verified', 'jwt_gate.cached': event.cached })
    }),
    subscribe('rejected', (event) => {
      verifications.add(1, {
        'jwt_gate.outcome': 'rejected',
        'jwt_gate.reason': event.reason,
        'http.response.status_code': event.status,
      })
    }),
    subscribe('jwks', (event) => {
      switch (event.type) {
        case 'fetched':
        case 'failed': {
          const attributes = {
            'jwt_gate.jwks.outcome': event.type === 'fetched' ? 'success' : 'failure',
            'jwt_gate.jwks.trigger': event.trigger,
          }
          jwksFetches.add(1, attributes)
          jwksFetchDuration.record(event.durationMs / 1000, attributes)
          break
        }
        case 'stale-served':
          staleServed.add(1)
          break
        case 'discovery-failed':
          discoveryFailures.add(1)
          break
        default:
          break
      }
    }),
    subscribe('denylist', (event) => {
      if (event.type === 'stale') denylistStalenessSeconds = event.stalenessMs / 1000
      else if (event.type === 'fresh' || event.type === 'synced') denylistStalenessSeconds = 0
      else if (event.type === 'sync-error') syncErrors.add(1)
    }),
  ]

  // Durations and spans come from the verification's tracing channel (start → end/asyncEnd).
  // Kept per instrumentation, keyed by the shared context object, so two never collide.
  const tracing = tracingChannel<unknown, VerificationContext>(VERIFICATION_TRACING_CHANNEL)
  const inFlight = new WeakMap<VerificationContext, InFlight>()
  const finish = (context: VerificationContext) => {
    const started = inFlight.get(context)
    if (started === undefined) return // started before instrument() was called
    inFlight.delete(context)
    const attributes = outcomeAttributes(context)
    duration.record((performance.now() - started.startedAt) / 1000, attributes)
    if (started.span) endSpan(started.span, context, attributes)
  }
  const handlers = {
    start(context: VerificationContext) {
      const span = tracer?.startSpan(
        'jwt-gate verify',
        { kind: SpanKind.INTERNAL },
        otelContext.active(),
      )
      inFlight.set(context, { startedAt: performance.now(), span })
    },
    end(context: VerificationContext) {
      // Finished synchronously when the verdict is already there; else at asyncEnd.
      if ('result' in context || 'error' in context) finish(context)
    },
    asyncStart() {},
    asyncEnd(context: VerificationContext) {
      finish(context)
    },
    error() {},
  }
  tracing.subscribe(handlers)

  let closed = false
  return {
    close() {
      if (closed) return
      closed = true
      for (const stop of stops) stop()
      tracing.unsubscribe(handlers)
      staleness.removeCallback(observeStaleness)
    },
  }
}

/** `jwt_gate.outcome` and, for a refusal, `jwt_gate.reason`. */
function outcomeAttributes(context: VerificationContext): Attributes {
  if (context.error === undefined) return { 'jwt_gate.outcome': 'verified' }
  return {
    'jwt_gate.outcome': 'rejected',
    'jwt_gate.reason': isAuthError(context.error) ? context.error.reason : 'unknown',
  }
}

/** Describe the verdict on the span, then end it. Never the token, never other claims. */
function endSpan(span: Span, context: VerificationContext, attributes: Attributes): void {
  span.setAttributes(attributes)
  if (context.result) {
    const { header, payload } = context.result
    span.setAttribute('jwt_gate.alg', header.alg)
    if (header.kid !== undefined) span.setAttribute('jwt_gate.kid', header.kid)
    if (typeof payload.iss === 'string') span.setAttribute('jwt_gate.iss', payload.iss)
  } else if (isAuthError(context.error)) {
    span.setAttribute('http.response.status_code', context.error.status)
    if (context.error.status >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: context.error.message })
    }
  }
  span.end()
}
