/**
 * DPoP (RFC 9449) in the core: every check of a proof, the binding to the token's `cnf.jkt`, no
 * downgrade to Bearer, server nonces, the replay store failing closed. HTTP rows for every adapter
 * are in test/adapters/scenarios.ts.
 */
import assert from 'node:assert/strict'
import { createHash, type KeyObject } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  createVerifier,
  type AuthError,
  type ReplayStore,
  type RequestLike,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import { jwkThumbprint } from '../../src/dpop/thumbprint.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { generateKeyPairSafely } from '../../src/testing/key-generation.js'
import { asymmetricToken, assemble, b64url, hmacToken } from '../helpers/tokens.js'

const audience = 'https://api.example.com'
const origin = 'https://api.example.com'
const url = `${origin}/orders`

let issuer: TestIssuer
let clientKey: KeyObject
let otherKey: KeyObject
let edKey: KeyObject
const verifiers: Verifier[] = []

before(async () => {
  issuer = await createTestIssuer({ alg: 'ES256', audience })
  clientKey = (await generateKeyPairSafely({ type: 'ec', namedCurve: 'P-256' })).privateKey
  otherKey = (await generateKeyPairSafely({ type: 'ec', namedCurve: 'P-256' })).privateKey
  edKey = (await generateKeyPairSafely({ type: 'ed25519' })).privateKey
})
after(async () => {
  await Promise.all(verifiers.map((v) => v.close()))
  await issuer.close()
})

function verifierWith(dpop: Partial<NonNullable<VerifierOptions['dpop']>> = {}, extra = {}) {
  const verifier = createVerifier({
    issuer: issuer.url,
    audience,
    jwksUri: issuer.jwksUri,
    dpop: { origin, ...dpop },
    ...extra,
  })
  verifiers.push(verifier)
  return verifier
}

/** A request as Node's core would hand it over (path only in `url`). */
function request(
  token: string,
  proof: string | string[] | undefined,
  { method = 'GET', path = '/orders', scheme = 'DPoP', headers = {} } = {},
): RequestLike {
  return {
    method,
    url: path,
    headers: {
      authorization: `${scheme} ${token}`,
      ...(proof === undefined ? {} : { dpop: proof }),
      ...headers,
    },
  }
}

const refusedWith =
  (status: number, code: string, reason: string) =>
  (error: AuthError): boolean => {
    assert.equal(error.status, status, error.message)
    assert.equal(error.code, code, error.message)
    assert.equal(error.reason, reason, error.message)
    if (status === 401) {
      assert.match(error.headers['WWW-Authenticate']!, /^DPoP realm="[^"]+"/)
    }
    return true
  }

describe('thumbprint', () => {
  test('RFC 7638 §3.1 example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    }
    assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  })
})

describe('DPoP proofs', () => {
  test('a bound token with a fresh proof passes, and again (from the token cache) with a new proof', async () => {
    const verifier = verifierWith()
    const token = await issuer.sign({ sub: 'alice' }, { dpopKey: clientKey })
    for (let i = 0; i < 2; i++) {
      const proof = await issuer.dpopProof({ key: clientKey, method: 'GET', url, token })
      const auth = await verifier.verifyRequest(request(token, proof))
      assert.equal(auth.payload.sub, 'alice')
    }
    const edToken = await issuer.sign({ sub: 'ed' }, { dpopKey: edKey })
    const edProof = await issuer.dpopProof({ key: edKey, method: 'GET', url, token: edToken })
    assert.equal((await verifier.verifyRequest(request(edToken, edProof))).payload.sub, 'ed')
  })

  test('a replayed proof is refused, also for a cached token', async () => {
    const verifier = verifierWith()
    const token = await issuer.sign({}, { dpopKey: clientKey })
    const proof = await issuer.dpopProof({ key: clientKey, method: 'GET', url, token })
    await verifier.verifyRequest(request(token, proof))
    await assert.rejects(
      verifier.verifyRequest(request(token, proof)),
      refusedWith(401, 'invalid_dpop_proof', 'dpop_replayed'),
    )
  })

  test('htm, htu, iat, ath and the key are checked', async () => {
    const verifier = verifierWith()
    const token = await issuer.sign({}, { dpopKey: clientKey })
    const proof = (extra: Partial<Parameters<TestIssuer['dpopProof']>[0]>) =>
      issuer.dpopProof({ key: clientKey, method: 'GET', url, token, ...extra })
    const cases: Array<[string, RequestLike, string, string]> = [
      [
        'other method',
        request(token, await proof({ method: 'POST' })),
        'invalid_dpop_proof',
        'dpop_wrong_method',
      ],
      [
        'other URL',
        request(token, await proof({ url: `${origin}/admin` })),
        'invalid_dpop_proof',
        'dpop_wrong_url',
      ],
      [
        'other origin',
        request(token, await proof({ url: 'https://evil.example.com/orders' })),
        'invalid_dpop_proof',
        'dpop_wrong_url',
      ],
      [
        'stale iat',
        request(token, await proof({ issuedAt: '-5m' })),
        'invalid_dpop_proof',
        'dpop_proof_stale',
      ],
      [
        'future iat',
        request(token, await proof({ issuedAt: '5m' })),
        'invalid_dpop_proof',
        'dpop_proof_stale',
      ],
      [
        'other token',
        request(token, await proof({ token: 'x.y.z' })),
        'invalid_dpop_proof',
        'dpop_wrong_ath',
      ],
      [
        'no ath',
        request(token, await proof({ token: undefined })),
        'invalid_dpop_proof',
        'dpop_proof_malformed',
      ],
      [
        'other key',
        request(token, await proof({ key: otherKey })),
        'invalid_token',
        'dpop_key_mismatch',
      ],
    ]
    for (const [name, req, code, reason] of cases) {
      await assert.rejects(verifier.verifyRequest(req), refusedWith(401, code, reason), name)
    }
  })

  test('htu: query and fragment ignored on both sides; Host and X-Forwarded-* never used', async () => {
    const verifier = verifierWith()
    const token = await issuer.sign({}, { dpopKey: clientKey })
    const withQuery = await issuer.dpopProof({
      key: clientKey,
      method: 'GET',
      url: `${url}?a=1#f`,
      token,
    })
    await verifier.verifyRequest(request(token, withQuery, { path: '/orders?b=2' }))
    const forged = await issuer.dpopProof({
      key: clientKey,
      method: 'GET',
      url: 'https://evil.example.com/orders',
      token,
    })
    const headers = { host: 'evil.example.com', 'x-forwarded-host': 'evil.example.com' }
    await assert.rejects(
      verifier.verifyRequest(request(token, forged, { headers })),
      refusedWith(401, 'invalid_dpop_proof', 'dpop_wrong_url'),
    )
    // A Fetch Request's absolute URL: only its path counts.
    const fetchLike = request(
      token,
      await issuer.dpopProof({ key: clientKey, method: 'GET', url, token }),
      {
        path: 'https://evil.example.com/orders',
      },
    )
    await verifier.verifyRequest(fetchLike)
    // origin as a function of the request.
    const perRequest = verifierWith({
      origin: (req) => (req.headers as Record<string, string>)['x-tenant-origin']!,
    })
    const tenantUrl = 'https://tenant.example.com/orders'
    const tenantProof = await issuer.dpopProof({
      key: clientKey,
      method: 'GET',
      url: tenantUrl,
      token,
    })
    await perRequest.verifyRequest(
      request(token, tenantProof, { headers: { 'x-tenant-origin': 'https://tenant.example.com' } }),
    )
  })

  test('no downgrade: a bound token as Bearer is refused; required: true refuses plain bearer tokens', async () => {
    const verifier = verifierWith()
    const bound = await issuer.sign({}, { dpopKey: clientKey })
    await assert.rejects(
      verifier.verifyRequest(request(bound, undefined, { scheme: 'Bearer' })),
      (error: AuthError) => {
        assert.equal(error.reason, 'dpop_downgrade')
        assert.equal(error.code, 'invalid_token')
        assert.match(
          error.headers['WWW-Authenticate']!,
          /^DPoP realm="[^"]+", algs="ES256 EdDSA RS256 PS256", Bearer realm="[^"]+", error="invalid_token"/,
        )
        return true
      },
    )
    const plain = await issuer.sign({ sub: 'plain' })
    assert.equal(
      (await verifier.verifyRequest(request(plain, undefined, { scheme: 'Bearer' }))).payload.sub,
      'plain',
    )
    const unboundProof = await issuer.dpopProof({
      key: clientKey,
      method: 'GET',
      url,
      token: plain,
    })
    await assert.rejects(
      verifier.verifyRequest(request(plain, unboundProof)),
      refusedWith(401, 'invalid_token', 'unbound_token'),
    )

    const required = verifierWith({ required: true })
    await assert.rejects(
      required.verifyRequest(request(plain, undefined, { scheme: 'Bearer' })),
      (error: AuthError) => {
        assert.equal(error.reason, 'dpop_required')
        assert.doesNotMatch(error.headers['WWW-Authenticate']!, /Bearer/)
        return true
      },
    )
    // verify(token) has no request to check a proof against.
    await assert.rejects(
      verifier.verify(bound),
      refusedWith(401, 'invalid_token', 'unchecked_binding'),
    )
  })

  test('bad input: missing, duplicated, huge, nested, alg none, symmetric or private jwk, wrong typ', async () => {
    const verifier = verifierWith()
    const token = await issuer.sign({}, { dpopKey: clientKey })
    await assert.rejects(
      verifier.verifyRequest(request(token, undefined)),
      refusedWith(401, 'invalid_dpop_proof', 'dpop_proof_missing'),
    )
    const proof = await issuer.dpopProof({ key: clientKey, method: 'GET', url, token })
    await assert.rejects(
      verifier.verifyRequest(request(token, [proof, proof])),
      (error: AuthError) => {
        assert.equal(error.status, 400)
        assert.equal(error.code, 'invalid_request')
        return true
      },
    )
    const rawTwice: RequestLike = Object.assign(request(token, proof), {
      rawHeaders: ['Authorization', `DPoP ${token}`, 'DPoP', proof, 'DPoP', proof],
    })
    await assert.rejects(
      verifier.verifyRequest(rawTwice),
      (error: AuthError) => error.status === 400,
    )

    const publicJwk = clientKey.export({ format: 'jwk' })
    const jwk = { ...publicJwk }
    delete jwk.d
    const claims = {
      jti: 'j',
      htm: 'GET',
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      ath: createHash('sha256').update(token).digest('base64url'),
    }
    const secretJwk = { kty: 'oct', k: b64url('secret-secret-secret-secret-secret') }
    const cases: Array<[string, string, string]> = [
      ['huge', 'a'.repeat(20_000) + '.b.c', 'dpop_proof_malformed'],
      [
        'nested',
        assemble(
          { typ: 'dpop+jwt', alg: 'ES256', jwk },
          { ...claims, x: JSON.parse('['.repeat(2000) + ']'.repeat(2000)) },
          'AAAA',
        ),
        'dpop_bad_signature',
      ],
      ['not JWS', 'garbage', 'dpop_proof_malformed'],
      ['alg none', assemble({ typ: 'dpop+jwt', alg: 'none', jwk }, claims), 'dpop_proof_malformed'],
      [
        'alg none, signed segment',
        assemble({ typ: 'dpop+jwt', alg: 'none', jwk }, claims, 'AAAA'),
        'dpop_alg_not_allowed',
      ],
      [
        'HS256 with an oct jwk',
        hmacToken(
          { typ: 'dpop+jwt', alg: 'HS256', jwk: secretJwk },
          claims,
          'secret-secret-secret-secret-secret',
        ),
        'dpop_alg_not_allowed',
      ],
      [
        'oct jwk with ES256',
        asymmetricToken({ typ: 'dpop+jwt', alg: 'ES256', jwk: secretJwk }, claims, clientKey),
        'dpop_bad_key',
      ],
      [
        'private jwk',
        asymmetricToken({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk }, claims, clientKey),
        'dpop_bad_key',
      ],
      [
        'no jwk',
        asymmetricToken({ typ: 'dpop+jwt', alg: 'ES256' }, claims, clientKey),
        'dpop_bad_key',
      ],
      [
        'jwk of another type',
        asymmetricToken({ typ: 'dpop+jwt', alg: 'EdDSA', jwk }, claims, edKey),
        'dpop_bad_key',
      ],
      [
        'wrong typ',
        asymmetricToken({ typ: 'JWT', alg: 'ES256', jwk }, claims, clientKey),
        'dpop_proof_malformed',
      ],
      [
        'payload array',
        asymmetricToken({ typ: 'dpop+jwt', alg: 'ES256', jwk }, [claims], clientKey),
        'dpop_proof_malformed',
      ],
    ]
    for (const [name, bad, reason] of cases) {
      await assert.rejects(verifier.verifyRequest(request(token, bad)), (error: AuthError) => {
        assert.equal(error.status, 401, `${name}: ${error.message}`)
        assert.equal(error.reason, reason, `${name}: ${error.message}`)
        assert.ok(!error.message.includes(token))
        return true
      })
    }
    // The well-formed hand-made proof passes: the cases above fail for their one defect.
    await verifier.verifyRequest(
      request(token, asymmetricToken({ typ: 'dpop+jwt', alg: 'ES256', jwk }, claims, clientKey)),
    )
  })
})

describe('server nonces', () => {
  test('no nonce → 401 use_dpop_nonce with DPoP-Nonce; the given nonce passes', async () => {
    const verifier = verifierWith({ nonce: true })
    const token = await issuer.sign({}, { dpopKey: clientKey })
    let nonce = ''
    await assert.rejects(
      verifier.verifyRequest(
        request(token, await issuer.dpopProof({ key: clientKey, method: 'GET', url, token })),
      ),
      (error: AuthError) => {
        refusedWith(401, 'use_dpop_nonce', 'dpop_nonce_required')(error)
        assert.match(error.headers['WWW-Authenticate']!, /error="use_dpop_nonce"/)
        nonce = error.headers['DPoP-Nonce']!
        return typeof nonce === 'string' && nonce.length > 0
      },
    )
    const proof = await issuer.dpopProof({ key: clientKey, method: 'GET', url, token, nonce })
    await verifier.verifyRequest(request(token, proof))
    const forged = await issuer.dpopProof({
      key: clientKey,
      method: 'GET',
      url,
      token,
      nonce: nonce.slice(0, -2) + 'AA',
    })
    await assert.rejects(
      verifier.verifyRequest(request(token, forged)),
      refusedWith(401, 'use_dpop_nonce', 'dpop_nonce_required'),
    )
  })

  test('{ secret }: one instance accepts the nonces another issued; a process-own nonce does not travel', async () => {
    const secret = 'a-shared-nonce-secret-of-32-bytes-or-more'
    const first = verifierWith({ nonce: { secret } })
    const second = verifierWith({ nonce: { secret } })
    const own = verifierWith({ nonce: true })
    const token = await issuer.sign({}, { dpopKey: clientKey })
    const nonce = await first
      .verifyRequest(
        request(token, await issuer.dpopProof({ key: clientKey, method: 'GET', url, token })),
      )
      .then(
        () => '',
        (error: AuthError) => error.headers['DPoP-Nonce']!,
      )
    await second.verifyRequest(
      request(token, await issuer.dpopProof({ key: clientKey, method: 'GET', url, token, nonce })),
    )
    await assert.rejects(
      own.verifyRequest(
        request(
          token,
          await issuer.dpopProof({ key: clientKey, method: 'GET', url, token, nonce }),
        ),
      ),
      refusedWith(401, 'use_dpop_nonce', 'dpop_nonce_required'),
    )
    assert.throws(() => verifierWith({ nonce: { secret: 'short' } }), /at least 32 bytes/)
  })
})

describe('replay store', () => {
  test('a store that throws, rejects, answers nonsense or hangs: 503 with Retry-After', async () => {
    const stores: ReplayStore[] = [
      {
        markUsed: () => {
          throw new Error('down')
        },
      },
      { markUsed: () => Promise.reject(new Error('down')) },
      { markUsed: () => 'yes' as never },
      { markUsed: () => new Promise<boolean>(() => {}) },
    ]
    for (const replay of stores) {
      const verifier = verifierWith({ replay }, { denylistTimeout: '50ms' })
      const token = await issuer.sign({}, { dpopKey: clientKey })
      const proof = await issuer.dpopProof({ key: clientKey, method: 'GET', url, token })
      await assert.rejects(verifier.verifyRequest(request(token, proof)), (error: AuthError) => {
        assert.equal(error.status, 503)
        assert.equal(error.reason, 'dpop_replay_unavailable')
        assert.match(error.headers['Retry-After']!, /^\d+$/)
        return true
      })
    }
  })

  test('options are checked at construction', () => {
    assert.throws(
      () =>
        createVerifier({
          issuer: issuer.url,
          audience,
          jwksUri: issuer.jwksUri,
          dpop: {} as never,
        }),
      /dpop.origin is required/,
    )
    assert.throws(() => verifierWith({ origin: 'https://api.example.com/path' }), /scheme:\/\/host/)
    assert.throws(() => verifierWith({ algorithms: ['HS256'] }), /HMAC/)
    assert.throws(() => verifierWith({ replay: {} as never }), /markUsed/)
    assert.throws(() => verifierWith({ nonse: true } as never), /unknown option "nonse"/)
  })
})
