/**
 * One way to talk to ioredis (`Redis`, `Cluster`) and node-redis (client, cluster) without
 * importing either: the client is recognised by its methods, commands go out raw (`call` or
 * `sendCommand`) so replies are the same plain RESP data whatever the library, and every
 * command names its key so cluster clients route it.
 *
 * The sync loop reads on a dedicated connection (`duplicate()`), configured to fail fast
 * rather than queue while Redis is away, with its socket unref'd so it never keeps a process
 * alive on its own.
 */
import type { Socket } from 'node:net'

/** Send one command; `key` is the key it touches (for cluster routing). */
export type SendCommand = (key: string, args: string[]) => Promise<unknown>

/** A connection the denylist owns. */
export interface OwnedConnection {
  send: SendCommand
  /** Whether it is connected and ready for commands (true when the library cannot say). */
  isReady(): boolean
  /** Resolves when it becomes ready, or after `ms` (whichever is first). Never rejects. */
  whenReady(ms: number): Promise<void>
  /** Close it now (in-flight commands reject). Never throws. */
  close(): void
}

/** The user's client, adapted. */
export interface AdaptedClient {
  readonly kind: 'ioredis' | 'ioredis-cluster' | 'node-redis' | 'node-redis-cluster'
  /** Through the user's own client (writes). */
  send: SendCommand
  /** Open a dedicated connection for the sync loop; its errors go to `onError`. */
  openConnection(onError: (error: unknown) => void): OwnedConnection
  /**
   * If the user's client has no 'error' listener, add one that reports to `onError`, so an
   * outage cannot crash the process through it (node-redis throws unhandled 'error' events).
   * Returns the undo.
   */
  guardErrors(onError: (error: unknown) => void): () => void
}

type Listener = (...args: unknown[]) => void

interface Emitter {
  on(event: string, listener: Listener): unknown
  off?(event: string, listener: Listener): unknown
  removeListener?(event: string, listener: Listener): unknown
  listenerCount?(event: string): number
}

interface IoRedis extends Emitter {
  call(command: string, ...args: string[]): Promise<unknown>
  duplicate(...args: unknown[]): IoRedis
  disconnect(): void
  isCluster?: boolean
  status?: string
  options?: { redisOptions?: Record<string, unknown> }
  stream?: Socket
}

interface NodeRedis extends Emitter {
  sendCommand(...args: unknown[]): Promise<unknown>
  duplicate(overrides?: Record<string, unknown>): NodeRedis
  connect(): Promise<unknown>
  destroy?(): void
  disconnect?(): Promise<void>
  unref?(): void
  isReady?: boolean
}

const noop = () => {}

/** Recognise and adapt a client. Throws `TypeError` for anything else. */
export function adaptClient(client: unknown): AdaptedClient {
  const candidate = client as Partial<IoRedis & NodeRedis> | null | undefined
  if (
    candidate &&
    typeof candidate.duplicate === 'function' &&
    typeof candidate.on === 'function'
  ) {
    if (typeof candidate.call === 'function') return adaptIoRedis(candidate as IoRedis)
    if (typeof candidate.sendCommand === 'function' && typeof candidate.connect === 'function') {
      return adaptNodeRedis(candidate as NodeRedis)
    }
  }
  throw new TypeError(
    'redisDenylist: `client` must be an ioredis (Redis or Cluster) or node-redis (v4+) client',
  )
}

function adaptIoRedis(client: IoRedis): AdaptedClient {
  const isCluster = client.isCluster === true
  const send: (target: IoRedis) => SendCommand = (target) => (_key, args) =>
    target.call(args[0]!, ...args.slice(1))
  return {
    kind: isCluster ? 'ioredis-cluster' : 'ioredis',
    send: send(client),
    openConnection(onError) {
      // Fail fast instead of queueing, and reject in-flight commands when the socket drops
      // (maxRetriesPerRequest 0), so the sync loop notices at once and re-checks the log.
      // Closing a socket Redis already dropped would otherwise hold the loop for 2 s.
      const perNode = {
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        disconnectTimeout: 100,
      }
      const connection = isCluster
        ? client.duplicate([], {
            enableOfflineQueue: false,
            lazyConnect: false,
            redisOptions: { ...client.options?.redisOptions, ...perNode },
          })
        : client.duplicate({ ...perNode, enableOfflineQueue: false, lazyConnect: false })
      connection.on('error', onError)
      const unref = (node: IoRedis) => node.on('connect', () => node.stream?.unref())
      if (isCluster) connection.on('+node', (node) => unref(node as IoRedis))
      else unref(connection)
      return {
        send: send(connection),
        isReady: () => connection.status === 'ready',
        whenReady: (ms) => onceReady(connection, ms),
        close: () => {
          try {
            connection.disconnect()
          } catch {
            // already closed
          }
        },
      }
    },
    guardErrors: (onError) => guard(client, onError),
  }
}

function adaptNodeRedis(client: NodeRedis): AdaptedClient {
  // A node-redis cluster has shards; its sendCommand takes (firstKey, isReadonly, args).
  const isCluster = 'masters' in client || 'nodeByAddress' in client
  const send: (target: NodeRedis) => SendCommand = (target) =>
    isCluster
      ? (key, args) => target.sendCommand(key, false, args)
      : (_key, args) => target.sendCommand(args)
  return {
    kind: isCluster ? 'node-redis-cluster' : 'node-redis',
    send: send(client),
    openConnection(onError) {
      // A cluster's per-node options are private to it; it keeps its offline queue and the
      // sync loop's own timeouts cover it.
      const connection = isCluster
        ? client.duplicate()
        : client.duplicate({ disableOfflineQueue: true })
      connection.on('error', onError)
      connection.unref?.()
      let closed = false
      // node-redis retries the first connection itself; a rejection means it gave up.
      connection.connect().catch((error: unknown) => {
        if (!closed) onError(error)
      })
      return {
        send: send(connection),
        isReady: () => connection.isReady ?? true,
        whenReady: (ms) => onceReady(connection, ms),
        close: () => {
          if (closed) return
          closed = true
          try {
            if (typeof connection.destroy === 'function') connection.destroy()
            else connection.disconnect?.().catch(noop)
          } catch {
            // not open
          }
        },
      }
    },
    guardErrors: (onError) => guard(client, onError),
  }
}

function onceReady(connection: Emitter, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      if (typeof connection.off === 'function') connection.off('ready', done)
      else connection.removeListener?.('ready', done)
      resolve()
    }
    const timer = setTimeout(done, ms).unref()
    connection.on('ready', done)
  })
}

function guard(client: Emitter, onError: (error: unknown) => void): () => void {
  if (typeof client.listenerCount !== 'function' || client.listenerCount('error') > 0) return noop
  const listener: Listener = (error) => onError(error)
  client.on('error', listener)
  return () => {
    if (typeof client.off === 'function') client.off('error', listener)
    else client.removeListener?.('error', listener)
  }
}
