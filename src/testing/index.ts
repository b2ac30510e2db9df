/**
 * `jwt-gate/testing`: `createTestIssuer`, a real identity provider for your tests. It generates
 * a key, serves its JWKS and discovery documents over HTTP on 127.0.0.1 (a random port), signs
 * tokens, rotates keys, and can simulate an outage of its key server. jwt-gate's own tests use
 * exactly this helper.
 *
 * Never use it in production: its keys live in memory and its server speaks plain HTTP.
 */
import {
  createHash,
  createPublicKey,
  hash,
  randomBytes,
  randomUUID,
  X509Certificate,
  type KeyObject,
} from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { calculateJwkThumbprint, SignJWT } from 'jose'
import { toSeconds } from '../options/duration.js'
import { generateKeyPairSafely, type KeyPairSpec } from './key-generation.js'
import type { Algorithm, Duration, JsonWebKey, JsonWebKeySet, JwtPayload } from '../types.js'

/** Options of `createTestIssuer`. */
export interface TestIssuerOptions {
  /**
   * Signing algorithm, any that jwt-gate verifies. Default `'RS256'`. With HS*, the issuer has a
   * `secret` and no JWKS keys.
   */
  alg?: Algorithm
  /** Default `aud` of signed tokens (a `sign` option or an `aud` claim overrides it). */
  audience?: string | string[]
  /** Port to listen on (127.0.0.1). Default: a random free port. */
  port?: number
  /** Publish the JWKS keys without their `alg` member, as many real providers do. Default false. */
  omitAlgInJwks?: boolean
}

/** Options of one `sign` call. */
export interface SignOptions {
  /** Lifetime from now; negative for an already expired token. Default `'5m'`. */
  expiresIn?: Duration
  /** `nbf` relative to now (e.g. `'1m'` for a token not valid for another minute). */
  notBefore?: Duration
  /** `iat` relative to now (e.g. `'-2h'` for a token issued two hours ago). Default: now. */
  issuedAt?: Duration
  /** `aud` claim. Default: the issuer's `audience` option. */
  audience?: string | string[]
  /** `sub` claim. */
  subject?: string
  /** Extra protected-header parameters (for example `{ typ: 'at+jwt' }`). */
  header?: Record<string, unknown>
  /** Sign with this key id instead of the current key (a key kept after `rotate`). */
  kid?: string
  /**
   * Bind the token to this DPoP key (RFC 9449 §6.1): `cnf.jkt` is its JWK thumbprint. The
   * client's private (or public) `KeyObject`; make proofs with `dpopProof` and the same key.
   */
  dpopKey?: KeyObject
  /**
   * Bind the token to this client certificate (RFC 8705 §3.1): `cnf["x5t#S256"]` is its SHA-256
   * thumbprint. An `X509Certificate`, PEM text or DER bytes.
   */
  certificate?: X509Certificate | string | Uint8Array
}

/** What `dpopProof` signs (RFC 9449 §4.2). */
export interface DpopProofOptions {
  /** The client's private key: EC P-256 (ES256), Ed25519 (EdDSA) or RSA (RS256, or `alg`). */
  key: KeyObject
  /** The request method, such as `'GET'`. */
  method: string
  /** The request URL as the API sees it from outside (`https://api.example.com/orders`). */
  url: string
  /** The access token the proof goes with (its SHA-256 becomes `ath`). */
  token?: string
  /** The server nonce from a `DPoP-Nonce` header. */
  nonce?: string
  /** Proof algorithm when the key allows several (RSA: `RS256` or `PS256`). */
  alg?: Algorithm
  /** `iat` relative to now (`'-5m'` for a stale proof). Default: now. */
  issuedAt?: Duration
  /** `jti`. Default: a random UUID (reuse one to test replay detection). */
  jti?: string
}

/** Outage modes of the issuer's HTTP endpoints. */
export type OutageMode = 'error' | 'hang' | false

/** A running test issuer. */
export interface TestIssuer {
  /** The issuer identifier and base URL, `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string
  /** Where its JWKS is served. */
  readonly jwksUri: string
  /** Where its OIDC discovery document is served. */
  readonly discoveryUri: string
  /** The signing algorithm. */
  readonly alg: Algorithm
  /** The default audience, if one was configured. */
  readonly audience: string | string[] | undefined
  /** The HMAC secret (HS* issuers only), to pass as the verifier's `secret`. */
  readonly secret: string | undefined
  /** `kid` of the current signing key. */
  readonly kid: string
  /** Number of JWKS requests served (or failed) so far. */
  readonly jwksRequests: number
  /** Number of discovery requests served (or failed) so far. */
  readonly discoveryRequests: number
  /** Sign a token: `iss`, `iat`, `exp` and a random `jti` are filled in; `claims` override. */
  sign(claims?: JwtPayload, options?: SignOptions): Promise<string>
  /**
   * Switch to a new signing key with a new `kid`. The previous key stays published (and usable
   * through `sign`'s `kid`) unless `keepPrevious` is false. Resolves to the new `kid`.
   */
  rotate(options?: { keepPrevious?: boolean }): Promise<string>
  /** The JWKS as currently served. */
  jwks(): JsonWebKeySet
  /**
   * Make a DPoP proof for one request with the client's `key` (bind tokens to it with
   * `sign(claims, { dpopKey: key })`); send it as the `DPoP` header with
   * `Authorization: DPoP <token>`.
   */
  dpopProof(options: DpopProofOptions): Promise<string>
  /** Make the HTTP endpoints fail: `'error'` answers 503, `'hang'` never answers; `false` heals. */
  simulateOutage(mode: OutageMode): void
  /** Stop the server. */
  close(): Promise<void>
}

interface SigningKey {
  kid: string
  privateKey: KeyObject | Uint8Array
  publicJwk: JsonWebKey | undefined
}

/**
 * Start a test issuer on 127.0.0.1.
 *
 * @example
 * ```ts
 * import { createTestIssuer } from 'jwt-gate/testing'
 *
 * const issuer = await createTestIssuer({ alg: 'ES256', audience: 'https://api.test' })
 * const token = await issuer.sign({ sub: 'u1', scope: 'read:orders' }, { expiresIn: '5m' })
 * // createVerifier({ issuer: issuer.url, audience: 'https://api.test', jwksUri: issuer.jwksUri })
 * await issuer.close()
 * ```
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const alg = options.alg ?? 'RS256'
  const symmetric = alg.startsWith('HS')
  const secret = symmetric ? randomBytes(48).toString('base64url') : undefined
  const keys: SigningKey[] = [await newKey(alg, secret, options.omitAlgInJwks === true)]
  let outage: OutageMode = false
  let jwksRequests = 0
  let discoveryRequests = 0
  const hanging = new Set<ServerResponse>()

  const publishedJwks = (): JsonWebKeySet => ({
    keys: keys.flatMap((key) => (key.publicJwk ? [key.publicJwk] : [])),
  })

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0]
    const isJwks = path === '/.well-known/jwks.json'
    const isDiscovery =
      path === '/.well-known/openid-configuration' ||
      path === '/.well-known/oauth-authorization-server'
    if (isJwks) jwksRequests++
    if (isDiscovery) discoveryRequests++
    if (outage === 'hang') {
      hanging.add(response)
      response.on('close', () => hanging.delete(response))
      return
    }
    if (outage === 'error') return send(response, 503, { error: 'simulated outage' })
    if (isJwks) return send(response, 200, publishedJwks())
    if (isDiscovery) {
      return send(response, 200, {
        issuer: url,
        jwks_uri: `${url}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: [alg],
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
      })
    }
    send(response, 404, { error: 'not found' })
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`

  return {
    url,
    jwksUri: `${url}/.well-known/jwks.json`,
    discoveryUri: `${url}/.well-known/openid-configuration`,
    alg,
    audience: options.audience,
    secret,
    get kid() {
      return keys[keys.length - 1]!.kid
    },
    get jwksRequests() {
      return jwksRequests
    },
    get discoveryRequests() {
      return discoveryRequests
    },
    async sign(claims = {}, signOptions = {}) {
      const key = signOptions.kid
        ? keys.find((candidate) => candidate.kid === signOptions.kid)
        : keys[keys.length - 1]
      if (!key) throw new Error(`no key with kid ${signOptions.kid}`)
      const now = Math.floor(Date.now() / 1000)
      const relative = (value: Duration, name: string) =>
        now + Math.round(toSeconds(value, name, true))
      const payload: JwtPayload = {
        iss: url,
        iat: signOptions.issuedAt === undefined ? now : relative(signOptions.issuedAt, 'issuedAt'),
        exp: relative(signOptions.expiresIn ?? '5m', 'expiresIn'),
        jti: randomUUID(),
      }
      const audience = signOptions.audience ?? options.audience
      if (audience !== undefined) payload.aud = audience
      if (signOptions.subject !== undefined) payload.sub = signOptions.subject
      if (signOptions.notBefore !== undefined)
        payload.nbf = relative(signOptions.notBefore, 'notBefore')
      const cnf = confirmation(signOptions)
      if (cnf !== undefined) payload.cnf = cnf
      Object.assign(payload, claims)
      return new SignJWT(payload)
        .setProtectedHeader({ alg, ...(symmetric ? {} : { kid: key.kid }), ...signOptions.header })
        .sign(key.privateKey)
    },
    async rotate({ keepPrevious = true } = {}) {
      const key = await newKey(alg, secret, options.omitAlgInJwks === true)
      if (!keepPrevious) keys.length = 0
      keys.push(key)
      return key.kid
    },
    jwks: publishedJwks,
    dpopProof,
    simulateOutage(mode) {
      outage = mode
      if (mode === false) for (const response of hanging) response.destroy()
    },
    async close() {
      for (const response of hanging) response.destroy()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

async function newKey(
  alg: Algorithm,
  secret: string | undefined,
  omitAlg: boolean,
): Promise<SigningKey> {
  if (secret !== undefined) {
    return { kid: randomUUID(), privateKey: Buffer.from(secret, 'utf8'), publicJwk: undefined }
  }
  const { publicKey, privateKey } = await generateKeyPairSafely(keyPairSpec(alg))
  const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey
  const kid = await calculateJwkThumbprint(jwk)
  const publicJwk: JsonWebKey = { ...jwk, kid, use: 'sig', ...(omitAlg ? {} : { alg }) }
  return { kid, privateKey, publicJwk }
}

/** The key type an asymmetric algorithm signs with (RFC 7518 §3; RSA at 2048 bits, as jose). HMAC never gets here. */
function keyPairSpec(alg: Algorithm): KeyPairSpec {
  switch (alg) {
    case 'ES256':
      return { type: 'ec', namedCurve: 'P-256' }
    case 'ES384':
      return { type: 'ec', namedCurve: 'P-384' }
    case 'ES512':
      return { type: 'ec', namedCurve: 'P-521' }
    case 'EdDSA':
    case 'Ed25519':
      return { type: 'ed25519' }
    default:
      return { type: 'rsa', modulusLength: 2048 }
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body)
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
  })
  response.end(json)
}

/** The `cnf` claim (RFC 7800) for `sign`'s `dpopKey` / `certificate`, or undefined. */
function confirmation(options: SignOptions): Record<string, string> | undefined {
  const cnf: Record<string, string> = {}
  if (options.dpopKey !== undefined) cnf.jkt = publicJwkAndThumbprint(options.dpopKey).thumbprint
  if (options.certificate !== undefined) {
    const { certificate } = options
    const der =
      certificate instanceof X509Certificate
        ? certificate.raw
        : new X509Certificate(certificate).raw
    cnf['x5t#S256'] = createHash('sha256').update(der).digest('base64url')
  }
  return Object.keys(cnf).length === 0 ? undefined : cnf
}

/** The public JWK of a (private or public) key, and its RFC 7638 thumbprint. */
function publicJwkAndThumbprint(key: KeyObject): { jwk: JsonWebKey; thumbprint: string } {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  const full = publicKey.export({ format: 'jwk' }) as Record<string, string>
  const members: Record<string, string[]> = {
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
    RSA: ['e', 'kty', 'n'],
  }
  const names = members[full.kty!]
  if (names === undefined) throw new TypeError(`a DPoP key cannot be of type ${full.kty}`)
  const jwk = Object.fromEntries(names.map((name) => [name, full[name]!])) as JsonWebKey
  const thumbprint = hash('sha256', JSON.stringify(jwk), 'base64url')
  return { jwk, thumbprint }
}

/** See `TestIssuer.dpopProof`. */
async function dpopProof(options: DpopProofOptions): Promise<string> {
  const { jwk } = publicJwkAndThumbprint(options.key)
  const alg =
    options.alg ?? (jwk.kty === 'EC' ? ecAlgorithm(jwk.crv) : jwk.kty === 'OKP' ? 'EdDSA' : 'RS256')
  const url = new URL(options.url)
  const now = Math.floor(Date.now() / 1000)
  const payload: JwtPayload = {
    jti: options.jti ?? randomUUID(),
    htm: options.method,
    htu: `${url.origin}${url.pathname}`,
    iat:
      options.issuedAt === undefined
        ? now
        : now + Math.round(toSeconds(options.issuedAt, 'issuedAt', true)),
  }
  if (options.token !== undefined) payload.ath = hash('sha256', options.token, 'base64url')
  if (options.nonce !== undefined) payload.nonce = options.nonce
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'dpop+jwt', jwk }).sign(options.key)
}

function ecAlgorithm(crv: string | undefined): Algorithm {
  return crv === 'P-384' ? 'ES384' : crv === 'P-521' ? 'ES512' : 'ES256'
}
