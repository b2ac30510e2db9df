/**
 * The system under soak, in the orchestrator's process: the identity provider's JWKS endpoint
 * on loopback, a redis-server child (append-only file fsynced on every write, so a crash loses
 * no revocation), the Redis denylist, and an Express 5 API guarded by jwt-gate — all imported
 * from the built package, exactly as a user imports it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Response } from 'express'
import type { RedisDenylist } from 'jwt-gate/redis'
import type { RedisServer } from '../../test/helpers/redis-server.js'
import { AUDIENCE, ISSUER, type Alg } from './protocol.js'

/** The running system. */
export interface SoakSystem {
  apiUrl: string
  /** JWKS requests served so far. */
  jwksRequests(): number
  /** Publish one more key in the JWKS (the rotation). */
  publish(jwk: object): void
  denylist: RedisDenylist
  /** The redis-server child, to kill and restart. */
  redis: RedisServer
  /** Close the verifier (its caches stay as full as they were until then). */
  closeVerifier(): Promise<void>
  /** Stop everything else. */
  close(): Promise<void>
}

/** Start the JWKS server (publishing `firstJwk`), Redis, the denylist and the API. */
export async function startSystem(settings: {
  alg: Alg
  firstJwk: object
  maxStaleness: string
}): Promise<SoakSystem> {
  // Imported here so a loader process never loads Express, ioredis or the package.
  const [{ default: express }, { Redis }, gate, { requireJwt }, { redisDenylist }, redisHelper] =
    await Promise.all([
      import('express'),
      import('ioredis'),
      import('jwt-gate'),
      import('jwt-gate/express'),
      import('jwt-gate/redis'),
      import('../../test/helpers/redis-server.js'),
    ])

  // The identity provider's JWKS endpoint.
  const published: object[] = [settings.firstJwk]
  let jwksRequests = 0
  const jwksServer: Server = createServer((_req, res) => {
    jwksRequests++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys: published }))
  })
  const jwksUrl = await listenOn(jwksServer)

  // Redis, the denylist, the API.
  const redis = await redisHelper.startRedisServer()
  const client = new Redis(redis.port, '127.0.0.1', {
    retryStrategy: () => 100,
    maxRetriesPerRequest: 1,
  })
  client.on('error', () => {})
  const denylist = redisDenylist({ client, maxStaleness: settings.maxStaleness })
  await denylist.ready()

  const guard = requireJwt({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `${jwksUrl}/jwks`,
    algorithms: [settings.alg],
    denylist,
  })
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.get('/me', guard, (req, res) => {
    res.json({ sub: req.auth?.payload.sub, jti: req.auth?.payload.jti })
  })
  app.use((error: unknown, _req: unknown, res: Response, next: (error: unknown) => void) => {
    if (!gate.isAuthError(error)) return next(error)
    res.status(error.status).set(error.headers).json({ reason: error.reason })
  })
  const apiServer = createServer(app)
  apiServer.keepAliveTimeout = 60_000
  const apiUrl = await listenOn(apiServer)

  return {
    apiUrl,
    jwksRequests: () => jwksRequests,
    publish: (jwk) => void published.push(jwk),
    denylist,
    redis,
    closeVerifier: () => guard.verifier.close(),
    async close() {
      await denylist.close()
      client.disconnect()
      await new Promise((resolve) => apiServer.close(resolve))
      apiServer.closeAllConnections()
      jwksServer.close()
      jwksServer.closeAllConnections()
      await redis.close()
    },
  }
}

function listenOn(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}
