/**
 * The framework-neutral scope and claim guards.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AuthError, AuthResult, JwtPayload } from '../../src/index.js'
import {
  checkAuthLevel,
  checkClaimPredicate,
  checkPredicate,
  checkScopes,
  parseAuthLevel,
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

describe('requireScopes with { claim }', () => {
  const refusedScope = (payload: JwtPayload, requirement: ReturnType<typeof parseScopes>) =>
    assert.throws(
      () => checkScopes(auth(payload), requirement),
      (error: AuthError) => {
        assert.equal(error.status, 403)
        assert.equal(error.code, 'insufficient_scope')
        assert.match(error.headers['WWW-Authenticate']!, /, scope="admin"$/)
        return true
      },
      JSON.stringify(payload),
    )

  test('a top-level claim: array (Auth0 permissions, Entra roles) or space-separated string', () => {
    const permissions = parseScopes(['admin', { claim: 'permissions' }])
    checkScopes(auth({ permissions: ['read', 'admin'] }), permissions)
    checkScopes(auth({ permissions: 'read admin' }), permissions)
    // Only that claim counts: scope and scp are not read any more.
    refusedScope({ scope: 'admin', scp: ['admin'], permissions: ['read'] }, permissions)
    refusedScope({ scope: 'admin' }, permissions)
  })

  test('a dotted path into nested objects (Keycloak realm and client roles)', () => {
    const realmRole = parseScopes(['admin', { claim: 'realm_access.roles' }])
    checkScopes(auth({ realm_access: { roles: ['user', 'admin'] } }), realmRole)
    const clientRole = parseScopes(['admin', { claim: 'resource_access.orders-api.roles' }])
    checkScopes(auth({ resource_access: { 'orders-api': { roles: ['admin'] } } }), clientRole)
    refusedScope({ resource_access: { 'billing-api': { roles: ['admin'] } } }, clientRole)
    for (const payload of [
      {},
      { realm_access: null },
      { realm_access: 'admin' },
      { realm_access: ['admin'] },
      { realm_access: { roles: { admin: true } } },
      { realm_access: { roles: [{ name: 'admin' }, 1, null] } },
      { 'realm_access.roles': undefined, realm_access: { roles: [] } },
    ]) {
      refusedScope(payload, realmRole)
    }
  })

  test('a namespaced claim with dots in its name, and literal path steps as an array', () => {
    const namespaced = parseScopes(['admin', { claim: 'https://example.com/roles' }])
    checkScopes(auth({ 'https://example.com/roles': ['admin'] }), namespaced)
    const literal = parseScopes(['admin', { claim: ['resource_access', 'my.client', 'roles'] }])
    checkScopes(auth({ resource_access: { 'my.client': { roles: ['admin'] } } }), literal)
    refusedScope({ resource_access: { my: { client: { roles: ['admin'] } } } }, literal)
  })

  test('exact matches; inherited properties are never read', () => {
    refusedScope(
      { roles: ['Admin', 'administrator', ' admin'] },
      parseScopes(['admin', { claim: 'roles' }]),
    )
    // A path through the prototype chain finds nothing the token did not carry.
    for (const claim of ['constructor.name', '__proto__.admin', 'toString']) {
      refusedScope({}, parseScopes(['admin', { claim }]))
    }
  })

  test('any-of with a claim; bad claim options are refused when the route is defined', () => {
    checkScopes(auth({ roles: ['b'] }), parseScopes(['a', 'b', { any: true, claim: 'roles' }]))
    for (const claim of ['', 'a..b', '.a', [], [''], 5, {}]) {
      assert.throws(() => parseScopes(['a', { claim } as never]), TypeError, JSON.stringify(claim))
    }
  })
})

describe('requireAuthLevel logic (RFC 9470)', () => {
  const now = 1_800_000_000
  const refusedLevel = (payload: JwtPayload, options: object, challenge: string) =>
    assert.throws(
      () => checkAuthLevel(auth(payload), parseAuthLevel(options), {}, now),
      (error: AuthError) => {
        assert.equal(error.status, 401)
        assert.equal(error.code, 'insufficient_user_authentication')
        assert.equal(error.reason, 'insufficient_auth_level')
        const header = error.headers['WWW-Authenticate']!
        assert.ok(
          header.startsWith(
            'Bearer realm="my-api", error="insufficient_user_authentication", error_description="',
          ),
          header,
        )
        assert.ok(header.endsWith(challenge), header)
        return true
      },
      JSON.stringify(payload),
    )

  test('acr must be one of the listed values, exactly', () => {
    const options = { acr: ['urn:example:mfa', 'phrh'] }
    checkAuthLevel(auth({ acr: 'phrh' }), parseAuthLevel(options), {}, now)
    for (const acr of [undefined, 'urn:example:MFA', 'phr', ['phrh'], 1, '']) {
      refusedLevel({ acr }, options, '", acr_values="urn:example:mfa phrh"')
    }
  })

  test('auth_time must be no older than maxAge; a missing auth_time fails', () => {
    const options = { maxAge: '5m' }
    checkAuthLevel(auth({ auth_time: now - 300 }), parseAuthLevel(options), {}, now)
    checkAuthLevel(auth({ auth_time: now }), parseAuthLevel(options), {}, now)
    for (const authTime of [now - 301, undefined, '1800000000', null, Number.NaN]) {
      refusedLevel({ auth_time: authTime }, options, '", max_age="300"')
    }
  })

  test('both: the challenge names both, whichever failed', () => {
    const options = { acr: ['mfa'], maxAge: 60 }
    checkAuthLevel(auth({ acr: 'mfa', auth_time: now - 10 }), parseAuthLevel(options), {}, now)
    const both = '", acr_values="mfa", max_age="60"'
    refusedLevel({ acr: 'pwd', auth_time: now }, options, both)
    refusedLevel({ acr: 'mfa', auth_time: now - 61 }, options, both)
  })

  test('without a token: 401 without error=; bad options are refused at definition', () => {
    assert.throws(() => checkAuthLevel(undefined, parseAuthLevel({ acr: ['a'] })), {
      status: 401,
      code: 'unauthorized',
    })
    for (const options of [
      undefined,
      {},
      { acr: [] },
      { acr: 'mfa' },
      { acr: ['two words'] },
      { maxAge: -1 },
      { maxAge: 'soon' },
      { acr: ['a'], max_age: 5 },
    ]) {
      assert.throws(() => parseAuthLevel(options), TypeError, JSON.stringify(options))
    }
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
