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
