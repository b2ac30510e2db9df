/**
 * Property: an `iss` outside the trusted set never makes the verifier fetch anything, and is
 * always refused as `wrong_issuer`; a trusted one always verifies. The tokens are signed by the
 * real keys of real issuers on loopback, so only the issuer rule can refuse them, and the
 * issuers' request counters (JWKS and discovery) tell whether anything was fetched.
 *
 * Issuers: one by `jwksUri`, one by OIDC discovery (the discovery document itself is a fetch an
 * untrusted `iss` must not cause), and an Entra `{tenantid}` template with two tenants.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { createVerifier, isAuthError, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { checkProperty, outcomeOf } from './harness.js'

const AUDIENCE = 'https://api.example.com'
const TENANTS = ['1a2b3c4d-2222-4333-8444-555555555555', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee']
const ENTRA = 'https://login.microsoftonline.com/{tenantid}/v2.0'

let byJwks: TestIssuer
let byDiscovery: TestIssuer
let entraKeys: TestIssuer
let verifier: Verifier
/** Every `iss` the verifier trusts, with the `tid` it requires (if any). */
let trusted: Map<string, string | undefined>

before(async () => {
  byJwks = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
  byDiscovery = await createTestIssuer({ alg: 'EdDSA', audience: AUDIENCE })
  entraKeys = await createTestIssuer({ alg: 'RS256', audience: AUDIENCE })
  verifier = createVerifier({
    issuers: [
      { issuer: byJwks.url, audience: AUDIENCE, jwksUri: byJwks.jwksUri },
      { issuer: byDiscovery.url, audience: AUDIENCE },
      { issuer: ENTRA, tenants: TENANTS, audience: AUDIENCE, jwksUri: entraKeys.jwksUri },
    ],
  })
  trusted = new Map<string, string | undefined>([
    [byJwks.url, undefined],
    [byDiscovery.url, undefined],
    ...TENANTS.map((tenant) => [ENTRA.replace('{tenantid}', tenant), tenant] as const),
  ])
  // Warm every key source, so a trusted token needs no fetch either.
  await verifier.verify(await byJwks.sign())
  await verifier.verify(await byDiscovery.sign())
  await verifier.verify(
    await entraKeys.sign({ iss: ENTRA.replace('{tenantid}', TENANTS[0]!), tid: TENANTS[0] }),
  )
})

after(async () => {
  await verifier.close()
  await Promise.all([byJwks.close(), byDiscovery.close(), entraKeys.close()])
})

const fetches = () =>
  [byJwks, byDiscovery, entraKeys].reduce(
    (sum, idp) => sum + idp.jwksRequests + idp.discoveryRequests,
    0,
  )

/** Near misses of the trusted issuers, template tricks, and arbitrary strings. */
function issuerCandidate(): fc.Arbitrary<string> {
  const bases = () => [byJwks.url, byDiscovery.url, ...trusted.keys()]
  const nearMiss = fc
    .tuple(
      fc.constantFrom(...bases()),
      fc.constantFrom(
        (s: string) => s,
        (s: string) => `${s}/`,
        (s: string) => s.toUpperCase(),
        (s: string) => ` ${s}`,
        (s: string) => `${s}\u0000`,
        (s: string) => s.replace('127.0.0.1', 'localhost'),
        (s: string) => s.replace('http:', 'https:'),
        (s: string) => s.slice(0, -1),
        (s: string) => `${s}?x=1`,
        (s: string) => s.normalize('NFKD').replace('a', '\u0430'), // Cyrillic a
      ),
    )
    .map(([base, change]) => change(base))
  const template = fc
    .oneof(
      fc.constant('{tenantid}'),
      fc.uuid(),
      fc.constantFrom(...TENANTS),
      fc.string({ maxLength: 40 }),
    )
    .map((tenant) => ENTRA.replace('{tenantid}', tenant))
  return fc.oneof(nearMiss, template, fc.string({ maxLength: 60 }), fc.webUrl())
}

/** The token's `tid`: absent, a listed tenant, a random GUID, or junk. */
const tenantCandidate = fc.option(
  fc.oneof(fc.constantFrom(...TENANTS), fc.uuid(), fc.string({ maxLength: 40 })),
  { nil: undefined },
)

test('no issuer outside the trusted set ever causes a fetch', async (t) => {
  await checkProperty(
    t,
    fc.asyncProperty(issuerCandidate(), tenantCandidate, async (iss, tid) => {
      // The issuer's own key for a trusted iss, so only the issuer rule can refuse.
      const expectedTenant = trusted.get(iss)
      const signer =
        iss === byDiscovery.url ? byDiscovery : expectedTenant !== undefined ? entraKeys : byJwks
      const token = await signer.sign(tid === undefined ? { iss } : { iss, tid })
      const before = fetches()
      const outcome = await outcomeOf(() => verifier.verify(token))
      const shouldPass =
        trusted.has(iss) && (expectedTenant === undefined || expectedTenant === tid)
      if (shouldPass) {
        assert.ok(outcome.ok, `trusted ${JSON.stringify(iss)} (tid ${String(tid)}) must verify`)
      } else {
        assert.ok(!outcome.ok && isAuthError(outcome.error), 'must be refused')
        assert.equal(outcome.error.reason, 'wrong_issuer', JSON.stringify(iss))
        assert.equal(fetches(), before, `untrusted ${JSON.stringify(iss)} caused a fetch`)
      }
    }),
    300,
  )
})
