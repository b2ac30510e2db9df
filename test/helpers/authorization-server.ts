/**
 * A real OAuth 2.0 authorization server for interop tests: oidc-provider (v9) on 127.0.0.1 at a
 * free port, issuing JWT access tokens (RFC 9068, `typ: at+jwt`) for one resource through the
 * client_credentials grant, DPoP-bound (RFC 9449) when the token request carries a DPoP proof.
 * Generic on purpose: other interop suites start it with their own resource, scopes and clients.
 *
 * oidc-provider prints "Unsupported runtime" on Node 20; the warning is harmless.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import { generateKeyPairSafelySync } from '../../src/testing/key-generation-sync.js'
import type { KeyPairSpec } from '../../src/testing/key-generation.js'

/** Options of `startAuthorizationServer`. */
export interface AuthorizationServerOptions {
  /** The resource indicator (RFC 8707) tokens are issued for; it becomes their `aud`. */
  resource: string
  /** Scopes the resource accepts. Default `['read', 'write']`. */
  scopes?: string[]
  /** Access-token signing algorithm. Default `'ES256'`. */
  alg?: 'ES256' | 'RS256' | 'PS256' | 'EdDSA'
  /** Whether DPoP-bound tokens are issued for requests with a DPoP proof. Default true. */
  dpop?: boolean
  /** Access-token lifetime in seconds. Default 300. */
  accessTokenTtl?: number
}

/** A running authorization server. */
export interface AuthorizationServer {
  /** Issuer identifier, `http://127.0.0.1:<port>` (no trailing slash). */
  readonly issuer: string
  readonly jwksUri: string
  readonly tokenEndpoint: string
  /** The one registered confidential client (client_secret_basic). */
  readonly client: { id: string; secret: string }
  /**
   * Ask for an access token with the client_credentials grant; `dpopProof` (for POST on
   * `tokenEndpoint`) makes it DPoP-bound. Resolves to the token response, or throws with the
   * server's error.
   */
  clientCredentials(request?: {
    scope?: string
    dpopProof?: string
  }): Promise<{ access_token: string; token_type: string; expires_in: number }>
  close(): Promise<void>
}

/** Start oidc-provider on 127.0.0.1 at a free port. */
export async function startAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<AuthorizationServer> {
  const alg = options.alg ?? 'ES256'
  const scopes = options.scopes ?? ['read', 'write']
  // The issuer URL needs the port, so the provider is attached once the server listens.
  const attached: { handle?: (req: IncomingMessage, res: ServerResponse) => unknown } = {}
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void attached.handle?.(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = { id: 'interop-client', secret: 'interop-client-secret-of-enough-length' }

  const provider = new Provider(issuer, {
    jwks: { keys: [signingJwk(alg)] },
    clients: [
      {
        client_id: client.id,
        client_secret: client.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        // Without it the client would ask for RS256 ID tokens, which an EC-only provider refuses.
        id_token_signed_response_alg: alg,
      },
    ],
    features: {
      clientCredentials: { enabled: true },
      dPoP: { enabled: options.dpop ?? true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== options.resource) throw new Error(`unknown resource ${resource}`)
          return {
            scope: scopes.join(' '),
            audience: options.resource,
            accessTokenTTL: options.accessTokenTtl ?? 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          }
        },
      },
    },
  })
  attached.handle = provider.callback()

  const tokenEndpoint = `${issuer}/token`
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    tokenEndpoint,
    client,
    async clientCredentials(request = {}) {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        resource: options.resource,
      })
      if (request.scope !== undefined) body.set('scope', request.scope)
      const headers: Record<string, string> = {
        authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      }
      if (request.dpopProof !== undefined) headers.dpop = request.dpopProof
      const response = await fetch(tokenEndpoint, { method: 'POST', headers, body })
      const json = (await response.json()) as Record<string, unknown>
      if (!response.ok) throw new Error(`token request failed: ${JSON.stringify(json)}`)
      return json as never
    },
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** A private signing JWK for `alg` (oidc-provider takes private JWKs). */
function signingJwk(alg: string): Record<string, unknown> {
  // Generated as DER and imported (key-generation.ts): no Node 20 deadlock on the JWK export.
  const spec: KeyPairSpec =
    alg === 'ES256'
      ? { type: 'ec', namedCurve: 'P-256' }
      : alg === 'EdDSA'
        ? { type: 'ed25519' }
        : { type: 'rsa', modulusLength: 2048 }
  const { privateKey } = generateKeyPairSafelySync(spec)
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `interop-${alg}` }
}
