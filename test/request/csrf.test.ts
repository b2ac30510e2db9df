/**
 * Cookie-mode CSRF (src/request/csrf.ts): same-origin means the whole origin — scheme, host and
 * port (RFC 6454) — not the Host header alone. The scheme comes from the configured public
 * origin (`csrf.origin`, for servers behind TLS termination), else from the socket (TLS or
 * not); never from `X-Forwarded-Proto`, which any client can send.
 */
import assert from 'node:assert/strict'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { after, before, describe, test } from 'node:test'
import {
  createVerifier,
  isAuthError,
  type CsrfOptions,
  type RequestLike,
  type Verifier,
} from '../../src/index.js'
import { listen, send } from '../helpers/http.js'
import { selfSignedCertificate } from '../helpers/tls.js'
import { hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'urn:issuer'
const audience = 'urn:api'
const secret = 'c'.repeat(48)
const verifiers: Verifier[] = []
let cookie: string

before(() => {
  const token = hmacToken(
    { alg: 'HS256' },
    { iss: issuer, aud: audience, exp: nowSeconds() + 300, sub: 's' },
    secret,
  )
  cookie = `access_token=${token}`
})
after(() => Promise.all(verifiers.map((verifier) => verifier.close())))

function cookieVerifier(csrf?: CsrfOptions): Verifier {
  const verifier = createVerifier({
    issuer,
    audience,
    secret,
    token: { cookie: 'access_token' },
    ...(csrf ? { csrf } : {}),
  })
  verifiers.push(verifier)
  return verifier
}

/** A Node-shaped POST (no socket: not TLS) with the cookie and `headers`. */
const nodePost = (headers: Record<string, string>): RequestLike => ({
  method: 'POST',
  headers: { cookie, ...headers },
})

/** 'ok' when the request passes, else the refusal's reason (which must be a 403 csrf). */
async function outcome(verifier: Verifier, request: RequestLike): Promise<string> {
  try {
    await verifier.verifyRequest(request)
    return 'ok'
  } catch (error) {
    assert.ok(isAuthError(error), String(error))
    assert.equal(error.status, 403, error.message)
    assert.equal(error.code, 'invalid_request')
    return error.reason
  }
}

describe('csrf: the whole origin', () => {
  test('Host api.test:8080 over plain HTTP: only http://api.test:8080 is same-origin', async () => {
    const verifier = cookieVerifier()
    const host = { host: 'api.test:8080' }
    assert.equal(
      await outcome(verifier, nodePost({ ...host, origin: 'http://api.test:8080' })),
      'ok',
    )
    assert.equal(
      await outcome(verifier, nodePost({ ...host, referer: 'http://api.test:8080/page?q' })),
      'ok',
    )
    for (const origin of [
      'https://api.test:8080', // the reported case: another scheme, same host and port
      'http://api.test', // another port
      'http://api.test:8081',
      'ws://api.test:8080',
      'http://evil.test:8080',
    ]) {
      assert.equal(await outcome(verifier, nodePost({ ...host, origin })), 'csrf', origin)
      assert.equal(
        await outcome(verifier, nodePost({ ...host, referer: `${origin}/page` })),
        'csrf',
        `referer ${origin}`,
      )
    }
  })

  test('default ports are the same origin written either way', async () => {
    const verifier = cookieVerifier()
    assert.equal(
      await outcome(verifier, nodePost({ host: 'api.test', origin: 'http://api.test:80' })),
      'ok',
    )
    assert.equal(
      await outcome(verifier, nodePost({ host: 'api.test:80', origin: 'http://api.test' })),
      'ok',
    )
    assert.equal(
      await outcome(verifier, nodePost({ host: 'API.test', origin: 'http://api.test' })),
      'ok',
    )
  })

  test('X-Forwarded-Proto and X-Forwarded-Host are never trusted', async () => {
    const verifier = cookieVerifier()
    const forwarded = {
      host: 'api.test',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.test',
      forwarded: 'proto=https;host=api.test',
    }
    assert.equal(
      await outcome(verifier, nodePost({ ...forwarded, origin: 'https://api.test' })),
      'csrf',
    )
    assert.equal(
      await outcome(verifier, nodePost({ ...forwarded, origin: 'http://api.test' })),
      'ok',
    )
  })

  test('a Host that is not a plain host[:port] never matches', async () => {
    const verifier = cookieVerifier()
    for (const host of ['evil.test@api.test', 'api.test/x', 'api.test:8080:1', '']) {
      assert.equal(
        await outcome(verifier, nodePost({ host, origin: 'http://api.test' })),
        'csrf',
        host,
      )
    }
  })

  test('a Fetch Request is judged by the scheme of its own URL', async () => {
    const verifier = cookieVerifier()
    const post = (url: string, origin: string) =>
      new Request(url, { method: 'POST', headers: { cookie, origin } })
    assert.equal(await outcome(verifier, post('https://api.test/x', 'https://api.test')), 'ok')
    assert.equal(await outcome(verifier, post('https://api.test/x', 'http://api.test')), 'csrf')
    assert.equal(await outcome(verifier, post('http://api.test/x', 'https://api.test')), 'csrf')
  })
})

describe('csrf.origin: the public origin behind TLS termination', () => {
  test('a configured origin replaces the Host-derived one (and a Fetch URL)', async () => {
    const verifier = cookieVerifier({ origin: 'https://api.example.com' })
    const host = { host: 'internal:3000' }
    assert.equal(
      await outcome(verifier, nodePost({ ...host, origin: 'https://api.example.com' })),
      'ok',
    )
    assert.equal(
      await outcome(verifier, nodePost({ ...host, referer: 'https://api.example.com/app' })),
      'ok',
    )
    for (const origin of [
      'http://api.example.com',
      'https://api.example.com:8443',
      'http://internal:3000',
    ]) {
      assert.equal(await outcome(verifier, nodePost({ ...host, origin })), 'csrf', origin)
    }
    const fetchPost = new Request('http://internal:3000/x', {
      method: 'POST',
      headers: { cookie, origin: 'http://internal:3000' },
    })
    assert.equal(await outcome(verifier, fetchPost), 'csrf')
  })

  test('allowedOrigins still apply with a configured origin', async () => {
    const verifier = cookieVerifier({
      origin: 'https://api.example.com',
      allowedOrigins: ['https://app.example.com'],
    })
    assert.equal(await outcome(verifier, nodePost({ origin: 'https://app.example.com' })), 'ok')
  })

  test('a function computes it per request from what the core reads; throwing or nonsense refuses', async () => {
    const seen: RequestLike[] = []
    const verifier = cookieVerifier({
      origin: (request) => {
        seen.push(request)
        return 'https://tenant.example.com:443/'
      },
    })
    const request = nodePost({ origin: 'https://tenant.example.com' })
    assert.equal(await outcome(verifier, request), 'ok')
    assert.equal(seen[0], request)
    assert.equal(await outcome(verifier, nodePost({ origin: 'http://tenant.example.com' })), 'csrf')

    for (const broken of [
      () => {
        throw new Error('no tenant')
      },
      () => 'not an origin',
      () => 42 as unknown as string,
      () => 'null',
    ]) {
      const refusing = cookieVerifier({ origin: broken })
      assert.equal(await outcome(refusing, nodePost({ origin: 'null' })), 'csrf')
      assert.equal(
        await outcome(refusing, nodePost({ host: 'api.test', origin: 'http://api.test' })),
        'csrf',
      )
    }
  })

  test('option checks: an origin only (no path), or a function', () => {
    const bad = (origin: unknown, message: RegExp) =>
      assert.throws(
        () => cookieVerifier({ origin } as CsrfOptions),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
      )
    bad('https://api.example.com/v1', /csrf\.origin.*scheme:\/\/host\[:port\] only/)
    bad('api.example.com', /csrf\.origin.*not an origin/)
    bad('', /csrf\.origin/)
    bad(42, /csrf\.origin must be an origin string or a function/)
    // A trailing slash is the same origin.
    assert.ok(cookieVerifier({ origin: 'https://api.example.com/' }))
  })
})

describe('csrf over real sockets: the scheme comes from the socket', () => {
  /** A server that answers with verifyRequest's outcome for each request. */
  const handler = (verifier: Verifier) => (req: IncomingMessage, res: ServerResponse) => {
    outcome(verifier, req).then(
      (result) => res.end(result),
      (error: unknown) => {
        res.statusCode = 500
        res.end(String(error))
      },
    )
  }

  test('plain HTTP: https:// on the same host and port is cross-origin', async () => {
    const verifier = cookieVerifier()
    const server = await listen(createHttpServer(handler(verifier)))
    try {
      const post = async (origin: string) =>
        (await send(server.url, { method: 'POST', headers: { cookie, origin } })).body
      assert.equal(await post(server.url), 'ok')
      assert.equal(await post(server.url.replace(/^http:/, 'https:')), 'csrf')
    } finally {
      await server.close()
    }
  })

  test('TLS: https:// on the same host and port is same-origin, http:// is not', async () => {
    const tls = selfSignedCertificate()
    const verifier = cookieVerifier()
    const listening = await listen(createHttpsServer(tls, handler(verifier)))
    const url = listening.url.replace(/^http:/, 'https:')
    try {
      const post = async (headers: Record<string, string>) =>
        (await send(url, { method: 'POST', headers: { cookie, ...headers }, ca: tls.cert })).body
      assert.equal(await post({ origin: url }), 'ok')
      assert.equal(await post({ referer: `${url}/page` }), 'ok')
      assert.equal(await post({ origin: listening.url }), 'csrf')
      assert.equal(await post({ origin: listening.url, 'x-forwarded-proto': 'http' }), 'csrf')
    } finally {
      await listening.close()
    }
  })
})
