/**
 * `jwt-gate/otel` with the OpenTelemetry SDK's in-memory exporters, driven by real HTTP requests
 * to a real Express app (and a real, unreachable key server): the metrics count what happened,
 * by outcome, reason and cache hit; spans carry the verdict and never the token.
 */
import assert from 'node:assert/strict'
import { channel } from 'node:diagnostics_channel'
import { after, before, describe, test } from 'node:test'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { AsyncLocalStorage } from 'node:async_hooks'
import {
  context as otelContext,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api'
import { CHANNELS, createVerifier, type DenylistEvent, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { instrument, type Instrumentation } from '../../src/otel/index.js'
import { APPS, type RunningApp } from '../adapters/apps.js'
import { bearer, send } from '../helpers/http.js'

const audience = 'https://api.example.com'
process.env.NODE_ENV = 'test' // keep Express's default error handler quiet

describe('jwt-gate/otel', () => {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // Exports only when flushed: the test decides when to look.
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 2_147_483_647,
  })
  const meterProvider = new MeterProvider({ readers: [reader] })
  const spanExporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spanExporter)],
  })
  let telemetry: Instrumentation
  let issuer: TestIssuer
  let downIssuer: TestIssuer
  let verifier: Verifier
  let downVerifier: Verifier
  let app: RunningApp
  let downApp: RunningApp
  const tokens: string[] = []

  before(async () => {
    telemetry = instrument({ meterProvider, tracerProvider, spans: true })
    issuer = await createTestIssuer({ alg: 'ES256', audience })
    downIssuer = await createTestIssuer({ alg: 'ES256', audience })
    downIssuer.simulateOutage('error')
    verifier = createVerifier({ issuer: issuer.url, audience, jwksUri: issuer.jwksUri })
    downVerifier = createVerifier({ issuer: downIssuer.url, audience, jwksUri: downIssuer.jwksUri })
    const express = APPS.find((factory) => factory.name === 'express@5')!
    app = await express.start(verifier)
    downApp = await express.start(downVerifier)

    // Verified: a miss, then a cache hit; refused: expired, no token, a scope guard, an outage.
    const valid = await issuer.sign({ sub: 'alice', scope: 'read:orders' })
    const expired = await issuer.sign({ sub: 'alice' }, { expiresIn: -60 })
    const noScope = await issuer.sign({ sub: 'bob', scope: 'profile' })
    const down = await downIssuer.sign({ sub: 'carol' })
    tokens.push(valid, expired, noScope, down)
    const statuses = [
      (await send(`${app.url}/me`, { headers: bearer(valid) })).status,
      (await send(`${app.url}/me`, { headers: bearer(valid) })).status,
      (await send(`${app.url}/me`, { headers: bearer(expired) })).status,
      (await send(`${app.url}/me`)).status,
      (await send(`${app.url}/orders`, { headers: bearer(noScope) })).status,
      (await send(`${downApp.url}/me`, { headers: bearer(down) })).status,
    ]
    assert.deepEqual(statuses, [200, 200, 401, 401, 403, 503])
  })
  after(async () => {
    telemetry.close()
    await Promise.all([app.close(), downApp.close()])
    await Promise.all([verifier.close(), downVerifier.close()])
    await Promise.all([issuer.close(), downIssuer.close()])
    await meterProvider.shutdown()
    await tracerProvider.shutdown()
  })

  async function collect(): Promise<Map<string, MetricData>> {
    metricExporter.reset()
    await reader.forceFlush()
    const byName = new Map<string, MetricData>()
    for (const resourceMetrics of metricExporter.getMetrics()) {
      for (const scope of resourceMetrics.scopeMetrics) {
        assert.equal(scope.scope.name, 'jwt-gate')
        for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric)
      }
    }
    return byName
  }
  const points = (metric: MetricData | undefined) => {
    assert.ok(metric, 'metric recorded')
    return metric.dataPoints as Array<DataPoint<unknown>>
  }
  /** Sum of the counter's points whose attributes include `match`. */
  const sum = (metric: MetricData | undefined, match: Record<string, unknown>) =>
    points(metric)
      .filter((point) => Object.entries(match).every(([k, v]) => point.attributes[k] === v))
      .reduce((total, point) => total + (point.value as number), 0)

  test('verifications by outcome, cache hit and reason', async () => {
    const metric = (await collect()).get('jwt_gate.verifications')
    const verified = { 'jwt_gate.outcome': 'verified' }
    // Misses: alice's first request, and bob's (verified, then refused by the scope guard).
    assert.equal(sum(metric, { ...verified, 'jwt_gate.cached': false }), 2)
    assert.equal(sum(metric, { ...verified, 'jwt_gate.cached': true }), 1)
    const rejected = (reason: string, status: number) =>
      sum(metric, {
        'jwt_gate.outcome': 'rejected',
        'jwt_gate.reason': reason,
        'http.response.status_code': status,
      })
    assert.equal(rejected('expired', 401), 1)
    assert.equal(rejected('no_token', 401), 1)
    assert.equal(rejected('insufficient_scope', 403), 1)
    assert.equal(rejected('jwks_unavailable', 503), 1)
    assert.equal(sum(metric, {}), 7)
  })

  test('verification duration: one measurement per verification (guards are not verifications)', async () => {
    const metric = (await collect()).get('jwt_gate.verification.duration')
    assert.equal(metric?.descriptor.unit, 's')
    const count = (match: Record<string, unknown>) =>
      points(metric)
        .filter((point) => Object.entries(match).every(([k, v]) => point.attributes[k] === v))
        .reduce((total, point) => total + (point.value as Histogram).count, 0)
    assert.equal(count({ 'jwt_gate.outcome': 'verified' }), 3) // /me twice, /orders once
    assert.equal(count({ 'jwt_gate.reason': 'expired' }), 1)
    assert.equal(count({ 'jwt_gate.reason': 'no_token' }), 1)
    assert.equal(count({ 'jwt_gate.reason': 'jwks_unavailable' }), 1)
    assert.equal(count({ 'jwt_gate.reason': 'insufficient_scope' }), 0)
    for (const point of points(metric)) assert.ok((point.value as Histogram).min! >= 0)
  })

  test('JWKS fetches and failures', async () => {
    const metrics = await collect()
    const fetches = metrics.get('jwt_gate.jwks.fetches')
    assert.equal(
      sum(fetches, { 'jwt_gate.jwks.outcome': 'success', 'jwt_gate.jwks.trigger': 'initial' }),
      1,
    )
    assert.ok(sum(fetches, { 'jwt_gate.jwks.outcome': 'failure' }) >= 1)
    assert.ok(points(metrics.get('jwt_gate.jwks.fetch.duration')).length >= 2)
  })

  test('denylist staleness follows the denylist channel (stale, then fresh)', async () => {
    // The events a denylist replica publishes when its store is unreachable, then back.
    const denylist = channel(CHANNELS.denylist)
    denylist.publish({ type: 'stale', stalenessMs: 4_500, failOpen: false } satisfies DenylistEvent)
    denylist.publish({ type: 'sync-error', message: 'connection refused' } satisfies DenylistEvent)
    let metrics = await collect()
    assert.equal(points(metrics.get('jwt_gate.denylist.staleness'))[0]?.value, 4.5)
    assert.equal(sum(metrics.get('jwt_gate.denylist.sync_errors'), {}), 1)
    denylist.publish({ type: 'fresh' } satisfies DenylistEvent)
    metrics = await collect()
    assert.equal(points(metrics.get('jwt_gate.denylist.staleness'))[0]?.value, 0)
  })

  test('one span per verification with the verdict; ERROR only for 503; never the token', () => {
    const spans = spanExporter.getFinishedSpans()
    assert.equal(spans.length, 6)
    assert.ok(spans.every((span) => span.name === 'jwt-gate verify'))
    const byOutcome = (outcome: string) =>
      spans.filter((span) => span.attributes['jwt_gate.outcome'] === outcome)
    assert.equal(byOutcome('verified').length, 3)
    for (const span of byOutcome('verified')) {
      assert.equal(span.attributes['jwt_gate.alg'], 'ES256')
      assert.equal(span.attributes['jwt_gate.iss'], issuer.url)
    }
    const reasons = byOutcome('rejected').map((span) => span.attributes['jwt_gate.reason'])
    assert.deepEqual(reasons.sort(), ['expired', 'jwks_unavailable', 'no_token'])
    const failed = spans.filter((span) => span.status.code === SpanStatusCode.ERROR)
    assert.deepEqual(
      failed.map((span) => span.attributes['jwt_gate.reason']),
      ['jwks_unavailable'],
    )
    const recorded = JSON.stringify(
      spans.map((span) => [span.attributes, span.status, span.events]),
    )
    for (const token of tokens) assert.ok(!recorded.includes(token))
    assert.ok(!recorded.includes('alice'), 'no subject in spans')
  })

  test('the span is a child of the active span (the HTTP server span in an app)', async () => {
    // What @opentelemetry/context-async-hooks does, in a few lines: the active context follows
    // the async call chain.
    const storage = new AsyncLocalStorage<Context>()
    const manager: ContextManager = {
      active: () => storage.getStore() ?? ROOT_CONTEXT,
      with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
      bind: (_ctx, target) => target,
      enable() {
        return this
      },
      disable() {
        return this
      },
    }
    assert.ok(otelContext.setGlobalContextManager(manager))
    try {
      const parent = tracerProvider.getTracer('test').startSpan('GET /orders')
      const token = await issuer.sign({ sub: 'dave' })
      await otelContext.with(trace.setSpan(ROOT_CONTEXT, parent), () => verifier.verify(token))
      parent.end()
      const child = spanExporter.getFinishedSpans().at(-2)!
      assert.equal(child.name, 'jwt-gate verify')
      assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId)
      assert.equal(child.spanContext().traceId, parent.spanContext().traceId)
    } finally {
      otelContext.disable()
    }
  })

  test('close() stops recording', async () => {
    const before = sum((await collect()).get('jwt_gate.verifications'), {})
    const spansBefore = spanExporter.getFinishedSpans().length
    const quiet = instrument({ meterProvider, tracerProvider, spans: true })
    quiet.close()
    telemetry.close()
    await send(`${app.url}/me`)
    assert.equal(sum((await collect()).get('jwt_gate.verifications'), {}), before)
    assert.equal(spanExporter.getFinishedSpans().length, spansBefore)
  })
})
