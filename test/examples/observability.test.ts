/**
 * The observability example starts, counts jwt-gate's events with prom-client and logs them with
 * pino: a cache miss and a hit, three refusals by reason, the JWKS fetch; and neither the
 * metrics nor the log lines contain a token. It imports the public specifiers, so this runs
 * against the built package (`npm test` builds first).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, test } from 'node:test'
import { startObservabilityExample } from '../../examples/observability.js'
import { bearer, send } from '../helpers/http.js'

describe('examples/observability', () => {
  test('counts verified (miss, hit), rejected by reason and JWKS fetches; logs them; never the token', async () => {
    const lines: string[] = []
    const example = await startObservabilityExample(0, {
      write: (line: string) => void lines.push(line),
    })
    try {
      const good = await example.issuer.sign({ sub: 'u1' })
      const expired = await example.issuer.sign({ sub: 'u1' }, { expiresIn: -60 })
      const elsewhere = await example.issuer.sign({ sub: 'u1', aud: 'urn:other' })
      const tokens = [good, expired, elsewhere]
      assert.equal((await send(`${example.url}/me`, { headers: bearer(good) })).status, 200)
      assert.equal((await send(`${example.url}/me`, { headers: bearer(good) })).status, 200)
      assert.equal((await send(`${example.url}/me`, { headers: bearer(expired) })).status, 401)
      assert.equal((await send(`${example.url}/me`, { headers: bearer(elsewhere) })).status, 401)
      assert.equal((await send(`${example.url}/me`)).status, 401)

      const metrics = (await send(`${example.url}/metrics`)).body
      for (const line of [
        'jwt_gate_verified_total{cached="false"} 1',
        'jwt_gate_verified_total{cached="true"} 1',
        'jwt_gate_rejected_total{reason="expired",status="401"} 1',
        'jwt_gate_rejected_total{reason="wrong_audience",status="401"} 1',
        'jwt_gate_rejected_total{reason="no_token",status="401"} 1',
        'jwt_gate_jwks_events_total{type="fetched"} 1',
      ]) {
        assert.ok(metrics.includes(line), `metrics lack: ${line}\n${metrics}`)
      }

      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      const reasons = logged.filter((entry) => entry.event === 'rejected').map((e) => e.reason)
      assert.deepEqual(reasons, ['expired', 'wrong_audience', 'no_token'])
      assert.ok(
        logged.some((entry) => entry.event === 'jwks fetched' && entry.component === 'jwt-gate'),
      )

      for (const token of tokens) {
        for (const piece of [token, ...token.split('.')]) {
          assert.ok(!metrics.includes(piece), 'the metrics contain a token')
          assert.ok(!lines.join('\n').includes(piece), 'the log contains a token')
        }
      }
    } finally {
      await example.close()
    }
  })

  test('runs as a script: prints curl lines and serves /metrics', async () => {
    const root = new URL('../..', import.meta.url).pathname
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/observability.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PORT: '0' },
    })
    try {
      let output = ''
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString()
          if (output.includes('Ctrl+C')) resolve()
        })
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)))
      })
      const metricsUrl = /curl (http:\/\/\S+\/metrics)/.exec(output)![1]!
      const [, token, url] = /-H 'Authorization: Bearer ([^']+)' (\S+)$/m.exec(output)!
      assert.equal((await send(url!, { headers: bearer(token!) })).status, 200)
      assert.match((await send(metricsUrl)).body, /jwt_gate_verified_total\{cached="false"\} 1/)
    } finally {
      child.kill('SIGTERM')
    }
  })
})
