/**
 * Shared pieces of the Redis denylist tests: every supported client major (ioredis 5 and 6,
 * node-redis 4, 5 and 6; standalone and cluster) behind one factory shape, a small Express API guarded by a verifier with the denylist (GET /me, POST /logout,
 * POST /logout-everywhere), event capture on `jwt-gate:denylist`, and a tripwire for unhandled
 * rejections and uncaught exceptions (a Redis outage must never produce either).
 */
import express, { type ErrorRequestHandler } from 'express'
import * as ioredis5 from 'ioredis'
import * as ioredis6 from 'ioredis6'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as redis5 from 'redis'
import * as redis4 from 'redis4'
import * as redis6 from 'redis6'
import { requireJwt } from '../../adapters/express.js'
import { CHANNELS } from '../../src/events.js'
import type { DenylistEvent } from '../../src/redis/events.js'
import { createVerifier, isAuthError, type Verifier } from '../../src/index.js'
import type { RedisClientLike, RedisDenylist } from '../../src/redis/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { listen, type Listening } from '../helpers/http.js'
import { LATEST_PEERS_DIR, latestPeer, latestPeerVersion } from '../helpers/peers.js'

export const AUDIENCE = 'https://api.example.com'

/** A connected client of one library, and how to close it. */
export interface TestClient {
  client: RedisClientLike
  /** Run a raw command through it (test set-up: writing bad data, reading TTLs). */
  command(args: string[]): Promise<unknown>
  close(): Promise<void>
}

/** One Redis client library. */
export interface ClientFactory {
  name: string
  /** Connect to 127.0.0.1:`port`. */
  connect(port: number, options?: ConnectOptions): Promise<TestClient>
}

/** How a test client connects. */
export interface ConnectOptions {
  /**
   * Whether the client gets an 'error' listener of its own. `false` leaves none (node-redis
   * then relies on the denylist's guard not to crash). Default true.
   */
  listenForErrors?: boolean
  /** Wait until connected (node-redis). `false` for a Redis that is not up yet. Default true. */
  wait?: boolean
  /** Delay between reconnection attempts, ms. Default 100. */
  retryMs?: number
}

const quiet = () => {}

/** The parts of ioredis the tests use (5 and 6 share them). */
type IoRedisModule = Pick<typeof ioredis5, 'Redis' | 'Cluster'>
/** The parts of node-redis the tests use (4, 5 and 6 share them, loosely typed). */
interface NodeRedisModule {
  createClient(options: Record<string, unknown>): NodeRedisTestClient
  createCluster(options: Record<string, unknown>): NodeRedisTestClient
}
interface NodeRedisTestClient {
  on(event: string, listener: (...args: unknown[]) => void): unknown
  connect(): Promise<unknown>
  sendCommand(...args: unknown[]): Promise<unknown>
  destroy?(): void
  disconnect(): Promise<void>
  isOpen: boolean
}

/** A client factory for one ioredis major. */
function ioredisFactory(name: string, lib: IoRedisModule, extra: object = {}): ClientFactory {
  return {
    name,
    connect(port, { listenForErrors = true, retryMs = 100 } = {}) {
      const client = new lib.Redis(port, '127.0.0.1', {
        retryStrategy: () => retryMs,
        disconnectTimeout: 100,
        ...extra,
      })
      if (listenForErrors) client.on('error', quiet)
      return Promise.resolve({
        client,
        command: (args) => client.call(args[0]!, ...args.slice(1)),
        close: () => Promise.resolve(client.disconnect()),
      })
    },
  }
}

/** A client factory for one node-redis major. */
function nodeRedisFactory(name: string, lib: NodeRedisModule, extra: object = {}): ClientFactory {
  return {
    name,
    async connect(port, { listenForErrors = true, wait = true, retryMs = 100 } = {}) {
      const client = lib.createClient({
        socket: { host: '127.0.0.1', port, reconnectStrategy: () => retryMs },
        ...extra,
      })
      if (listenForErrors) client.on('error', quiet)
      const connecting = client.connect()
      if (wait) await connecting
      else connecting.catch(quiet)
      return {
        client: client as unknown as RedisClientLike,
        command: (args) => client.sendCommand(args),
        close: async () => {
          if (!client.isOpen) return
          // destroy() since node-redis 5; 4 only has disconnect().
          if (typeof client.destroy === 'function') client.destroy()
          else await client.disconnect()
        },
      }
    },
  }
}

/** A Redis Cluster client of one library major, for the cluster suite. */
export interface ClusterFactory {
  name: string
  /** Connect to the cluster whose masters are `nodes`. */
  connect(nodes: { host: string; port: number }[]): Promise<TestClient>
}

function ioredisClusterFactory(name: string, lib: IoRedisModule): ClusterFactory {
  return {
    name,
    connect(nodes) {
      const client = new lib.Cluster(nodes, {
        clusterRetryStrategy: () => 100,
        redisOptions: { disconnectTimeout: 100 },
      })
      client.on('error', quiet)
      return Promise.resolve({
        client,
        command: (args) => client.call(args[0]!, ...args.slice(1)),
        close: () => Promise.resolve(client.disconnect()),
      })
    },
  }
}

function nodeRedisClusterFactory(name: string, lib: NodeRedisModule): ClusterFactory {
  return {
    name,
    async connect(nodes) {
      const client = lib.createCluster({
        rootNodes: nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
      })
      client.on('error', quiet)
      await client.connect()
      return {
        client: client as unknown as RedisClientLike,
        command: (args) => client.sendCommand(undefined, false, args),
        close: async () => {
          if (typeof client.destroy === 'function') client.destroy()
          else await client.disconnect()
        },
      }
    },
  }
}

const latest = LATEST_PEERS_DIR
  ? {
      ioredis: await latestPeer<IoRedisModule>('ioredis'),
      redis: await latestPeer<NodeRedisModule>('redis'),
      ioredisVersion: latestPeerVersion('ioredis'),
      redisVersion: latestPeerVersion('redis'),
    }
  : undefined

const node = (lib: unknown) => lib as NodeRedisModule

/**
 * Every supported client major, each with its library's default protocol: ioredis 5 (RESP2),
 * ioredis 6 (RESP3, maps flattened), node-redis 4 and 5 (RESP2), node-redis 6 (RESP3). Under
 * `npm run test:latest`: the newest published ioredis and node-redis instead.
 */
export const CLIENTS: ClientFactory[] = latest
  ? [
      ioredisFactory(`ioredis@${latest.ioredisVersion}`, latest.ioredis),
      nodeRedisFactory(`node-redis@${latest.redisVersion}`, latest.redis),
    ]
  : [
      ioredisFactory('ioredis@5', ioredis5),
      ioredisFactory('ioredis@6', ioredis6 as unknown as IoRedisModule),
      nodeRedisFactory('node-redis@4', node(redis4)),
      nodeRedisFactory('node-redis@5', node(redis5)),
      nodeRedisFactory('node-redis@6', node(redis6)),
    ]

/**
 * The other protocol of the libraries that speak both, for the suites that cover every reply
 * shape: ioredis 6 on RESP2, node-redis 5 on RESP3, node-redis 6 on RESP2.
 */
export const OTHER_PROTOCOL_CLIENTS: ClientFactory[] = latest
  ? []
  : [
      ioredisFactory('ioredis@6 (RESP2)', ioredis6 as unknown as IoRedisModule, { protocol: 2 }),
      nodeRedisFactory('node-redis@5 (RESP3)', node(redis5), { RESP: 3 }),
      nodeRedisFactory('node-redis@6 (RESP2)', node(redis6), { RESP: 2 }),
    ]

/** Every supported cluster client major (the newest ones under `npm run test:latest`). */
export const CLUSTER_CLIENTS: ClusterFactory[] = latest
  ? [
      ioredisClusterFactory(`ioredis@${latest.ioredisVersion} Cluster`, latest.ioredis),
      nodeRedisClusterFactory(`node-redis@${latest.redisVersion} cluster`, latest.redis),
    ]
  : [
      ioredisClusterFactory('ioredis@5 Cluster', ioredis5),
      ioredisClusterFactory('ioredis@6 Cluster', ioredis6 as unknown as IoRedisModule),
      nodeRedisClusterFactory('node-redis@4 cluster', node(redis4)),
      nodeRedisClusterFactory('node-redis@5 cluster', node(redis5)),
      nodeRedisClusterFactory('node-redis@6 cluster', node(redis6)),
    ]

/** A running API guarded by a verifier that consults `denylist`. */
export interface TestApi extends Listening {
  verifier: Verifier
  /** Requests the guarded handlers served. */
  handled: number
}

/** Express app: GET /me, POST /logout (revoke my token), POST /logout-everywhere (my subject). */
export async function startApi(
  denylist: RedisDenylist,
  issuer: Pick<TestIssuer, 'url' | 'jwksUri'>,
): Promise<TestApi> {
  const verifier = createVerifier({
    issuer: issuer.url,
    audience: AUDIENCE,
    jwksUri: issuer.jwksUri,
    denylist,
  })
  const counters = { handled: 0 }
  const app = express()
  const auth = requireJwt(verifier)
  app.get('/me', auth, (req, res) => {
    counters.handled++
    res.json({ sub: req.auth?.payload.sub })
  })
  app.post('/logout', auth, (req, res, next) => {
    counters.handled++
    denylist
      .revoke(req.auth!.payload as { jti: string; exp: number })
      .then(() => res.status(204).end(), next)
  })
  app.post('/logout-everywhere', auth, (req, res, next) => {
    counters.handled++
    denylist.revokeSubject(req.auth!.payload.sub!).then(() => res.status(204).end(), next)
  })
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (!isAuthError(err)) return next(err)
    res.status(err.status).set(err.headers).json({ error: err.code, reason: err.reason })
  }
  app.use(onError)
  const listening = await listen(app as never)
  const closeServer = listening.close.bind(listening)
  return Object.assign(listening, {
    verifier,
    get handled() {
      return counters.handled
    },
    close: async () => {
      await verifier.close()
      await closeServer()
    },
  })
}

/** Everything published on `jwt-gate:denylist` until `stop()`. */
export function captureEvents(): { events: DenylistEvent[]; stop(): void } {
  const events: DenylistEvent[] = []
  const listener = (event: unknown) => events.push(event as DenylistEvent)
  subscribe(CHANNELS.denylist, listener)
  return { events, stop: () => unsubscribe(CHANNELS.denylist, listener) }
}

/**
 * Record unhandled rejections and uncaught exceptions from now on. `check()` throws if any
 * happened; `stop()` removes the hooks.
 */
export function crashTripwire(): { check(): void; stop(): void } {
  const seen: unknown[] = []
  const record = (error: unknown) => seen.push(error)
  process.on('unhandledRejection', record)
  process.on('uncaughtException', record)
  return {
    check() {
      if (seen.length > 0) {
        throw new Error(`unhandled errors: ${seen.map((e) => String(e)).join('; ')}`)
      }
    },
    stop() {
      process.off('unhandledRejection', record)
      process.off('uncaughtException', record)
    },
  }
}

/**
 * The end of a Redis suite, registered as its `after` hook (call inside `describe`): run every
 * closer pushed onto the returned list, newest first, then fail if anything crashed meanwhile.
 * Push a resource's closer right after opening it.
 */
export function suiteCleanup(): (() => Promise<void>)[] {
  const tripwire = crashTripwire()
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const step of cleanup.reverse()) await step()
    tripwire.stop()
    tripwire.check()
  })
  return cleanup
}

/** Poll `probe` until it returns true; resolves to the time it took (ms). */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  intervalMs = 10,
): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await probe()) return performance.now() - started
    if (performance.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    }
    await sleep(intervalMs)
  }
}
