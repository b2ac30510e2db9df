/**
 * Logout that holds across every instance of an API: `POST /logout` revokes the caller's token
 * in a Redis denylist shared by all instances, and a second instance — another process —
 * refuses that token from then on, with no Redis round trip per request (each instance checks
 * its own replica, kept current from Redis).
 *
 * Run it: `REDIS_URL=redis://127.0.0.1:6379 node --import tsx examples/redis-denylist.ts`
 * (after `npm run build`). It starts a test identity provider and instance A in this process,
 * starts instance B as a child process, then: B accepts a token, A logs it out, B refuses it.
 */
import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import express, { type ErrorRequestHandler } from 'express'
import { Redis } from 'ioredis'
import { createVerifier, isAuthError } from 'jwt-gate'
import { requireJwt } from 'jwt-gate/express'
import { redisDenylist } from 'jwt-gate/redis'
import { createTestIssuer } from 'jwt-gate/testing'

export const AUDIENCE = 'https://api.example.com'

/** A running API instance. */
export interface RedisApiInstance {
  url: string
  close(): Promise<void>
}

/** One instance of the API: its own Redis connection, denylist replica and verifier. */
export async function startRedisApi(options: {
  redisUrl: string
  issuerUrl: string
  jwksUri: string
  port?: number
}): Promise<RedisApiInstance> {
  const redis = new Redis(options.redisUrl)
  // ioredis retries on its own; say once what is wrong rather than on every attempt.
  redis.once('error', (error: Error) => {
    console.error(`redis: ${error.message} (start redis-server or set REDIS_URL); retrying…`)
    redis.on('error', () => {})
  })
  const denylist = redisDenylist({ client: redis, prefix: 'example-api:' })
  const verifier = createVerifier({
    issuer: options.issuerUrl,
    audience: AUDIENCE,
    jwksUri: options.jwksUri,
    denylist,
  })
  // Serving before the first load would only answer 503 (fail closed); wait for it.
  await denylist.ready()

  const app = express()
  const auth = requireJwt(verifier)
  app.get('/me', auth, (req, res) => {
    res.json({ sub: req.auth?.payload.sub })
  })
  // Logout: refuse this very token, in every instance, until it expires.
  app.post('/logout', auth, (req, res, next) => {
    const { jti, exp } = req.auth!.payload
    denylist.revoke({ jti: jti!, exp: exp! }).then(() => res.status(204).end(), next)
  })
  // Logout everywhere (password change): every token of this user issued until now.
  app.post('/logout-everywhere', auth, (req, res, next) => {
    denylist.revokeSubject(req.auth!.payload.sub!).then(() => res.status(204).end(), next)
  })
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (!isAuthError(err)) return next(err)
    res.status(err.status).set(err.headers).json({ error: err.code, reason: err.reason })
  }
  app.use(onError)

  const server = app.listen(options.port ?? 0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await verifier.close()
      await denylist.close()
      await redis.quit()
    },
  }
}

/** Start instance B as a child process running this file; resolves to its URL. */
async function startSecondInstance(env: Record<string, string>) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, EXAMPLE_ROLE: 'instance' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`instance B exited with ${code}`)))
    createInterface({ input: child.stdout }).once('line', resolve)
  })
  return { url, pid: child.pid, stop: () => child.kill('SIGTERM') }
}

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  if (process.env.EXAMPLE_ROLE === 'instance') {
    const instance = await startRedisApi({
      redisUrl,
      issuerUrl: process.env.ISSUER_URL!,
      jwksUri: process.env.JWKS_URI!,
    })
    console.log(instance.url)
    process.once('SIGTERM', () => void instance.close())
    return
  }

  const issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
  const a = await startRedisApi({ redisUrl, issuerUrl: issuer.url, jwksUri: issuer.jwksUri })
  const b = await startSecondInstance({
    REDIS_URL: redisUrl,
    ISSUER_URL: issuer.url,
    JWKS_URI: issuer.jwksUri,
  })
  console.log(`instance A (this process): ${a.url}`)
  console.log(`instance B (pid ${b.pid}):   ${b.url}`)
  try {
    const token = await issuer.sign({ sub: 'demo-user' })
    const headers = { authorization: `Bearer ${token}` }
    const before = await fetch(`${b.url}/me`, { headers })
    console.log(`GET  B /me      → ${before.status}`)
    const logout = await fetch(`${a.url}/logout`, { method: 'POST', headers })
    console.log(`POST A /logout  → ${logout.status}`)
    const loggedOutAt = performance.now()
    // B learns of the revocation from Redis within milliseconds; poll briefly to show it.
    let after = await fetch(`${b.url}/me`, { headers })
    while (after.status === 200 && performance.now() - loggedOutAt < 1000) {
      after = await fetch(`${b.url}/me`, { headers })
    }
    const body = (await after.json()) as { error?: string; reason?: string }
    const took = (performance.now() - loggedOutAt).toFixed(1)
    console.log(`GET  B /me      → ${after.status} ${body.error} (${body.reason}) after ${took} ms`)
  } finally {
    b.stop()
    await a.close()
    await issuer.close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main()
}
