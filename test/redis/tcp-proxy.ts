/**
 * A TCP proxy on loopback in front of Redis, to take one process off the network while Redis
 * and every other process carry on: `cut()` resets every connection and refuses new ones,
 * `blackhole()` keeps connections open but silently drops what they carry (a half-open path, as
 * after a network partition), `heal()` lets new connections through again.
 */
import { createConnection, createServer, type Socket } from 'node:net'

/** A running proxy. */
export interface TcpProxy {
  readonly port: number
  cut(): void
  blackhole(): void
  heal(): void
  close(): Promise<void>
}

/** Proxy 127.0.0.1:<random> → 127.0.0.1:`targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: 'open' | 'cut' | 'blackhole' = 'open'
  const pairs = new Set<{ client: Socket; upstream: Socket; dropped: boolean }>()

  const server = createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy()
      return
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    const pair = { client, upstream, dropped: mode === 'blackhole' }
    pairs.add(pair)
    client.on('data', (chunk) => {
      if (!pair.dropped) upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!pair.dropped) client.write(chunk)
    })
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }

  return {
    port,
    cut() {
      mode = 'cut'
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy()
        upstream.destroy()
      }
      pairs.clear()
    },
    blackhole() {
      mode = 'blackhole'
      for (const pair of pairs) pair.dropped = true
    },
    heal() {
      mode = 'open'
    },
    close() {
      for (const { client, upstream } of pairs) {
        client.destroy()
        upstream.destroy()
      }
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
