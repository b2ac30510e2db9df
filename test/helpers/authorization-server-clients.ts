/**
 * A real OAuth 2.0 / OpenID Connect authorization server for interop tests: panva's
 * oidc-provider (the certified implementation), on a free loopback port, with its own signing
 * key. Resource indicators (RFC 8707) are on, so a token request naming a `resource` gets a JWT
 * access token (RFC 9068, `typ` `at+jwt`) for that audience.
 *
 * Generic on purpose: any test can start one with its own clients, resources and extra provider
 * configuration, and must `close()` it.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'

/** One registered client (oidc-provider client metadata). */
export interface AuthorizationServerClient {
  client_id: string
  client_secret?: string
  grant_types?: string[]
  redirect_uris?: string[]
  response_types?: string[]
  [metadata: string]: unknown
}

/** What `startAuthorizationServer` takes. */
export interface AuthorizationServerOptions {
  /** Registered clients. Their `id_token_signed_response_alg` defaults to `alg`. */
  clients: AuthorizationServerClient[]
  /**
   * Resource servers by resource indicator: the scopes each accepts. A token for one of them is a
   * JWT signed with `alg`. Default: none (then every access token is opaque).
   */
  resources?: Record<string, { scope: string }>
  /** Signing algorithm of the provider's key (ID tokens and JWT access tokens). Default ES256. */
  alg?: 'ES256' | 'RS256' | 'PS256' | 'EdDSA'
  /** More oidc-provider configuration, merged over the defaults here (features merged too). */
  configuration?: Record<string, unknown>
}

/** A running authorization server. */
export interface AuthorizationServer {
  /** The issuer identifier, `http://127.0.0.1:<port>`. */
  readonly issuer: string
  /** Its JWKS URL (from its discovery document). */
  readonly jwksUri: string
  /** The oidc-provider instance, for tests that need more. */
  readonly provider: Provider
  /** `client_credentials` grant at the token endpoint; the response's JSON. */
  clientCredentials(
    client: { client_id: string; client_secret: string },
    params?: { resource?: string; scope?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>
  close(): Promise<void>
}

/** Start one on 127.0.0.1 at a free port. */
export async function startAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<AuthorizationServer> {
  const alg = options.alg ?? 'ES256'
  const { privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `${alg}-1` }

  // The issuer needs the port, so listen first and attach the provider after.
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const resources = options.resources ?? {}
  const extra = options.configuration ?? {}
  const provider = new Provider(issuer, {
    clients: options.clients.map((client) => ({
      id_token_signed_response_alg: alg,
      ...client,
    })),
    jwks: { keys: [jwk] },
    ...extra,
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          const known = resources[resource]
          if (known === undefined) throw new Provider.errors.InvalidTarget()
          return {
            scope: known.scope,
            audience: resource,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          }
        },
      },
      ...(extra.features as Record<string, unknown> | undefined),
    },
  })
  server.on('request', provider.callback())

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    provider,
    async clientCredentials(client, params = {}) {
      const form = new URLSearchParams({ grant_type: 'client_credentials' })
      if (params.resource !== undefined) form.set('resource', params.resource)
      if (params.scope !== undefined) form.set('scope', params.scope)
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(
            `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`,
          ).toString('base64')}`,
        },
        body: form,
      })
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
