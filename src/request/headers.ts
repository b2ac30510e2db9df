/**
 * Read one header from either request shape the core accepts: Node's lowercase object
 * (`IncomingMessage`, and the Express, Koa and Fastify requests built on it) or a Fetch
 * `Headers` (`Request` in Hono, Next.js route handlers, Bun, Deno).
 */
import type { HeadersLike, NodeHeaders, RequestLike } from '../types.js'

/**
 * The value of header `name` (lowercase), or undefined. Repeated headers arrive joined with
 * `', '`, the way Fetch `Headers` joins them, so "two values" stays visible to the caller.
 */
export function readHeader(request: RequestLike, name: string): string | undefined {
  const headers = request.headers
  if (typeof (headers as HeadersLike).get === 'function') {
    return (headers as HeadersLike).get(name) ?? undefined
  }
  const value = (headers as NodeHeaders)[name]
  if (value === undefined || typeof value === 'string') return value
  return value.join(', ')
}

/**
 * How many times header `name` (lowercase) was sent, on a Node request; undefined for a Fetch
 * request, whose `Headers` already joins repeats. Node keeps only the first of some repeated
 * headers (Authorization among them), so only `rawHeaders` shows a second one.
 */
export function countRawHeader(request: RequestLike, name: string): number | undefined {
  const raw = (request as { rawHeaders?: unknown }).rawHeaders
  if (!Array.isArray(raw)) return undefined
  let count = 0
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i] as string
    if (header.length === name.length && header.toLowerCase() === name) count++
  }
  return count
}
