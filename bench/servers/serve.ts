/**
 * The child side of an HTTP benchmark server: read `--variant` and `--config`, build that
 * variant's server, listen on 127.0.0.1 (a random port), report `ready`, and exit on `stop` or
 * when the parent goes away (so an interrupted run leaves no server behind).
 */
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import type { ReadyMessage, ServerConfig } from './protocol.js'

/** A listening server. */
export interface BenchServer {
  readonly port: number
  close(): Promise<void>
}

/** Builds one variant's server. */
export type ServerFactory = (config: ServerConfig) => Promise<BenchServer>

/** The JSON body every benchmark route answers with (bare and guarded alike). */
export const BODY = { ok: true }

/** Serve a plain Node request listener (Express, Koa) on 127.0.0.1. */
export async function listen(listener: RequestListener): Promise<BenchServer> {
  const server = createServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Entry point of a framework's server file: start the variant named on the command line. */
export async function serve(factories: Record<string, ServerFactory>): Promise<void> {
  const { values } = parseArgs({
    options: { variant: { type: 'string' }, config: { type: 'string' } },
    strict: true,
  })
  const factory = values.variant === undefined ? undefined : factories[values.variant]
  if (!factory || values.config === undefined || !process.send) {
    throw new Error(
      `usage (forked with IPC): --variant <${Object.keys(factories).join('|')}> --config <json>`,
    )
  }
  const server = await factory(JSON.parse(values.config) as ServerConfig)
  const stop = () => {
    void server.close().finally(() => process.exit(0))
  }
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stop') stop()
  })
  process.on('disconnect', stop)
  const ready: ReadyMessage = { type: 'ready', port: server.port }
  process.send(ready)
}
