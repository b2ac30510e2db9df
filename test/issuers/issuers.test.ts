/**
 * Several trusted issuers, each with its own keys, audience, algorithms and `typ`; Entra-style
 * `{tenantid}` templates; and an `issuers` resolver. Real test issuers serve the JWKS on
 * loopback, and their request counters prove that an untrusted `iss` never causes a fetch.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  createVerifier,
  type AuthError,
  type IssuerSettings,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'

const ORDERS = 'https://orders.example.com'
const BILLING = 'https://billing.example.com'
const TENANT_A = '1a2b3c4d-2222-4333-8444-555555555555'
const TENANT_B = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'
const ENTRA = 'https://login.microsoftonline.com/{tenantid}/v2.0'
const entraIssuer = (tenant: string) => ENTRA.replace('{tenantid}', tenant)

const closers: Array<() => Promise<unknown>> = []
after(() =>
  Promise.all(
    closers
      .splice(0)
      .reverse()
      .map((close) => close()),
  ),
)

async function issuer(alg: 'RS256' | 'ES256' | 'EdDSA', audience: string): Promise<TestIssuer> {
  const created = await createTestIssuer({ alg, audience })
  closers.push(() => created.close())
  return created
}

function verifier(options: VerifierOptions): Verifier {
  const created = createVerifier(options)
  closers.push(() => created.close())
  return created
}

async function refusedWith(promise: Promise<unknown>, reason: string, status = 401) {
  const error = await promise.then(
    () => assert.fail(`expected ${reason}`),
    (caught: AuthError) => caught,
  )
  assert.equal(error.reason, reason, error.message)
  assert.equal(error.status, status)
  return error
}

/** Total JWKS and discovery requests served by these issuers. */
const fetches = (...issuers: TestIssuer[]) =>
  issuers.reduce((sum, one) => sum + one.jwksRequests + one.discoveryRequests, 0)

describe('issuers: a fixed list', () => {
  let a: TestIssuer
  let b: TestIssuer
  let v: Verifier

  before(async () => {
    a = await issuer('RS256', ORDERS)
    b = await issuer('ES256', BILLING)
    v = verifier({
      issuers: [
        { issuer: a.url, audience: ORDERS, jwksUri: a.jwksUri },
        { issuer: b.url, audience: BILLING, jwksUri: b.jwksUri, typ: 'at+jwt' },
      ],
    })
  })

  test("each issuer's tokens verify with its own keys and audience", async () => {
    assert.equal((await v.verify(await a.sign({ sub: 'a1' }))).payload.sub, 'a1')
    const fromB = await b.sign({ sub: 'b1' }, { header: { typ: 'at+jwt' } })
    assert.equal((await v.verify(fromB)).payload.sub, 'b1')
  })

  test('a key from one issuer never verifies a token claiming another', async () => {
    // Signed by A's key, claiming B (with B's audience and typ): only B's keys are consulted.
    const forged = await a.sign({ iss: b.url, aud: BILLING }, { header: { typ: 'at+jwt' } })
    await refusedWith(v.verify(forged), 'no_matching_key')
    const forgedSameAlg = await (
      await issuer('ES256', BILLING)
    ).sign({ iss: b.url }, { header: { typ: 'at+jwt' } })
    await refusedWith(v.verify(forgedSameAlg), 'no_matching_key')
  })

  test("each issuer's audience and typ apply to its tokens only", async () => {
    await refusedWith(v.verify(await a.sign({ aud: BILLING })), 'wrong_audience')
    await refusedWith(v.verify(await b.sign()), 'wrong_typ') // B requires at+jwt
    assert.ok(await v.verify(await a.sign({}, { header: { typ: 'JWT' } }))) // A does not
  })

  test('an untrusted iss is refused before any fetch, with the issuer in the log-only details', async () => {
    const before = fetches(a, b)
    for (const iss of [`${a.url}/`, a.url.toUpperCase(), 'https://evil.example.com', '']) {
      const error = await refusedWith(v.verify(await a.sign({ iss })), 'wrong_issuer')
      assert.deepEqual(error.details, { received: iss })
      assert.doesNotMatch(error.headers['WWW-Authenticate']!, /evil|127\.0\.0\.1/)
    }
    assert.equal(fetches(a, b), before, 'no issuer outside the list may cause a fetch')
  })

  test('per-issuer algorithms narrow what that issuer may use', async () => {
    const rsa = await issuer('RS256', ORDERS)
    const narrowed = verifier({
      issuers: [{ issuer: rsa.url, audience: ORDERS, jwksUri: rsa.jwksUri, algorithms: ['PS256'] }],
    })
    const error = await refusedWith(narrowed.verify(await rsa.sign()), 'alg_not_allowed')
    assert.deepEqual(error.details, { expected: ['PS256'], received: 'RS256' })
  })
})

describe('issuers: Entra {tenantid} templates', () => {
  let idp: TestIssuer
  let v: Verifier

  before(async () => {
    idp = await issuer('RS256', ORDERS)
    v = verifier({
      issuers: [{ issuer: ENTRA, tenants: [TENANT_A], audience: ORDERS, jwksUri: idp.jwksUri }],
    })
  })

  test('a listed tenant with the matching tid verifies', async () => {
    const token = await idp.sign({ iss: entraIssuer(TENANT_A), tid: TENANT_A })
    assert.equal((await v.verify(token)).payload.tid, TENANT_A)
  })

  test('unlisted tenants, mismatched or malformed tid, and a literal template are refused without a fetch', async () => {
    await v.verify(await idp.sign({ iss: entraIssuer(TENANT_A), tid: TENANT_A })) // warm
    const before = fetches(idp)
    const cases: Array<Record<string, unknown>> = [
      { iss: entraIssuer(TENANT_B), tid: TENANT_B }, // not in the allow-list
      { iss: entraIssuer(TENANT_A), tid: TENANT_B }, // iss and tid disagree
      { iss: entraIssuer(TENANT_A) }, // no tid
      { iss: entraIssuer(TENANT_A), tid: TENANT_A.toUpperCase() }, // not the tenant as listed
      { iss: entraIssuer('not-a-guid'), tid: 'not-a-guid' },
      { iss: ENTRA, tid: '{tenantid}' }, // the template itself
      { iss: ENTRA, tid: TENANT_A },
    ]
    for (const claims of cases) {
      await refusedWith(v.verify(await idp.sign(claims)), 'wrong_issuer')
    }
    assert.equal(fetches(idp), before)
  })

  test('bad template settings are TypeErrors at construction', () => {
    const base = { audience: ORDERS, jwksUri: 'https://login.example.com/keys' }
    assert.throws(
      () => createVerifier({ issuers: [{ ...base, issuer: ENTRA }] }),
      /list the allowed tenant ids/,
    )
    assert.throws(
      () => createVerifier({ issuers: [{ ...base, issuer: ENTRA, tenants: ['Tenant-A'] }] }),
      /"Tenant-A" is not a tenant id/,
    )
    assert.throws(
      () =>
        createVerifier({
          issuers: [{ ...base, issuer: 'https://id.example.com', tenants: [TENANT_A] }],
        }),
      /tenants needs an issuer template/,
    )
  })
})

describe('issuers: a resolver', () => {
  test('asked once per issuer, concurrent requests sharing the call; answers kept, found or not', async () => {
    const idp = await issuer('EdDSA', ORDERS)
    const asked: string[] = []
    const v = verifier({
      issuers: async (iss) => {
        asked.push(iss)
        await sleep(20)
        return iss === idp.url ? { issuer: iss, audience: ORDERS, jwksUri: idp.jwksUri } : undefined
      },
    })
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => idp.sign({ sub: `u${i}` })),
    )
    const results = await Promise.all(tokens.map((token) => v.verify(token)))
    assert.equal(results.length, 50)
    assert.deepEqual(asked, [idp.url])

    const stranger = await idp.sign({ iss: 'https://stranger.example.com' })
    await refusedWith(v.verify(stranger), 'wrong_issuer')
    await refusedWith(v.verify(stranger), 'wrong_issuer')
    assert.deepEqual(asked, [idp.url, 'https://stranger.example.com'])
    assert.equal(idp.jwksRequests, 1)
  })

  test('settings for another issuer do not make this one trusted', async () => {
    const idp = await issuer('ES256', ORDERS)
    const v = verifier({
      issuers: () => ({
        issuer: 'https://someone-else.example.com',
        audience: ORDERS,
        jwksUri: idp.jwksUri,
      }),
    })
    await refusedWith(v.verify(await idp.sign()), 'wrong_issuer')
    assert.equal(idp.jwksRequests, 0)
  })

  test('a throwing, slow or nonsensical resolver: 503 without detail, asked again next time', async () => {
    const idp = await issuer('ES256', ORDERS)
    let mode: 'throw' | 'hang' | 'nonsense' | 'ok' = 'throw'
    let calls = 0
    const settings: IssuerSettings = { issuer: idp.url, audience: ORDERS, jwksUri: idp.jwksUri }
    const v = verifier({
      remoteKeys: { fetchTimeout: '200ms' },
      issuers: (iss) => {
        calls++
        if (mode === 'throw') throw new Error(`db at 10.0.0.7:5432 refused ${iss}`)
        if (mode === 'hang') return new Promise<never>(() => {})
        if (mode === 'nonsense') return { issuer: iss }
        return settings
      },
    })
    const token = await idp.sign()
    for (const next of ['throw', 'hang', 'nonsense'] as const) {
      mode = next
      const error = await refusedWith(v.verify(token), 'issuer_unavailable', 503)
      assert.equal(error.headers['Retry-After'], '1')
      assert.doesNotMatch(error.message, /10\.0\.0\.7|5432|db/)
    }
    assert.equal(calls, 3)
    mode = 'ok'
    assert.ok(await v.verify(token))
    assert.equal(calls, 4)
    assert.equal(idp.jwksRequests, 1)
  })
})

describe('issuers: options', () => {
  const entry = {
    issuer: 'https://id.example.com',
    audience: ORDERS,
    jwksUri: 'https://id.example.com/jwks',
  }

  test('issuers replaces the top-level issuer settings; mixing them is a TypeError', () => {
    for (const misplaced of [
      { issuer: 'x' },
      { audience: 'x' },
      { jwksUri: 'https://x/jwks' },
      { algorithms: ['RS256'] },
      { typ: 'at+jwt' },
    ]) {
      assert.throws(
        () => createVerifier({ issuers: [entry], ...misplaced } as unknown as VerifierOptions),
        /with issuers, give \w+ in each issuer's settings/,
      )
    }
  })

  test('entries are validated like the top level, naming the entry', () => {
    assert.throws(() => createVerifier({ issuers: [] }), /issuers must be a non-empty array/)
    assert.throws(
      () => createVerifier({ issuers: [entry, { ...entry, audiance: 'typo' } as IssuerSettings] }),
      /issuers\[1\]: unknown option "audiance"/,
    )
    assert.throws(
      () => createVerifier({ issuers: [{ ...entry, jwksUri: 'http://id.example.com/jwks' }] }),
      /issuers\[0\]\.jwksUri must use https/,
    )
    assert.throws(() => createVerifier({ issuers: [entry, entry] }), /is listed twice/)
  })

  test("the realm defaults to the first issuer's first audience", async () => {
    const v = verifier({ issuers: [entry] })
    const error = await refusedWith(v.verifyRequest({ headers: {} }), 'no_token')
    assert.equal(error.headers['WWW-Authenticate'], `Bearer realm="${ORDERS}"`)
  })
})
