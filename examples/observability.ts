/**
 * Watching jwt-gate in production: count its `node:diagnostics_channel` events with prom-client
 * and log them with pino. jwt-gate publishes on four channels (names in `CHANNELS`); publishing
 * costs nothing when nobody subscribes, and no event ever carries the token.
 *
 *   jwt-gate:verified  { cached, alg, kid, iss, sub }        → jwt_gate_verified_total{cached}
 *   jwt-gate:rejected  { reason, status, code, message }     → jwt_gate_rejected_total{reason,status}
 *   jwt-gate:jwks      { type: 'fetched' | 'failed' | …, … }  → jwt_gate_jwks_events_total{type}
 *   jwt-gate:denylist  { type: 'synced' | 'stale' | …, … }    → jwt_gate_denylist_events_total{type}
 *
 * `reason` is the same stable code as `AuthError.reason` (`expired`, `bad_signature`,
 * `wrong_audience`, `revoked`, `no_token`, `jwks_unavailable`, …), so it makes a bounded label.
 * `sub`, `kid` and `message` are not labels (unbounded cardinality); they go to the log.
 *
 * Run it: `node --import tsx examples/observability.ts` (after `npm run build`), then call the
 * printed curl lines and read http://127.0.0.1:<port>/metrics.
 */
import type { AddressInfo } from 'node:net'
import express, { type ErrorRequestHandler } from 'express'
import { pino, type DestinationStream, type Logger } from 'pino'
import { Counter, Registry } from 'prom-client'
import { isAuthError, subscribe } from 'jwt-gate'
import { requireJwt } from 'jwt-gate/express'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

export const AUDIENCE = 'https://api.example.com'

/**
 * Subscribe prom-client counters (registered on `registry`) and pino log lines to every
 * jwt-gate channel. Returns a function that unsubscribes them all.
 */
export function instrumentJwtGate({
  registry,
  logger,
}: {
  registry: Registry
  logger: Logger
}): () => void {
  const verified = new Counter({
    name: 'jwt_gate_verified_total',
    help: 'Tokens that passed every check, by whether the verified-token cache answered',
    labelNames: ['cached'] as const,
    registers: [registry],
  })
  const rejected = new Counter({
    name: 'jwt_gate_rejected_total',
    help: 'Refused requests by stable reason (AuthError.reason) and HTTP status',
    labelNames: ['reason', 'status'] as const,
    registers: [registry],
  })
  const jwks = new Counter({
    name: 'jwt_gate_jwks_events_total',
    help: 'JWKS cache activity: fetched, failed, stale-served, cooldown, key-skipped, discovery',
    labelNames: ['type'] as const,
    registers: [registry],
  })
  const denylist = new Counter({
    name: 'jwt_gate_denylist_events_total',
    help: 'Redis denylist replica activity: synced, stale, fresh, sync-error, warning, revoked',
    labelNames: ['type'] as const,
    registers: [registry],
  })
  const log = logger.child({ component: 'jwt-gate' })

  // jwt-gate's `subscribe` types each event (node:diagnostics_channel's hands over `unknown`).
  const stops = [
    subscribe('verified', (event) => {
      verified.inc({ cached: String(event.cached) })
      log.debug({ event: 'verified', ...event }, 'token verified')
    }),
    subscribe('rejected', (event) => {
      rejected.inc({ reason: event.reason, status: String(event.status) })
      // A 503 means our key source or denylist is failing: that is ours to fix, not the client's.
      const level = event.status >= 500 ? 'error' : 'info'
      log[level]({ event: 'rejected', ...event }, `request refused: ${event.reason}`)
    }),
    subscribe('jwks', (event) => {
      jwks.inc({ type: event.type })
      const level =
        event.type === 'failed' || event.type === 'discovery-failed'
          ? 'error'
          : event.type === 'stale-served' || event.type === 'key-skipped'
            ? 'warn'
            : event.type === 'cooldown'
              ? 'debug'
              : 'info'
      log[level]({ ...event, event: `jwks ${event.type}` }, `jwks ${event.type}`)
    }),
    subscribe('denylist', (event) => {
      denylist.inc({ type: event.type })
      const level =
        event.type === 'stale' || event.type === 'sync-error'
          ? 'error'
          : event.type === 'warning'
            ? 'warn'
            : 'info'
      log[level]({ ...event, event: `denylist ${event.type}` }, `denylist ${event.type}`)
    }),
  ]
  return () => {
    for (const stop of stops) stop()
  }
}

/** A running example: the API (with `/metrics`), its issuer and metrics registry. */
export interface RunningObservabilityExample {
  url: string
  issuer: TestIssuer
  registry: Registry
  close(): Promise<void>
}

/**
 * Start an issuer and an Express API guarded by jwt-gate, with its events counted on a fresh
 * prom-client registry (served at `/metrics`) and logged by pino to `logStream` (stdout by
 * default).
 */
export async function startObservabilityExample(
  port = 0,
  logStream?: DestinationStream,
): Promise<RunningObservabilityExample> {
  const registry = new Registry()
  const logger = pino({ level: 'info' }, logStream ?? process.stdout)
  const stopInstrumenting = instrumentJwtGate({ registry, logger })

  const issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
  const auth = requireJwt({ issuer: issuer.url, audience: AUDIENCE, jwksUri: issuer.jwksUri })
  const app = express()
  // In production serve metrics on an internal port, or guard this route: it is not secret,
  // but it tells an attacker which of their attempts failed how.
  app.get('/metrics', (_req, res, next) => {
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next)
  })
  app.get('/me', auth, (req, res) => {
    res.json({ sub: req.auth?.payload.sub })
  })
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (!isAuthError(err)) return next(err)
    res.status(err.status).set(err.headers).json({ error: err.code, reason: err.reason })
  }
  app.use(onError)

  const server = app.listen(port, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    issuer,
    registry,
    async close() {
      await auth.verifier.close()
      await new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await issuer.close()
      stopInstrumenting()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startObservabilityExample(Number(process.env.PORT ?? 0))
  const good = await example.issuer.sign({ sub: 'demo-user' })
  const expired = await example.issuer.sign({ sub: 'demo-user' }, { expiresIn: -60 })
  console.log(`Observability example on ${example.url}`)
  console.log(`curl -i -H 'Authorization: Bearer ${good}' ${example.url}/me`)
  console.log(`curl -i -H 'Authorization: Bearer ${expired}' ${example.url}/me`)
  console.log(`curl -i ${example.url}/me`)
  console.log(`curl ${example.url}/metrics`)
  console.log('Ctrl+C to stop')
}
