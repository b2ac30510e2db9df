/**
 * (2) One bounded GET of a JSON document (a JWKS or an OIDC discovery document): a timeout, a
 * size cap read as the body streams in, no redirects, and `https:` only unless the host is
 * loopback or the caller allowed plain HTTP. Uses the runtime's `fetch`, so the core pulls in
 * no HTTP client of its own.
 */

/** Limits of one fetch. */
export interface FetchLimits {
  timeoutMs: number
  maxBytes: number
  allowInsecureHttp: boolean
}

/** Why a fetch failed; the message names the URL for logs, never for clients. */
export class FetchError extends Error {
  /** `network`, `timeout`, `status`, `redirect`, `too_large` or `invalid_json`. */
  readonly kind: 'network' | 'timeout' | 'status' | 'redirect' | 'too_large' | 'invalid_json'
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined
  constructor(
    kind: FetchError['kind'],
    message: string,
    details: { cause?: unknown; status?: number } = {},
  ) {
    super(message, 'cause' in details ? { cause: details.cause } : undefined)
    this.name = 'FetchError'
    this.kind = kind
    this.status = details.status
  }
}

/**
 * Parse and vet a key-server URL: `https:`, or `http:` on loopback (or when allowed).
 * Throws `TypeError` so a bad `jwksUri` fails at `createVerifier` time.
 */
export function checkFetchUrl(raw: string, allowInsecureHttp: boolean, what: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new TypeError(`${what} is not an absolute URL`)
  }
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && (allowInsecureHttp || isLoopback(url.hostname))) return url
  throw new TypeError(
    `${what} must use https: (http: is allowed only on loopback, or with allowInsecureHttp)`,
  )
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** GET `url` and parse its JSON body within `limits`. Rejects with `FetchError`. */
export async function fetchJson(url: URL, limits: FetchLimits): Promise<unknown> {
  return (await fetchJsonResponse(url, limits)).document
}

/** As `fetchJson`, with the response headers too (the `jwks` CLI reads the cache headers). */
export async function fetchJsonResponse(
  url: URL,
  limits: FetchLimits,
): Promise<{ document: unknown; headers: Headers }> {
  let response: Response
  try {
    response = await fetch(url, {
      redirect: 'manual',
      headers: { accept: 'application/json, application/jwk-set+json' },
      signal: AbortSignal.timeout(limits.timeoutMs),
    })
  } catch (error) {
    throw asFetchError(error, url)
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel()
    throw new FetchError('redirect', `${url.href} answered a redirect, which is never followed`, {
      status: response.status,
    })
  }
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new FetchError('status', `${url.href} answered HTTP ${response.status}`, {
      status: response.status,
    })
  }
  const declared = Number(response.headers.get('content-length'))
  if (declared > limits.maxBytes) {
    await response.body?.cancel()
    throw new FetchError(
      'too_large',
      `${url.href} sent ${declared} bytes; the limit is ${limits.maxBytes}`,
    )
  }
  const text = await readCapped(response, url, limits.maxBytes)
  try {
    return { document: JSON.parse(text) as unknown, headers: response.headers }
  } catch (error) {
    throw new FetchError('invalid_json', `${url.href} did not send JSON`, { cause: error })
  }
}

/** Read the body as UTF-8, giving up as soon as it passes `maxBytes`. */
async function readCapped(response: Response, url: URL, maxBytes: number): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > maxBytes) {
        await reader.cancel()
        throw new FetchError('too_large', `${url.href} sent more than ${maxBytes} bytes`)
      }
      chunks.push(value)
    }
  } catch (error) {
    throw asFetchError(error, url)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

function asFetchError(error: unknown, url: URL): FetchError {
  if (error instanceof FetchError) return error
  const name = (error as { name?: string } | null)?.name
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new FetchError('timeout', `${url.href} did not answer in time`, { cause: error })
  }
  return new FetchError('network', `${url.href} could not be reached`, { cause: error })
}
