/**
 * Read one header from either request shape the core accepts: Node's lowercase object
 * (`IncomingMessage`, and the Express, Koa and Fastify requests built on it) or a Fetch
 * `Headers` (`Request` in Hono, Next.js route handlers, Bun, Deno).
 */
import type { HeadersLike, NodeHeaders, RequestLike } from './types.js'

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
