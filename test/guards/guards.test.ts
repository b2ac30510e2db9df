/**
 * The framework-neutral scope and claim guards.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AuthError, AuthResult, JwtPayload } from '../../src/index.js'
import {
  checkClaimPredicate,
  checkPredicate,
  checkScopes,
  parseScopes,
} from '../../src/guards/guards.js'
import { rememberRealm } from '../../src/guards/realm.js'

/** A result as a verifier with realm "my-api" would have produced it. */
function auth(payload: JwtPayload): AuthResult {
  rememberRealm(payload, 'my-api')
  return { payload, header: { alg: 'RS256' }, token: 't' }
}

describe('requireScopes logic', () => {
  test('all listed scopes must be granted by scope (string) or scp (array or string)', () => {
    const all = parseScopes(['read:orders', 'write:orders'])
    checkScopes(auth({ scope: 'write:orders read:orders admin' }), all)
    checkScopes(auth({ scp: ['read:orders', 'write:orders'] }), all)
    checkScopes(auth({ scp: 'read:orders write:orders' }), all)
    checkScopes(auth({ scope: 'read:orders', scp: ['write:orders'] }), all)
    assert.throws(
      () => checkScopes(auth({ scope: 'read:orders' }), all),
      (error: AuthError) => {
        assert.equal(error.status, 403)
        assert.equal(error.code, 'insufficient_scope')
        assert.equal(
          error.headers['WWW-Authenticate'],
          'Bearer realm="my-api", error="insufficient_scope", error_description="The token lacks the required scope (read:orders write:orders).", scope="read:orders write:orders"',
        )
        return true
      },
    )
  })

  test('exact matches only: no prefixes, no case folding, no substrings', () => {
    const read = parseScopes(['read'])
    for (const scope of ['read:orders', 'READ', 'reader', 'already', '']) {
      assert.throws(() => checkScopes(auth({ scope }), read), { status: 403 }, scope)
    }
    assert.throws(() => checkScopes(auth({}), read), { status: 403 })
  })

  test('{ any: true } is any-of; arrays work as arguments', () => {
    const any = parseScopes([['a', 'b'], { any: true }])
    checkScopes(auth({ scope: 'b' }), any)
    assert.throws(() => checkScopes(auth({ scope: 'c' }), any), { status: 403 })
    assert.deepEqual(parseScopes(['a', ['b', 'c']]).scopes, ['a', 'b', 'c'])
  })

  test('without a verified token the guard refuses with 401', () => {
    assert.throws(() => checkScopes(undefined, parseScopes(['a'])), {
      status: 401,
      code: 'unauthorized',
    })
  })

  test('nonsense arguments are refused when the route is defined', () => {
    assert.throws(() => parseScopes([]), TypeError)
    assert.throws(() => parseScopes(['two words']), TypeError)
    assert.throws(() => parseScopes(['']), TypeError)
    assert.throws(() => parseScopes([{ any: true }, 'a']), TypeError)
  })
})

describe('requireClaims logic', () => {
  test('true passes; false, a throw or a truthy non-boolean is 403 invalid_token', () => {
    checkClaimPredicate(auth({ org: 'acme' }), (p) => p.org === 'acme')
    for (const predicate of [
      () => false,
      () => {
        throw new Error('x')
      },
      () => 1 as unknown as boolean,
    ]) {
      assert.throws(
        () => checkClaimPredicate(auth({}), predicate),
        (error: AuthError) => {
          assert.equal(error.status, 403)
          assert.equal(error.code, 'invalid_token')
          assert.equal(error.reason, 'claim_check_failed')
          return true
        },
      )
    }
    assert.throws(() => checkPredicate('nope'), TypeError)
  })
})
