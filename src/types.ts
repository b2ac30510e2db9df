/**
 * Public types of `jwt-gate`: the verifier options, the verified result and the small
 * structural interfaces the core accepts (requests, denylists).
 *
 * The key source is a union whose members forbid each other's fields, so passing both
 * `jwksUri` and `secret` fails to compile; `createVerifier` repeats the check at run time
 * for JavaScript callers.
 */
import type { X509Certificate } from 'node:crypto'

/** A duration: a number of seconds, or a string such as `'30s'`, `'10m'`, `'1h'`, `'1d'`. */
export type Duration = number | string

/** The JWS algorithms jwt-gate verifies. `none` is not, and never will be, among them. */
export type Algorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'

/** A JSON Web Key as published in a JWKS (RFC 7517). Only public members are read. */
export interface JsonWebKey {
  kty: string
  kid?: string
  alg?: string
  use?: string
  key_ops?: string[]
  crv?: string
  n?: string
  e?: string
  x?: string
  y?: string
  [member: string]: unknown
}

/** A JSON Web Key Set (RFC 7517 §5). */
export interface JsonWebKeySet {
  keys: JsonWebKey[]
}

/** The verified JWT Claims Set. Registered claims are typed; anything else is `unknown`. */
export interface JwtPayload {
  iss?: string
  sub?: string
  aud?: string | string[]
  exp?: number
  nbf?: number
  iat?: number
  jti?: string
  scope?: string
  scp?: string | string[]
  [claim: string]: unknown
}

/** The verified JOSE header of the token. */
export interface JwtHeader {
  alg: string
  kid?: string
  typ?: string
  [parameter: string]: unknown
}

/**
 * What a successful verification yields; adapters attach it as `req.auth`, `ctx.state.auth`
 * or `request.auth`. `payload` and `header` are frozen: a verified result may be served from
 * the token cache to later requests, so nobody may change it.
 */
export interface AuthResult {
  /** The verified claims. */
  readonly payload: Readonly<JwtPayload>
  /** The verified protected header. */
  readonly header: Readonly<JwtHeader>
  /** The compact token as it was received. */
  readonly token: string
}

/**
 * A revocation check consulted after every successful verification, including cache hits.
 * Return `true` to refuse the token (401, reason `revoked`). A throw, a rejection or a
 * timeout refuses the request with 503 (fail closed).
 */
export interface Denylist {
  /** Whether this token (or its subject) has been revoked. */
  isRevoked(payload: Readonly<JwtPayload>, header: Readonly<JwtHeader>): boolean | Promise<boolean>
  /**
   * Optional: a number that changes whenever an answer of `isRevoked` could change for a token
   * it last let through — a new revocation, or the denylist turning stale or fresh. When it is
   * present, a token served from the verified-token cache is re-asked only after it changed
   * (so a revocation still applies on the very next request); when absent, every request asks.
   * jwt-gate's Redis denylist provides it.
   */
  readonly generation?: number
}

/**
 * Where a DPoP proof's `jti` is remembered, so a proof works once (RFC 9449 §11.1). The default is
 * in this process's memory (bounded); `redisReplayStore` from `jwt-gate/redis` shares it across
 * every instance of the API.
 */
export interface ReplayStore {
  /**
   * Record `id` as used for `ttlMs` milliseconds. Return `true` when it was unused (the proof may
   * pass) and `false` when it was already used (a replay, 401 `dpop_replayed`). Throw, reject or
   * take longer than `denylistTimeout` when the store cannot answer: the request gets 503 with
   * `Retry-After` (fail closed).
   */
  markUsed(id: string, ttlMs: number): boolean | Promise<boolean>
}

/** DPoP (RFC 9449): access tokens bound to a key the client proves it holds on every request. */
export interface DpopOptions {
  /** Refuse plain bearer tokens too: only DPoP-bound tokens with a proof pass. Default `false`. */
  required?: boolean
  /**
   * The API's public origin (`'https://api.example.com'`), from which the expected `htu` is built
   * with the request path; or a function of the request returning it. Required: the `Host` and
   * `X-Forwarded-*` headers are never trusted on their own (a function may read them if your proxy
   * sets them).
   */
  origin: string | ((request: RequestLike) => string)
  /** Proof algorithms (asymmetric only). Default `['ES256', 'EdDSA', 'RS256', 'PS256']`. */
  algorithms?: Algorithm[]
  /** How far a proof's `iat` may be from now, either way (plus `clockTolerance`). Default `'60s'`. */
  maxProofAge?: Duration
  /**
   * Server nonces (RFC 9449 §8): `true` for this process's own, `{ secret }` for nonces every
   * instance sharing the secret (32 bytes or more) issues and accepts. A proof without a current
   * nonce gets 401 `use_dpop_nonce` with a `DPoP-Nonce` header. Default `false`.
   */
  nonce?: boolean | { secret: string | Uint8Array }
  /** Where proof ids are remembered. Default: in memory, at most 200,000 live proofs. */
  replay?: ReplayStore
}

/** A client certificate, as `mtls.certificate` may return it. */
export type ClientCertificate = X509Certificate | string | Uint8Array

/** Certificate-bound access tokens (RFC 8705 §3). */
export interface MtlsOptions {
  /**
   * The client certificate of a request: an `X509Certificate`, PEM text or DER bytes, or
   * undefined when there is none. Default: the peer certificate of the request's TLS socket.
   * Return a proxy-forwarded certificate (RFC 9440 `Client-Cert`) only from a proxy you trust to
   * have verified it.
   */
  certificate?: (request: RequestLike) => ClientCertificate | undefined
}

/**
 * The request shape `verifyRequest` reads: Node's `IncomingMessage` (and the Express, Koa and
 * Fastify requests built on it) or a Fetch API `Request`.
 */
export interface RequestLike {
  /** Node's lowercase header object, or a Fetch `Headers`. */
  headers: NodeHeaders | HeadersLike
  /** HTTP method; used by the CSRF check of cookie mode and by DPoP's `htm`. */
  method?: string
  /** Request URL: an absolute URL on a Fetch `Request`, a path on Node. */
  url?: string
}

/** Node's incoming header object: lowercase names, repeated headers as arrays. */
export type NodeHeaders = Record<string, string | string[] | undefined>

/** The part of the Fetch `Headers` class that jwt-gate reads. */
export interface HeadersLike {
  get(name: string): string | null
}

/** Where the token may be found. */
export interface TokenLocation {
  /** Read `Authorization: Bearer <token>`. Default `true`. */
  header?: boolean
  /**
   * Name of an HttpOnly cookie that carries the token (for example `'access_token'` or
   * `'__Host-access_token'`). Default: no cookie. Enables the CSRF check, see `csrf`.
   */
  cookie?: string
}

/** Cross-site request forgery defence for cookie mode. */
export interface CsrfOptions {
  /**
   * Origins (scheme, host and port, such as `'https://app.example.com'`) allowed to send
   * state-changing requests authenticated by the cookie. Same-origin is always allowed.
   */
  allowedOrigins?: string[]
  /**
   * Our public origin, the one a browser sees (such as `'https://api.example.com'`), or a
   * function of the request that returns it. Set it when TLS ends before this server (a proxy
   * or load balancer): same-origin compares the whole origin — scheme, host and port — and
   * without this option the scheme is taken from this server's own socket (TLS or not), never
   * from `X-Forwarded-Proto`. Default: a Fetch `Request`'s own URL, else the `Host` header with
   * the socket's scheme. A function that throws or returns no origin refuses the request.
   */
  origin?: string | ((request: RequestLike) => string)
}

/** Size bound of the verified-token cache. */
export interface CacheOptions {
  /**
   * Maximum number of verified tokens kept (an LRU keyed by a SHA-256 of the token).
   * `false` or `0` disables the cache. Default `10_000`.
   */
  tokens?: number | false
}

/**
 * The rules of one trusted issuer: the top-level options of a single-issuer verifier, or each
 * entry of `issuers`.
 */
export interface IssuerRules {
  /** Accepted issuer(s): exact, case-sensitive match on the `iss` claim. Required. */
  issuer: string | string[]
  /**
   * Accepted audience(s): the token's `aud` must contain at least one. Required unless
   * `resource` is set (which is accepted as an audience too, in addition to these).
   */
  audience?: string | string[]
  /**
   * Allowed JWS algorithms. Default: `['HS256']` with a `secret`; with keys, a JWKS or
   * discovery, every asymmetric algorithm (RS*, PS*, ES*, EdDSA, Ed25519), further narrowed
   * per key by a JWK's own `alg`. `none` is refused, and HMAC is refused with asymmetric keys.
   */
  algorithms?: Algorithm[]
  /** Leeway for `exp`, `nbf` and `iat` checks. Default `0` (in an entry: the top level's). */
  clockTolerance?: Duration
  /**
   * Expected `typ` header, such as `'at+jwt'` (RFC 9068). Compared case-insensitively with an
   * optional `application/` prefix, as RFC 7515 §4.1.9 says. Default: not checked.
   */
  typ?: string
}

/** Options that apply whatever the issuers. */
export interface CommonVerifierOptions {
  /** Leeway for `exp`, `nbf` and `iat` checks. Default `0`. */
  clockTolerance?: Duration
  /**
   * A token bound to a key or a client certificate (`cnf.jkt`, RFC 9449; `cnf["x5t#S256"]`,
   * RFC 8705) is refused (401, reason `unchecked_binding`) unless the binding is checked, because
   * accepting it as a plain bearer token lets a stolen bound token work without its key.
   * `'accept'` ignores bindings this verifier does not check (only when another layer, such as
   * a gateway, checks them). Default `'refuse'`.
   */
  uncheckedBinding?: 'refuse' | 'accept'
  /** Maximum age of the token measured from its `iat` (which becomes required). Default: none. */
  maxTokenAge?: Duration
  /** Claims that must be present. `exp` is always required, whatever this says. */
  requiredClaims?: string[]
  /** Where the token may come from. Default: `{ header: true }` (Authorization: Bearer only). */
  token?: TokenLocation
  /** CSRF defence for cookie mode; `false` turns it off (dangerous). Default: on. */
  csrf?: CsrfOptions | false
  /** Revocation check run after every successful verification, cache hits included. */
  denylist?: Denylist
  /** How long a denylist may take before the request fails with 503. Default `'2s'`. */
  denylistTimeout?: Duration
  /** Verified-token cache. Default `{ tokens: 10_000 }`. `false` disables it. */
  cache?: CacheOptions | false
  /** Longest token accepted, in characters, checked before any decoding. Default `8192`. */
  maxTokenLength?: number
  /** Deepest JSON nesting accepted in the payload (objects and arrays). Default `32`. */
  maxPayloadDepth?: number
  /**
   * `realm` of the `WWW-Authenticate` challenge. Default: the first audience (of the first
   * issuer); with an `issuers` resolver, `resource` or else `'api'`.
   */
  realm?: string
  /** Accept DPoP-bound tokens (RFC 9449) with their proofs. Default: off. */
  dpop?: DpopOptions
  /** Check certificate-bound tokens (`cnf["x5t#S256"]`, RFC 8705). Default: off. */
  mtls?: MtlsOptions
  /**
   * The API's resource identifier (RFC 8707, RFC 9728), such as `'https://api.example.com'`:
   * an `https:` URL (`http:` on loopback) without a fragment. It is accepted as an audience of
   * every issuer's tokens (besides any `audience`, which it does not replace), every 401
   * challenge then carries `resource_metadata="<origin>/.well-known/oauth-protected-resource<path>"`
   * (RFC 9728 §5.1), and `protectedResourceMetadata` serves that document. Default: none.
   */
  resource?: string
  /**
   * An access-token profile to enforce. `'rfc9068'` (JWT access tokens, RFC 9068): header `typ`
   * `at+jwt` (or `application/at+jwt`) for every issuer; `iss`, `exp`, `aud`, `sub`,
   * `client_id`, `iat` and `jti` required; an OpenID Connect ID token (`nonce`, `at_hash`,
   * `c_hash` or `s_hash`, or an audience equal to its `client_id`) refused with reason
   * `id_token`. Default: none.
   */
  profile?: 'rfc9068'
}

/** The options of a single-issuer verifier, besides its key source. */
export interface BaseVerifierOptions extends CommonVerifierOptions, IssuerRules {
  issuers?: never
}

/**
 * Tuning of the remote key sources (`jwksUri` and OIDC discovery), given as `remoteKeys`. Every
 * field has a safe default; most APIs never set any.
 */
export interface RemoteKeyOptions {
  /** Keys are refreshed in the background before they reach this age. Default `'10m'`. */
  cacheMaxAge?: Duration
  /**
   * Minimum time between two refetches caused by an unknown `kid`, so garbage `kid`s cannot make
   * the API hammer the identity provider. A token with an unknown `kid` that arrives inside the
   * window is not refused for it: it waits (at most this long) for the one refetch at the
   * window's end. Default `'1s'`.
   */
  cooldown?: Duration
  /** Timeout of one JWKS or discovery request. Default `'5s'`. */
  fetchTimeout?: Duration
  /** How long known keys keep working while the key server fails. Default `'24h'`. */
  staleIfError?: Duration
  /** Largest JWKS or discovery document accepted, in bytes. Default `512 KiB`. */
  maxResponseBytes?: number
  /** Most keys read from one JWKS. Default `100`. */
  maxKeys?: number
  /** Allow `http:` key servers that are not on loopback (never do this in production). */
  allowInsecureHttp?: boolean
}

/** Key source: a shared HMAC secret. */
export interface SecretKeySource {
  /**
   * Shared HMAC secret (string as UTF-8 bytes, or raw bytes; a node:crypto `KeyObject` of type
   * `'secret'` is read too). Never empty. Public-key material is a `TypeError` at construction
   * — a PEM (any `-----BEGIN`), a JWK or JWKS (object or JSON text), a public or private
   * `KeyObject`/`CryptoKey` — because anyone who can read it could sign tokens: give public
   * keys as `keys` or `jwksUri` instead.
   */
  secret: string | Uint8Array
  keys?: never
  jwksUri?: never
  remoteKeys?: never
}

/** Key source: a local JSON Web Key Set of public keys. */
export interface LocalKeySource {
  /** A local JWKS (public keys only; for HMAC use `secret`). */
  keys: JsonWebKeySet
  secret?: never
  jwksUri?: never
  remoteKeys?: never
}

/** Key source: a remote JWKS URL. */
export interface RemoteKeySource {
  /** URL of the JWKS. `https:` unless on loopback or `remoteKeys.allowInsecureHttp`. */
  jwksUri: string
  /** Caching, timeouts and limits of the key fetches. */
  remoteKeys?: RemoteKeyOptions
  secret?: never
  keys?: never
}

/** Key source: OIDC / RFC 8414 discovery from `issuer` (when no other key source is given). */
export interface DiscoveryKeySource {
  /** Caching, timeouts and limits of the discovery and key fetches. */
  remoteKeys?: RemoteKeyOptions
  secret?: never
  keys?: never
  jwksUri?: never
}

/**
 * One entry of `issuers` (or a resolver's answer): the issuer's rules and its one key source
 * (none: OIDC discovery from its issuer). An issuer holding `{tenantid}` (Microsoft Entra
 * multi-tenant) needs `tenants`, the allowed tenant ids: a token then needs `iss` spelt with one
 * of them and the same `tid`.
 */
export type IssuerSettings = IssuerRules & {
  /** Allowed tenant ids (lowercase GUIDs) of a `{tenantid}` issuer template. */
  tenants?: string[]
} & (
    | SecretKeySource
    | LocalKeySource
    | Omit<RemoteKeySource, 'remoteKeys'>
    | Omit<DiscoveryKeySource, 'remoteKeys'>
  )

/**
 * Looks up a token's issuer at run time (tenants kept in a database): its settings, or
 * `undefined` when the issuer is not trusted (401 `wrong_issuer`). Asked once per issuer; the
 * answer is kept for the verifier's life (at most 1,000 issuers, least recently used first out).
 * A throw or no answer within `remoteKeys.fetchTimeout` is a 503, asked again next time.
 */
export type IssuerResolver = (
  iss: string,
) => IssuerSettings | undefined | Promise<IssuerSettings | undefined>

/** A verifier trusting several issuers, each with its own keys, audience and algorithms. */
export interface MultiIssuerOptions extends CommonVerifierOptions {
  /** The trusted issuers, or a resolver that looks one up by `iss`. */
  issuers: IssuerSettings[] | IssuerResolver
  /** Caching, timeouts and limits of the discovery and key fetches of every issuer. */
  remoteKeys?: RemoteKeyOptions
  issuer?: never
  audience?: never
  algorithms?: never
  typ?: never
  secret?: never
  keys?: never
  jwksUri?: never
}

/**
 * Everything `createVerifier` accepts: one issuer (its rules and exactly one key source), or
 * several with `issuers`.
 */
export type VerifierOptions =
  | (BaseVerifierOptions &
      (SecretKeySource | LocalKeySource | RemoteKeySource | DiscoveryKeySource))
  | MultiIssuerOptions

/** Options of one `verifyRequest` call. */
export interface VerifyRequestOptions {
  /**
   * With `false`, a request that carries no token resolves to `null` instead of failing; a bad
   * token still fails. Default `true`.
   */
  credentialsRequired?: boolean
}

/** A configured verifier: one per API, shared by as many guards as you like. */
export interface Verifier {
  /** Verify a compact JWT. Rejects with an `AuthError`. */
  verify(token: string): Promise<AuthResult>
  /**
   * Find the token in a request (header or cookie), check CSRF in cookie mode, verify it.
   * Rejects with an `AuthError`, including 401 when the request carries no token.
   */
  verifyRequest(
    request: RequestLike,
    options?: VerifyRequestOptions & { credentialsRequired?: true },
  ): Promise<AuthResult>
  /** As above; with `credentialsRequired: false`, a request without a token resolves `null`. */
  verifyRequest(request: RequestLike, options: VerifyRequestOptions): Promise<AuthResult | null>
  /**
   * Warm the verifier at start-up: fetch the keys of every configured issuer now (discovery,
   * then the JWKS) instead of on the first request. Resolves at once for a `secret`, local
   * `keys` or an `issuers` resolver (no issuer is known in advance). Rejects with the 503
   * `AuthError` a request would get (reason `jwks_unavailable` or `discovery_unavailable`, the
   * fetch error as `cause`) when the keys cannot be had; the verifier stays usable and retries
   * on later requests.
   *
   * @example
   * ```ts
   * const verifier = createVerifier({ issuer, audience })
   * await verifier.ready() // fail the deploy, not the first request, on a wrong key URL
   * ```
   */
  ready(): Promise<void>
  /** Stop background work (JWKS refresh timers), release shared caches, drop cached tokens. */
  close(): Promise<void>
}
