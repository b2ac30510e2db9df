/**
 * Real HTTP on loopback for tests: start a server on a random port, send requests with full
 * control over the headers (duplicates and odd bytes included), read status, headers and body.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
} from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'

/** A server listening on 127.0.0.1. */
export interface Listening {
  url: string
  server: Server
  close(): Promise<void>
}

/** Listen on a random loopback port with a request listener or an existing server. */
export async function listen(handler: RequestListener | Server): Promise<Listening> {
  const server = typeof handler === 'function' ? createServer(handler) : handler
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** A response as the tests look at it. */
export interface TestResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
  json(): any
}

/** Request options: headers as an object, or a raw [name, value, …] list for duplicates. */
export interface TestRequest {
  method?: string
  headers?: Record<string, string> | string[]
  body?: string
  /** For an `https:` URL: the certificate (PEM) to trust, such as a test's self-signed one. */
  ca?: string
}

/**
 * Send one request with node:http (not fetch, which would normalise or refuse the hostile
 * headers several tests need to send).
 */
export function send(url: string, options: TestRequest = {}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    let headers = options.headers
    // A raw [name, value, …] list is sent as is, so it needs its own Host (Node answers 400
    // without one, which would make a test pass for the wrong reason).
    if (
      Array.isArray(headers) &&
      !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host')
    ) {
      headers = ['Host', new URL(url).host, ...headers]
    }
    const tls = url.startsWith('https:')
    const req = (tls ? httpsRequest : httpRequest)(url, {
      method: options.method ?? 'GET',
      headers,
      agent: false,
      ...(tls ? { ca: options.ca } : {}),
    })
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: () => JSON.parse(body),
        })
      })
    })
    req.end(options.body)
  })
}

/** `Authorization: Bearer <token>` as a header object. */
export const bearer = (token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
})
