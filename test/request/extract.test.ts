/**
 * Finding the token: the Authorization header (Node headers and Fetch Headers alike), the
 * configured cookie, and the refusals for malformed or ambiguous requests.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createVerifier, type AuthError, type RequestLike, type Verifier } from '../../src/index.js'
import { cookieToken } from '../../src/request/extract.js'
import { hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'urn:issuer'
const audience = 'urn:api'
const secret = 'k'.repeat(48)
let token: string
let headerOnly: Verifier
let cookieMode: Verifier
before(() => {
  token = hmacToken(
    { alg: 'HS256' },
    { iss: issuer, aud: audience, exp: nowSeconds() + 60, sub: 's' },
    secret,
  )
  headerOnly = createVerifier({ issuer, audience, secret })
  cookieMode = createVerifier({ issuer, audience, secret, token: { cookie: 'access_token' } })
})
after(() => Promise.all([headerOnly.close(), cookieMode.close()]))

const node = (headers: Record<string, string | string[]>): RequestLike => ({
  headers,
  method: 'GET',
})
const fetchRequest = (headers: Record<string, string>) =>
  new Request('http://api.test/x', { headers })

async function fails(v: Verifier, request: RequestLike, status: number, reason: string) {
  await assert.rejects(v.verifyRequest(request), (error: AuthError) => {
    assert.equal(error.status, status, error.message)
    assert.equal(error.reason, reason)
    return true
  })
}

describe('Authorization: Bearer', () => {
  test('found in Node headers and in a Fetch Request, scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      assert.equal(
        (await headerOnly.verifyRequest(node({ authorization: `${scheme} ${token}` })))?.payload
          .sub,
        's',
      )
      assert.equal(
        (await headerOnly.verifyRequest(fetchRequest({ authorization: `${scheme} ${token}` })))
          ?.payload.sub,
        's',
      )
    }
    assert.ok(await headerOnly.verifyRequest(node({ authorization: `Bearer   ${token}  ` })))
  })

  test('no header, or another scheme, is 401 without an error code', async () => {
    for (const request of [
      node({}),
      node({ authorization: 'Basic dXNlcjpwYXNz' }),
      fetchRequest({}),
    ]) {
      await assert.rejects(headerOnly.verifyRequest(request), (error: AuthError) => {
        assert.equal(error.status, 401)
        assert.equal(error.code, 'unauthorized')
        assert.equal(error.headers['WWW-Authenticate'], 'Bearer realm="urn:api"')
        return true
      })
    }
  })

  test('"Bearer" with no token, or with two, is 400 invalid_request', async () => {
    for (const value of [
      'Bearer',
      'Bearer ',
      'Bearer    ',
      `Bearer ${token} ${token}`,
      `Bearer ${token}, Bearer ${token}`,
      `Bearer ${token},`,
    ]) {
      await fails(headerOnly, node({ authorization: value }), 400, 'malformed_request')
    }
    // Fetch joins repeated headers; two Authorization headers are two tokens.
    const headers = new Headers()
    headers.append('authorization', `Bearer ${token}`)
    headers.append('authorization', `Bearer ${token}`)
    await fails(headerOnly, { headers }, 400, 'malformed_request')
  })

  test('a malformed token in a well-formed header is 401 invalid_token', async () => {
    await fails(headerOnly, node({ authorization: 'Bearer abc' }), 401, 'malformed')
  })

  test('credentialsRequired: false resolves null when there is no token, still refuses a bad one', async () => {
    assert.equal(await headerOnly.verifyRequest(node({}), { credentialsRequired: false }), null)
    await assert.rejects(
      headerOnly.verifyRequest(node({ authorization: 'Bearer abc' }), {
        credentialsRequired: false,
      }),
      { status: 401 },
    )
  })
})

describe('cookie', () => {
  test('read from the configured cookie among others, quoted or not, __Host- names too', async () => {
    assert.ok(
      await cookieMode.verifyRequest(
        node({ cookie: `theme=dark; access_token=${token}; lang=en` }),
      ),
    )
    assert.ok(await cookieMode.verifyRequest(node({ cookie: `access_token="${token}"` })))
    assert.ok(await cookieMode.verifyRequest(fetchRequest({ cookie: `a=1;access_token=${token}` })))
    const hostPrefixed = createVerifier({
      issuer,
      audience,
      secret,
      token: { cookie: '__Host-at' },
    })
    assert.ok(await hostPrefixed.verifyRequest(node({ cookie: `__Host-at=${token}` })))
  })

  test('only the exact cookie name counts', () => {
    assert.equal(cookieToken('xaccess_token=1; access_tokens=2', 'access_token', 'r'), undefined)
    assert.equal(cookieToken('access_token=', 'access_token', 'r'), undefined)
    assert.equal(cookieToken(' access_token = v ', 'access_token', 'r'), 'v')
  })

  test('the cookie twice is 400; header and cookie together is 400', async () => {
    await fails(
      cookieMode,
      node({ cookie: `access_token=${token}; access_token=${token}` }),
      400,
      'malformed_request',
    )
    await fails(
      cookieMode,
      node({ cookie: `access_token=${token}`, authorization: `Bearer ${token}` }),
      400,
      'ambiguous_token',
    )
  })

  test('another scheme in the header does not hide the cookie', async () => {
    assert.ok(
      await cookieMode.verifyRequest(
        node({ cookie: `access_token=${token}`, authorization: 'Basic eDp5' }),
      ),
    )
  })

  test('without a cookie option, cookies are never read', async () => {
    await fails(headerOnly, node({ cookie: `access_token=${token}` }), 401, 'no_token')
  })

  test('header: false reads only the cookie', async () => {
    const cookieOnly = createVerifier({
      issuer,
      audience,
      secret,
      token: { header: false, cookie: 'access_token' },
    })
    await fails(cookieOnly, node({ authorization: `Bearer ${token}` }), 401, 'no_token')
    assert.ok(await cookieOnly.verifyRequest(node({ cookie: `access_token=${token}` })))
  })
})
