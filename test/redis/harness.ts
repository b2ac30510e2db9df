/**
 * Shared pieces of the Redis denylist tests: the three client libraries behind one factory
 * shape, a small Express API guarded by a verifier with the denylist (GET /me, POST /logout,
 * POST /logout-everywhere), event capture on `jwt-gate:denylist`, and a tripwire for unhandled
 * rejections and uncaught exceptions (a Redis outage must never produce either).
 */
import express, { type ErrorRequestHandler } from 'express'
import { Redis } from 'ioredis'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from 'redis'
import { createClient as createClient4 } from 'redis4'
import { requireJwt } from '../../adapters/express.js'
import { CHANNELS, type DenylistEvent } from '../../src/events.js'
import { createVerifier, isAuthError, type Verifier } from '../../src/index.js'
import type { RedisClientLike, RedisDenylist } from '../../src/redis/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { listen, type Listening } from '../helpers/http.js'

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

/** ioredis 5, node-redis 5 and node-redis 4 (the `redis4` npm alias). */
export const CLIENTS: ClientFactory[] = [
  {
    name: 'ioredis',
    connect(port, { listenForErrors = true, retryMs = 100 } = {}) {
      const client = new Redis(port, '127.0.0.1', {
        retryStrategy: () => retryMs,
        disconnectTimeout: 100,
      })
      if (listenForErrors) client.on('error', quiet)
      return Promise.resolve({
        client,
        command: (args) => client.call(args[0]!, ...args.slice(1)),
        close: () => Promise.resolve(client.disconnect()),
      })
    },
  },
  {
    name: 'node-redis@5',
    async connect(port, { listenForErrors = true, wait = true, retryMs = 100 } = {}) {
      const client = createClient({
        socket: { host: '127.0.0.1', port, reconnectStrategy: () => retryMs },
      })
      if (listenForErrors) client.on('error', quiet)
      const connecting = client.connect()
      if (wait) await connecting
      else connecting.catch(quiet)
      return {
        client,
        command: (args) => client.sendCommand(args),
        close: () => Promise.resolve(client.isOpen ? client.destroy() : undefined),
      }
    },
  },
  {
    name: 'node-redis@4',
    async connect(port, { listenForErrors = true, wait = true, retryMs = 100 } = {}) {
      const client = createClient4({
        socket: { host: '127.0.0.1', port, reconnectStrategy: () => retryMs },
      })
      if (listenForErrors) client.on('error', quiet)
      const connecting = client.connect()
      if (wait) await connecting
      else connecting.catch(quiet)
      return {
        client,
        command: (args) => client.sendCommand(args),
        close: async () => {
          if (client.isOpen) await client.disconnect()
        },
      }
    },
  },
]

/** node-redis 5 speaking RESP3 (maps instead of flat arrays in some replies). */
export const RESP3_CLIENT: ClientFactory = {
  name: 'node-redis@5 (RESP3)',
  async connect(port, { listenForErrors = true } = {}) {
    const client = createClient({
      RESP: 3,
      socket: { host: '127.0.0.1', port, reconnectStrategy: () => 100 },
    })
    if (listenForErrors) client.on('error', quiet)
    await client.connect()
    return {
      client,
      command: (args) => client.sendCommand(args),
      close: () => Promise.resolve(client.isOpen ? client.destroy() : undefined),
    }
  },
}

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
