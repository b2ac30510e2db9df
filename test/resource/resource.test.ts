/**
 * `resource` (RFC 9728 / RFC 8707 resource identifier) and `profile: 'rfc9068'`, on the core
 * verifier with a real test issuer serving its JWKS on loopback. The HTTP handlers that serve the
 * metadata document are exercised per framework in test/adapters/scenarios.ts.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  createVerifier,
  type AuthError,
  type JwtPayload,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import {
  buildMetadata,
  descriptionOf,
  metadataPaths,
  metadataUrl,
} from '../../src/resource/metadata.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'

const API = 'https://api.example.com/mcp'
const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource/mcp'

const closers: Array<() => Promise<unknown>> = []
after(() => Promise.all(closers.splice(0).map((close) => close())))

let idp: TestIssuer
before(async () => {
  idp = await createTestIssuer({ alg: 'ES256', audience: API })
  closers.push(() => idp.close())
})

function verifier(options: Partial<VerifierOptions>): Verifier {
  const created = createVerifier({
    issuer: idp.url,
    jwksUri: idp.jwksUri,
    ...options,
  } as VerifierOptions)
  closers.push(() => created.close())
  return created
}

async function refused(promise: Promise<unknown>, reason: string): Promise<AuthError> {
  const error = await promise.then(
    () => assert.fail(`expected ${reason}`),
    (caught: AuthError) => caught,
  )
  assert.equal(error.reason, reason, error.message)
  return error
}

describe('resource: the RFC 9728 metadata URL', () => {
  test('well-known path inserted between host and path; a lone slash dropped; query kept', () => {
    assert.equal(metadataUrl(API), METADATA)
    const plain = 'https://api.example.com/.well-known/oauth-protected-resource'
    assert.equal(metadataUrl('https://api.example.com'), plain)
    assert.equal(metadataUrl('https://api.example.com/'), plain)
    assert.equal(
      metadataUrl('https://api.example.com:8443/v1/orders?tenant=a'),
      'https://api.example.com:8443/.well-known/oauth-protected-resource/v1/orders?tenant=a',
    )
    assert.deepEqual(metadataPaths(API), [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ])
    assert.deepEqual(metadataPaths('https://api.example.com/'), [
      '/.well-known/oauth-protected-resource',
    ])
  })

  test('a resource that is not an https URL without fragment is refused at construction', () => {
    for (const resource of [
      'api',
      'http://api.example.com',
      'https://api.example.com/#x',
      'urn:example:api',
      '',
    ]) {
      assert.throws(() => verifier({ audience: 'a', resource }), TypeError, resource)
    }
    assert.ok(verifier({ resource: 'http://127.0.0.1:8080/mcp' }))
  })
})

describe('resource: an accepted audience', () => {
  test('alone, it is the audience; with audience, either is accepted', async () => {
    const alone = verifier({ resource: API })
    assert.ok(await alone.verify(await idp.sign({ aud: API })))
    await refused(
      alone.verify(await idp.sign({ aud: 'https://other.example.com' })),
      'wrong_audience',
    )

    const both = verifier({ audience: 'orders', resource: API })
    assert.ok(await both.verify(await idp.sign({ aud: 'orders' })))
    assert.ok(await both.verify(await idp.sign({ aud: ['x', API] })))
    await refused(both.verify(await idp.sign({ aud: 'x' })), 'wrong_audience')
  })

  test('without resource, audience stays required', () => {
    assert.throws(() => verifier({}), /audience is required/)
    assert.throws(
      () => createVerifier({ issuers: [{ issuer: idp.url, jwksUri: idp.jwksUri }] }),
      /issuers\[0\]\.audience is required/,
    )
  })

  test('each issuers entry (and a resolver answer) accepts the resource', async () => {
    const listed = createVerifier({
      issuers: [{ issuer: idp.url, jwksUri: idp.jwksUri }],
      resource: API,
    })
    const resolved = createVerifier({
      issuers: (iss) => (iss === idp.url ? { issuer: iss, jwksUri: idp.jwksUri } : undefined),
      resource: API,
    })
    closers.push(
      () => listed.close(),
      () => resolved.close(),
    )
    for (const v of [listed, resolved]) {
      assert.ok(await v.verify(await idp.sign({ aud: API })))
      await refused(v.verify(await idp.sign({ aud: 'orders' })), 'wrong_audience')
    }
  })

  test('every challenge carries resource_metadata (RFC 9728 §5.1)', async () => {
    const v = verifier({ resource: API })
    const noToken = await refused(v.verifyRequest({ headers: {} }), 'no_token')
    assert.equal(
      noToken.headers['WWW-Authenticate'],
      `Bearer realm="${API}", resource_metadata="${METADATA}"`,
    )
    const expired = await refused(v.verify(await idp.sign({}, { expiresIn: -10 })), 'expired')
    assert.match(
      expired.headers['WWW-Authenticate']!,
      new RegExp(
        `^Bearer realm="${API}", error="invalid_token", error_description="[^"]+", resource_metadata="${METADATA}"$`,
      ),
    )
    await refused(v.verify(await idp.sign({ iss: 'https://evil.example.com' })), 'wrong_issuer')
  })
})

describe('protected resource metadata document', () => {
  test('a verifier with dpop publishes its proof algorithms and whether DPoP is required', () => {
    for (const required of [true, false]) {
      const v = verifier({
        resource: API,
        dpop: { origin: 'https://api.example.com', required, algorithms: ['ES256', 'EdDSA'] },
      })
      const { document } = buildMetadata(descriptionOf(v))
      assert.deepEqual(document.dpop_signing_alg_values_supported, ['ES256', 'EdDSA'])
      assert.equal(document.dpop_bound_access_tokens_required, required)
    }
    const plain = buildMetadata(descriptionOf(verifier({ resource: API }))).document
    assert.equal(plain.dpop_signing_alg_values_supported, undefined)
  })

  test('fields from the verifier and the options; extras; mistakes refused', () => {
    const served = buildMetadata(
      { resource: API, bearerMethods: ['header'], dpop: undefined },
      {
        authorizationServers: ['https://id.example.com'],
        scopesSupported: ['tools:call'],
        resourceName: 'Example MCP server',
        extra: { resource_policy_uri: 'https://example.com/policy' },
      },
    )
    assert.deepEqual(JSON.parse(served.body), {
      resource: API,
      bearer_methods_supported: ['header'],
      authorization_servers: ['https://id.example.com'],
      scopes_supported: ['tools:call'],
      resource_name: 'Example MCP server',
      resource_policy_uri: 'https://example.com/policy',
    })
    const dpop = buildMetadata({
      resource: API,
      bearerMethods: ['header'],
      dpop: { algorithms: ['ES256', 'EdDSA'], required: true },
    })
    assert.deepEqual(dpop.document.dpop_signing_alg_values_supported, ['ES256', 'EdDSA'])
    assert.equal(dpop.document.dpop_bound_access_tokens_required, true)

    const described = { resource: API, bearerMethods: ['header'], dpop: undefined }
    for (const options of [
      { authorizationServer: ['x'] },
      { scopesSupported: 'a b' },
      { extra: { resource: 'https://evil.example.com' } },
      { resource: 'https://other.example.com' },
    ]) {
      assert.throws(() => buildMetadata(described, options as never), TypeError)
    }
    assert.throws(() => buildMetadata(undefined, {}), /resource/)
    assert.ok(buildMetadata(undefined, { resource: API }))
  })
})

describe("profile: 'rfc9068'", () => {
  const clientId = 's6BhdRkqt3'
  /** An RFC 9068 token with `claims` over the usual ones; `typ` undefined leaves it out. */
  const accessToken = (claims: JwtPayload = {}, ...typ: unknown[]) =>
    idp.sign(
      { sub: 'alice', client_id: clientId, jti: randomUUID(), ...claims },
      {
        header: typ.length === 0 ? { typ: 'at+jwt' } : typ[0] === undefined ? {} : { typ: typ[0] },
      },
    )
  let v: Verifier
  before(() => {
    v = verifier({ audience: API, profile: 'rfc9068' })
  })

  test('an RFC 9068 access token passes, typ at+jwt in either spelling', async () => {
    assert.equal((await v.verify(await accessToken())).payload.client_id, clientId)
    assert.ok(await v.verify(await accessToken({}, 'application/at+jwt')))
    assert.ok(await v.verify(await accessToken({}, 'AT+JWT')))
  })

  test('another typ, or none, is refused', async () => {
    for (const typ of ['JWT', 'jwt', undefined, 'application/jwt']) {
      await refused(v.verify(await accessToken({}, typ)), 'wrong_typ')
    }
  })

  test('each required claim must be present; client_id a string', async () => {
    for (const claim of ['sub', 'client_id', 'iat', 'jti']) {
      const error = await refused(
        v.verify(await accessToken({ [claim]: undefined })),
        'missing_claim',
      )
      assert.match(error.message, new RegExp(`"${claim}"`))
    }
    await refused(v.verify(await accessToken({ client_id: 7 })), 'invalid_claim')
  })

  test('an OIDC ID token is refused as an access token', async () => {
    for (const claim of ['nonce', 'at_hash', 'c_hash']) {
      await refused(v.verify(await accessToken({ [claim]: 'x' })), 'id_token')
    }
    // An ID token's audience is its client; here the API happens to be registered as one.
    const asClient = verifier({ audience: [API, clientId], profile: 'rfc9068' })
    await refused(asClient.verify(await accessToken({ aud: clientId })), 'id_token')
    await refused(asClient.verify(await accessToken({ aud: [API, clientId] })), 'id_token')
    // The real shape: typ JWT, nonce, aud = client: refused whichever check comes first.
    const idToken = await idp.sign({ sub: 'alice', aud: clientId, nonce: 'n', client_id: clientId })
    await assert.rejects(asClient.verify(idToken), { status: 401, code: 'invalid_token' })
  })

  test('a typ other than at+jwt cannot be configured with the profile', () => {
    assert.throws(() => verifier({ audience: API, profile: 'rfc9068', typ: 'JWT' }), /typ/)
    assert.ok(verifier({ audience: API, profile: 'rfc9068', typ: 'application/at+jwt' }))
    assert.throws(() => verifier({ audience: API, profile: 'RFC9068' as never }), TypeError)
  })
})
