/**
 * The key-rotation contestants: each builds a verifier that reads keys from a remote JWKS the
 * way its documentation shows, with default cache and rate-limit settings unless the label
 * says otherwise. express-oauth2-jwt-bearer exports no verifier of its own, so its middleware is
 * called directly.
 */
import type { Request, Response } from 'express'
import { auth } from 'express-oauth2-jwt-bearer'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import jwksRsa from 'jwks-rsa'
import { createVerifier } from 'jwt-gate'
import type { TestIssuer } from 'jwt-gate/testing'
import { AUDIENCE } from './fixtures.js'

/** A verifier under test; `verify` rejects for a refused token. */
export interface JwksVerifier {
  verify(token: string): Promise<unknown>
  close(): Promise<void>
}

/** One library (and configuration) in the JWKS scenarios. */
export interface JwksContestant {
  readonly id: string
  readonly label: string
  /** How it is driven: a direct call, or HTTP to its middleware. */
  readonly via: string
  readonly kind: 'jwt-gate' | 'peer'
  create(issuer: TestIssuer): JwksVerifier
}

/** Every contestant of the JWKS scenarios. */
export const JWKS_CONTESTANTS: readonly JwksContestant[] = [
  {
    id: 'jwt-gate',
    label: 'jwt-gate',
    via: 'verifier.verify()',
    kind: 'jwt-gate',
    create(issuer) {
      const verifier = createVerifier({
        issuer: issuer.url,
        audience: AUDIENCE,
        jwksUri: issuer.jwksUri,
      })
      return { verify: (token) => verifier.verify(token), close: () => verifier.close() }
    },
  },
  {
    id: 'jose',
    label: 'jose createRemoteJWKSet',
    via: 'jwtVerify()',
    kind: 'peer',
    create(issuer) {
      const keys = createRemoteJWKSet(new URL(issuer.jwksUri))
      const options = { issuer: issuer.url, audience: AUDIENCE }
      return { verify: (token) => jwtVerify(token, keys, options), close: async () => {} }
    },
  },
  {
    id: 'express-oauth2-jwt-bearer',
    label: 'express-oauth2-jwt-bearer',
    via: 'its middleware, called with a request object',
    kind: 'peer',
    create: (issuer) => oauth2BearerMiddleware(issuer),
  },
  {
    id: 'jwks-rsa',
    label: 'jwks-rsa (defaults: cache, no rate limit)',
    via: 'getSigningKey() + jsonwebtoken.verify()',
    kind: 'peer',
    create: (issuer) => jwksRsaVerifier(issuer, { cache: true, rateLimit: false }),
  },
  {
    id: 'jwks-rsa-rate-limit',
    label: 'jwks-rsa (cache + rateLimit 10/min)',
    via: 'getSigningKey() + jsonwebtoken.verify()',
    kind: 'peer',
    create: (issuer) =>
      jwksRsaVerifier(issuer, { cache: true, rateLimit: true, jwksRequestsPerMinute: 10 }),
  },
]

function jwksRsaVerifier(
  issuer: TestIssuer,
  options: { cache: boolean; rateLimit: boolean; jwksRequestsPerMinute?: number },
): JwksVerifier {
  const client = jwksRsa({ jwksUri: issuer.jwksUri, ...options })
  const verifyOptions = {
    issuer: issuer.url,
    audience: AUDIENCE,
    algorithms: ['RS256' as const],
  }
  return {
    async verify(token) {
      const decoded = jsonwebtoken.decode(token, { complete: true })
      if (!decoded) throw new Error('malformed token')
      const key = await client.getSigningKey(decoded.header.kid)
      return jsonwebtoken.verify(token, key.getPublicKey(), verifyOptions)
    },
    close: async () => {},
  }
}

/**
 * express-oauth2-jwt-bearer's middleware called directly with the parts of an Express request
 * it reads: the verification is the library's own, without an HTTP round trip per request.
 */
function oauth2BearerMiddleware(issuer: TestIssuer): JwksVerifier {
  const middleware = auth({ issuer: issuer.url, jwksUri: issuer.jwksUri, audience: AUDIENCE })
  return {
    verify(token) {
      const headers = { host: 'api.bench.test', authorization: `Bearer ${token}` }
      const request = {
        headers,
        method: 'GET',
        protocol: 'https',
        url: '/',
        originalUrl: '/',
        query: {},
        body: undefined,
        get: (name: string) => headers[name.toLowerCase() as keyof typeof headers],
        is: () => false,
      }
      return new Promise((resolve, reject) => {
        const next = (error?: unknown) => {
          if (error === undefined) resolve(true)
          else reject(error instanceof Error ? error : new Error('rejected', { cause: error }))
        }
        void middleware(request as unknown as Request, {} as Response, next)
      })
    },
    close: async () => {},
  }
}
