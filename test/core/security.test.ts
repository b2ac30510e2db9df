/**
 * Named attacks, one case each: what an attacker who controls every byte of the request would
 * try first. Each must be refused, and none may make us contact a server of their choosing.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createVerifier, type AuthError, type Denylist } from '../../src/index.js'
import { createTestIssuer } from '../../src/testing/index.js'
import { listen } from '../helpers/http.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken, assemble, hmacToken, nowSeconds } from '../helpers/tokens.js'

const audience = 'https://api.example.com'
const cleanup: Array<() => Promise<unknown>> = []
after(() => Promise.all(cleanup.map((fn) => fn())))

async function setup() {
  const issuer = await createTestIssuer({ alg: 'RS256', audience })
  const verifier = createVerifier({ issuer: issuer.url, audience, jwksUri: issuer.jwksUri })
  cleanup.push(
    () => verifier.close(),
    () => issuer.close(),
  )
  await verifier.verify(await issuer.sign()) // warm the JWKS cache
  const claims = { iss: issuer.url, aud: audience, exp: nowSeconds() + 300, sub: 'victim' }
  return { issuer, verifier, claims }
}

const refusedWith = (status: number, reason?: string) => (error: AuthError) => {
  assert.equal(error.status, status, error.message)
  if (reason) assert.equal(error.reason, reason)
  return true
}

describe('attacks', () => {
  test('alg "none" in any case, with or without a signature', async () => {
    const { verifier, claims } = await setup()
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await assert.rejects(verifier.verify(assemble({ alg }, claims)), refusedWith(401))
      await assert.rejects(
        verifier.verify(assemble({ alg }, claims, 'AAAA')),
        refusedWith(401, 'alg_not_allowed'),
      )
    }
  })

  test('HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const { issuer, verifier, claims } = await setup()
    const jwk = issuer.jwks().keys[0]!
    const { createPublicKey } = await import('node:crypto')
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    })
    for (const secret of [pem as string, JSON.stringify(jwk), jwk.n!]) {
      const token = hmacToken({ alg: 'HS256', kid: issuer.kid }, claims, secret)
      await assert.rejects(verifier.verify(token), refusedWith(401, 'alg_not_allowed'))
    }
  })

  test('an embedded "jwk" header naming the attacker\'s own key', async () => {
    const { issuer, verifier, claims } = await setup()
    const attacker = keyPair('rsa', issuer.kid)
    for (const header of [
      { alg: 'RS256', jwk: attacker.jwk },
      { alg: 'RS256', kid: issuer.kid, jwk: attacker.jwk },
    ]) {
      await assert.rejects(
        verifier.verify(asymmetricToken(header, claims, attacker.privateKey)),
        refusedWith(401),
      )
    }
  })

  test('"jku" and "x5u" pointing at an attacker server: refused, and the server hears nothing', async () => {
    const { issuer, verifier, claims } = await setup()
    const attacker = keyPair('rsa', 'evil')
    let contacted = 0
    const evil = await listen((_req, res) => {
      contacted++
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ keys: [attacker.jwk] }))
    })
    cleanup.push(() => evil.close())
    for (const header of [
      { alg: 'RS256', kid: 'evil', jku: `${evil.url}/jwks` },
      { alg: 'RS256', kid: issuer.kid, jku: `${evil.url}/jwks` },
      { alg: 'RS256', kid: 'evil', x5u: `${evil.url}/cert.pem` },
    ]) {
      await assert.rejects(
        verifier.verify(asymmetricToken(header, claims, attacker.privateKey)),
        refusedWith(401),
      )
    }
    // A genuine token carrying a jku is verified with our keys; the header is never followed.
    await verifier.verify(await issuer.sign({}, { header: { jku: `${evil.url}/jwks` } }))
    assert.equal(contacted, 0)
  })

  test('a wrong "typ" when at+jwt is required (an ID token replayed as an access token)', async () => {
    const issuer = await createTestIssuer({ audience })
    const verifier = createVerifier({
      issuer: issuer.url,
      audience,
      jwksUri: issuer.jwksUri,
      typ: 'at+jwt',
    })
    cleanup.push(
      () => verifier.close(),
      () => issuer.close(),
    )
    await verifier.verify(await issuer.sign({}, { header: { typ: 'at+jwt' } }))
    await assert.rejects(
      verifier.verify(await issuer.sign({}, { header: { typ: 'JWT' } })),
      refusedWith(401, 'wrong_typ'),
    )
  })

  test('an unknown kid is refused without trusting anything in the token', async () => {
    const { issuer, verifier, claims } = await setup()
    const attacker = keyPair('rsa', 'unknown-kid')
    await assert.rejects(
      verifier.verify(
        asymmetricToken({ alg: 'RS256', kid: 'unknown-kid' }, claims, attacker.privateKey),
      ),
      refusedWith(401, 'no_matching_key'),
    )
    assert.ok(issuer.jwksRequests <= 2)
  })

  test('a token that expires while cached is refused at its expiry', async () => {
    const { issuer, verifier } = await setup()
    const token = await issuer.sign({}, { expiresIn: 1 })
    await verifier.verify(token)
    await new Promise((resolve) => setTimeout(resolve, 2100))
    await assert.rejects(verifier.verify(token), refusedWith(401, 'expired'))
  })

  test('a token revoked after it was cached is refused on its next request', async () => {
    const issuer = await createTestIssuer({ audience })
    const revoked = new Set<string>()
    const denylist: Denylist = { isRevoked: (payload) => revoked.has(payload.jti!) }
    const verifier = createVerifier({
      issuer: issuer.url,
      audience,
      jwksUri: issuer.jwksUri,
      denylist,
    })
    cleanup.push(
      () => verifier.close(),
      () => issuer.close(),
    )
    const token = await issuer.sign()
    await verifier.verify(token)
    await verifier.verify(token)
    revoked.add(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti)
    await assert.rejects(verifier.verify(token), refusedWith(401, 'revoked'))
  })

  test('a token for another audience or issuer, correctly signed, is refused', async () => {
    const { issuer, verifier } = await setup()
    await assert.rejects(
      verifier.verify(await issuer.sign({ aud: 'https://other-api.example.com' })),
      refusedWith(401, 'wrong_audience'),
    )
    await assert.rejects(
      verifier.verify(await issuer.sign({ iss: 'https://evil.example.com' })),
      refusedWith(401, 'wrong_issuer'),
    )
  })
})
