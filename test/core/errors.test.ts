import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AuthError, isAuthError } from '../../src/index.js'
import {
  claimCheckFailed,
  csrfRefused,
  insufficientScope,
  invalidRequest,
  invalidToken,
  noToken,
  unavailable,
} from '../../src/errors.js'

describe('AuthError', () => {
  test('no token: 401 unauthorized, a challenge without error=', () => {
    const error = noToken('api')
    assert.equal(error.status, 401)
    assert.equal(error.statusCode, 401)
    assert.equal(error.code, 'unauthorized')
    assert.equal(error.reason, 'no_token')
    assert.equal(error.expose, true)
    assert.deepEqual(error.headers, { 'WWW-Authenticate': 'Bearer realm="api"' })
  })

  test('invalid token: 401 with error and error_description', () => {
    const error = invalidToken('api', 'expired', 'The token has expired.')
    assert.equal(
      error.headers['WWW-Authenticate'],
      'Bearer realm="api", error="invalid_token", error_description="The token has expired."',
    )
    assert.equal(error.name, 'AuthError')
    assert.ok(error instanceof Error)
    assert.ok(error instanceof AuthError)
  })

  test('invalid request: 400 invalid_request', () => {
    const error = invalidRequest('api', 'malformed_request', 'Two tokens.')
    assert.equal(error.status, 400)
    assert.equal(
      error.headers['WWW-Authenticate'],
      'Bearer realm="api", error="invalid_request", error_description="Two tokens."',
    )
  })

  test('insufficient scope: 403 with scope= listing the required scopes', () => {
    const error = insufficientScope('api', ['read:orders', 'write:orders'])
    assert.equal(error.status, 403)
    assert.equal(error.code, 'insufficient_scope')
    assert.match(error.headers['WWW-Authenticate']!, /, scope="read:orders write:orders"$/)
  })

  test('claim check: 403 invalid_token; csrf: 403 invalid_request with reason csrf', () => {
    assert.equal(claimCheckFailed('api').status, 403)
    assert.equal(claimCheckFailed('api').code, 'invalid_token')
    const csrf = csrfRefused('api', 'Cross-site.')
    assert.equal(csrf.status, 403)
    assert.equal(csrf.code, 'invalid_request')
    assert.equal(csrf.reason, 'csrf')
  })

  test('503: temporarily_unavailable, Retry-After in whole seconds, not exposed, cause kept out of sight', () => {
    const cause = new Error('connect ECONNREFUSED 10.1.2.3:8443')
    const error = unavailable('api', 'jwks_unavailable', 2.2, cause)
    assert.equal(error.status, 503)
    assert.equal(error.code, 'temporarily_unavailable')
    assert.equal(error.expose, false)
    assert.equal(error.headers['Retry-After'], '3')
    assert.equal(error.cause, cause)
    assert.doesNotMatch(error.message, /10\.1\.2\.3|8443|ECONNREFUSED/)
    assert.doesNotMatch(JSON.stringify(error), /ECONNREFUSED/)
    assert.equal(Object.keys(error).includes('cause'), false)
    assert.equal(unavailable('api', 'jwks_unavailable', 0).headers['Retry-After'], '1')
  })

  test('quotes and backslashes never break the challenge', () => {
    const error = invalidToken('my "realm" \\ x', 'malformed', 'bad "value" \\ here\n')
    assert.equal(
      error.headers['WWW-Authenticate'],
      'Bearer realm="my \\"realm\\" \\\\ x", error="invalid_token", error_description="bad \'value\' / here"',
    )
  })

  test('a verifier accepting DPoP and Bearer: two challenges, DPoP first, error on the scheme used', () => {
    const settings = {
      realm: 'api',
      schemes: ['DPoP', 'Bearer'] as const,
      dpopAlgorithms: ['ES256', 'EdDSA'],
      resourceMetadata: 'https://api.example.com/.well-known/oauth-protected-resource',
    }
    const metadata =
      'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"'
    assert.equal(
      noToken(settings).headers['WWW-Authenticate'],
      `DPoP realm="api", algs="ES256 EdDSA", ${metadata}, Bearer realm="api", ${metadata}`,
    )
    assert.equal(
      invalidToken(settings, 'expired', 'Expired.').headers['WWW-Authenticate'],
      `DPoP realm="api", algs="ES256 EdDSA", ${metadata}, Bearer realm="api", error="invalid_token", error_description="Expired.", ${metadata}`,
    )
    const proof = new AuthError({
      status: 401,
      code: 'use_dpop_nonce',
      reason: 'malformed',
      message: 'Use the server nonce.',
      realm: settings,
      scheme: 'DPoP',
      headers: { 'DPoP-Nonce': 'n-1' },
    })
    assert.equal(
      proof.headers['WWW-Authenticate'],
      `DPoP realm="api", error="use_dpop_nonce", error_description="Use the server nonce.", algs="ES256 EdDSA", ${metadata}, Bearer realm="api", ${metadata}`,
    )
    assert.equal(proof.headers['DPoP-Nonce'], 'n-1')
  })

  test('error-specific auth-params follow error_description, escaped like it', () => {
    const error = new AuthError({
      status: 401,
      code: 'insufficient_user_authentication',
      reason: 'malformed',
      message: 'Step up.',
      realm: 'api',
      params: { acr_values: 'urn:mfa "x"', max_age: '300' },
    })
    assert.equal(
      error.headers['WWW-Authenticate'],
      'Bearer realm="api", error="insufficient_user_authentication", error_description="Step up.", acr_values="urn:mfa \'x\'", max_age="300"',
    )
  })

  test('details are for logs only: not enumerable, not in the message or the challenge', () => {
    const details = { expected: ['https://id.example.com/'], received: 'https://id.example.com' }
    const error = invalidToken('api', 'wrong_issuer', 'Untrusted issuer.', undefined, details)
    assert.deepEqual(error.details, details)
    assert.equal(Object.keys(error).includes('details'), false)
    assert.doesNotMatch(JSON.stringify(error), /id\.example\.com/)
    assert.doesNotMatch(error.headers['WWW-Authenticate']!, /id\.example\.com/)
    assert.equal(invalidToken('api', 'expired', 'Expired.').details, undefined)
  })

  test('isAuthError and instanceof recognise an AuthError from another copy of the package', () => {
    const foreign = Object.assign(new Error('x'), { status: 401 })
    Object.defineProperty(foreign, Symbol.for('jwt-gate.AuthError'), { value: true })
    assert.equal(isAuthError(foreign), true)
    assert.equal(foreign instanceof AuthError, true)
    assert.equal(isAuthError(new Error('plain')), false)
    assert.equal(new Error('plain') instanceof AuthError, false)
    assert.equal(isAuthError(null), false)
  })
})
