/**
 * `createTestIssuer`: the helper users get for their own tests.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { createVerifier } from '../../src/index.js'
import { createTestIssuer } from '../../src/testing/index.js'
import { send } from '../helpers/http.js'

describe('createTestIssuer', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA', 'HS256'] as const) {
    test(`${alg}: serves JWKS and discovery on 127.0.0.1 and signs verifiable tokens`, async () => {
      const issuer = await createTestIssuer({ alg, audience: 'urn:api' })
      try {
        assert.match(issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        const discovery = (await send(issuer.discoveryUri)).json()
        assert.equal(discovery.issuer, issuer.url)
        assert.equal(discovery.jwks_uri, issuer.jwksUri)
        const jwks = (await send(issuer.jwksUri)).json()
        if (alg === 'HS256') {
          assert.deepEqual(jwks.keys, [], 'an HMAC secret is never published')
          assert.ok(issuer.secret && issuer.secret.length >= 32)
        } else {
          assert.equal(jwks.keys.length, 1)
          assert.equal(jwks.keys[0].kid, issuer.kid)
          assert.equal(jwks.keys[0].d, undefined, 'no private member is published')
        }
        const token = await issuer.sign({ sub: 'u1', scope: 'read' }, { expiresIn: '5m' })
        const payload = decodeJwt(token)
        assert.equal(payload.iss, issuer.url)
        assert.equal(payload.aud, 'urn:api')
        assert.equal(payload.exp! - payload.iat!, 300)
        assert.equal(typeof payload.jti, 'string')
        assert.equal(decodeProtectedHeader(token).alg, alg)
        const verifier =
          alg === 'HS256'
            ? createVerifier({ issuer: issuer.url, audience: 'urn:api', secret: issuer.secret! })
            : createVerifier({ issuer: issuer.url, audience: 'urn:api', algorithms: [alg] })
        assert.equal((await verifier.verify(token)).payload.sub, 'u1')
        await verifier.close()
      } finally {
        await issuer.close()
      }
    })
  }

  test('sign options: expired tokens, nbf, iat, audience and header overrides', async () => {
    const issuer = await createTestIssuer()
    try {
      const now = Math.floor(Date.now() / 1000)
      const payload = decodeJwt(
        await issuer.sign(
          { extra: true },
          {
            expiresIn: '-1m',
            notBefore: '-2m',
            issuedAt: '-3m',
            audience: ['a', 'b'],
            subject: 's',
          },
        ),
      )
      assert.ok(Math.abs(payload.exp! - (now - 60)) <= 1)
      assert.ok(Math.abs(payload.nbf! - (now - 120)) <= 1)
      assert.ok(Math.abs(payload.iat! - (now - 180)) <= 1)
      assert.deepEqual(payload.aud, ['a', 'b'])
      assert.equal(payload.sub, 's')
      assert.equal(payload.extra, true)
      const header = decodeProtectedHeader(await issuer.sign({}, { header: { typ: 'at+jwt' } }))
      assert.equal(header.typ, 'at+jwt')
    } finally {
      await issuer.close()
    }
  })

  test('rotate publishes a new key, keeps or drops the old one, and counts requests', async () => {
    const issuer = await createTestIssuer({ alg: 'ES256' })
    try {
      const first = issuer.kid
      const second = await issuer.rotate()
      assert.notEqual(first, second)
      assert.deepEqual(
        issuer.jwks().keys.map((k) => k.kid),
        [first, second],
      )
      await issuer.rotate({ keepPrevious: false })
      assert.equal(issuer.jwks().keys.length, 1)
      await send(issuer.jwksUri)
      await send(issuer.discoveryUri)
      assert.equal(issuer.jwksRequests, 1)
      assert.equal(issuer.discoveryRequests, 1)
    } finally {
      await issuer.close()
    }
  })

  test('simulated outages: 503, or no answer at all, until healed', async () => {
    const issuer = await createTestIssuer()
    try {
      issuer.simulateOutage('error')
      assert.equal((await send(issuer.jwksUri)).status, 503)
      issuer.simulateOutage('hang')
      const hanging = send(issuer.jwksUri).then(
        () => 'answered',
        () => 'dropped',
      )
      const raced = await Promise.race([
        hanging,
        new Promise((r) => setTimeout(() => r('waiting'), 200)),
      ])
      assert.equal(raced, 'waiting')
      issuer.simulateOutage(false)
      assert.equal(await hanging, 'dropped')
      assert.equal((await send(issuer.jwksUri)).status, 200)
    } finally {
      await issuer.close()
    }
  })
})
