/**
 * The behavioural table, written once and run against every adapter and major version over real
 * HTTP. A difference between frameworks is a bug unless README explains it.
 */
import assert from 'node:assert/strict'
import type { KeyObject } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  createVerifier,
  type RequestLike,
  type Verifier,
  type CsrfOptions,
} from '../../src/index.js'
import { readHeader } from '../../src/request/headers.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { generateKeyPairSafely } from '../../src/testing/key-generation.js'
import { assemble } from '../helpers/tokens.js'
import { bearer, send, type TestResponse } from '../helpers/http.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricSignature, nowSeconds } from '../helpers/tokens.js'
import { selfSignedCertificate } from '../helpers/tls.js'
import type { AppFactory, RunningApp, StartOptions } from './apps.js'

const audience = 'https://api.example.com'
const realm = audience

/** Run the whole table against one framework version. */
export function runScenarios(factory: AppFactory): void {
  describe(factory.name, () => {
    let issuer: TestIssuer
    let downIssuer: TestIssuer
    let verifier: Verifier
    let downVerifier: Verifier
    let app: RunningApp
    let downApp: RunningApp

    before(async () => {
      issuer = await createTestIssuer({ alg: 'RS256', audience })
      downIssuer = await createTestIssuer({ alg: 'ES256', audience })
      downIssuer.simulateOutage('error')
      const common = {
        audience,
        token: { cookie: 'access_token' },
        csrf: { allowedOrigins: ['https://app.example.com'] },
      }
      verifier = createVerifier({ ...common, issuer: issuer.url, jwksUri: issuer.jwksUri })
      downVerifier = createVerifier({
        ...common,
        issuer: downIssuer.url,
        jwksUri: downIssuer.jwksUri,
      })
      app = await factory.start(verifier)
      downApp = await factory.start(downVerifier)
    })
    after(async () => {
      await Promise.all([app.close(), downApp.close()])
      await Promise.all([verifier.close(), downVerifier.close()])
      await Promise.all([issuer.close(), downIssuer.close()])
    })

    /** A refusal: status, exact challenge shape, no handler run, no token echoed. */
    async function refused(
      path: string,
      request: Parameters<typeof send>[1],
      status: number,
      code: string | undefined,
      token?: string,
    ): Promise<TestResponse> {
      const handledBefore = app.handled
      const response = await send(`${app.url}${path}`, request)
      assert.equal(response.status, status, `${path}: ${response.body.slice(0, 200)}`)
      const challenge = String(response.headers['www-authenticate'])
      assert.ok(challenge.startsWith(`Bearer realm="${realm}"`), challenge)
      if (code === undefined) assert.equal(challenge, `Bearer realm="${realm}"`)
      else assert.match(challenge, new RegExp(`, error="${code}", error_description="[^"]+"`))
      assert.equal(app.handled, handledBefore, 'the route handler must not run')
      if (token) {
        assert.ok(!response.body.includes(token), 'the body must not echo the token')
        assert.ok(!challenge.includes(token), 'the challenge must not echo the token')
      }
      assert.ok(status < 500 || response.headers['retry-after'])
      return response
    }

    test('a valid token reaches the handler with its claims', async () => {
      const token = await issuer.sign({ sub: 'alice' })
      const response = await send(`${app.url}/me`, { headers: bearer(token) })
      assert.equal(response.status, 200)
      assert.deepEqual(response.json(), { sub: 'alice' })
    })

    test('no token: 401 with a bare challenge', async () => {
      await refused('/me', {}, 401, undefined)
      await refused('/me', { headers: { authorization: 'Basic dTpw' } }, 401, undefined)
    })

    test('malformed Authorization header: 400 invalid_request', async () => {
      const token = await issuer.sign()
      await refused('/me', { headers: { authorization: 'Bearer' } }, 400, 'invalid_request')
      await refused(
        '/me',
        { headers: { authorization: `Bearer ${token} ${token}` } },
        400,
        'invalid_request',
        token,
      )
    })

    test('garbage, expired and wrong-audience tokens: 401 invalid_token', async () => {
      await refused('/me', { headers: bearer('not.a.jwt') }, 401, 'invalid_token')
      const expired = await issuer.sign({ sub: 'alice' }, { expiresIn: -60 })
      const response = await refused(
        '/me',
        { headers: bearer(expired) },
        401,
        'invalid_token',
        expired,
      )
      assert.match(String(response.headers['www-authenticate']), /expired/)
      const elsewhere = await issuer.sign({ aud: 'https://other.example.com' })
      await refused('/me', { headers: bearer(elsewhere) }, 401, 'invalid_token', elsewhere)
    })

    test('a token bound to a DPoP key or a client certificate is not a bearer token: 401 invalid_token', async () => {
      for (const cnf of [
        { jkt: 'nYJoSDkP2TJBSt2ZXGvJ0VQ1ZHHtpl-NqeB4eAhuJBI' },
        { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
      ]) {
        const bound = await issuer.sign({ sub: 'alice', cnf })
        const response = await refused(
          '/me',
          { headers: bearer(bound) },
          401,
          'invalid_token',
          bound,
        )
        assert.match(
          String(response.headers['www-authenticate']),
          /bound to a (DPoP key|client certificate)/,
        )
      }
    })

    test('insufficient scope: 403 with the required scope in the challenge', async () => {
      const token = await issuer.sign({ scope: 'write:orders profile' })
      const response = await refused(
        '/orders',
        { headers: bearer(token) },
        403,
        'insufficient_scope',
        token,
      )
      assert.match(String(response.headers['www-authenticate']), /, scope="read:orders"$/)
    })

    test('scopes from a scope string or an scp array', async () => {
      for (const claims of [{ scope: 'profile read:orders' }, { scp: ['read:orders'] }]) {
        const response = await send(`${app.url}/orders`, {
          headers: bearer(await issuer.sign(claims)),
        })
        assert.equal(response.status, 200, JSON.stringify(claims))
      }
    })

    test('{ any: true }: one of the listed scopes is enough', async () => {
      assert.equal(
        (await send(`${app.url}/any`, { headers: bearer(await issuer.sign({ scope: 'b' })) }))
          .status,
        200,
      )
      await refused(
        '/any',
        { headers: bearer(await issuer.sign({ scope: 'c' })) },
        403,
        'insufficient_scope',
      )
    })

    test('a failed claim check: 403 invalid_token', async () => {
      assert.equal(
        (await send(`${app.url}/claims`, { headers: bearer(await issuer.sign({ org: 'acme' })) }))
          .status,
        200,
      )
      await refused(
        '/claims',
        { headers: bearer(await issuer.sign({ org: 'other' })) },
        403,
        'invalid_token',
      )
    })

    test('the token from the HttpOnly cookie', async () => {
      const token = await issuer.sign({ sub: 'cookie-user' })
      const response = await send(`${app.url}/me`, {
        headers: { cookie: `theme=dark; access_token=${token}` },
      })
      assert.equal(response.status, 200)
      assert.deepEqual(response.json(), { sub: 'cookie-user' })
      await refused(
        '/me',
        { headers: { cookie: `access_token=${token}`, ...bearer(token) } },
        400,
        'invalid_request',
        token,
      )
    })

    test('credentialsRequired: false lets anonymous requests through, never bad tokens', async () => {
      const anonymous = await send(`${app.url}/optional`)
      assert.equal(anonymous.status, 200)
      assert.deepEqual(anonymous.json(), { sub: null })
      const known = await send(`${app.url}/optional`, {
        headers: bearer(await issuer.sign({ sub: 'bob' })),
      })
      assert.deepEqual(known.json(), { sub: 'bob' })
      await refused('/optional', { headers: bearer('bad.token.here') }, 401, 'invalid_token')
    })

    test("a guard refusing an anonymous request names the verifier's realm", async () => {
      // The verifier's realm (its audience here), not a placeholder: the guard learns it from
      // the optional requireJwt that let the request through.
      await refused('/optional/orders', {}, 401, undefined)
      const token = await issuer.sign({ scope: 'write:orders' })
      await refused('/optional/orders', { headers: bearer(token) }, 403, 'insufficient_scope')
    })

    test('key source down: 503 with Retry-After, no internals, handler not run', async () => {
      const token = await downIssuer.sign()
      const handledBefore = downApp.handled
      const response = await send(`${downApp.url}/me`, { headers: bearer(token) })
      assert.equal(response.status, 503)
      assert.match(String(response.headers['retry-after']), /^\d+$/)
      assert.match(String(response.headers['www-authenticate']), /error="temporarily_unavailable"/)
      assert.ok(!response.body.includes('127.0.0.1'), 'no key-server address in the body')
      assert.ok(!response.body.includes(token))
      assert.equal(downApp.handled, handledBefore)
    })

    describe('cached tokens end with the trust in their key', () => {
      /** Its own issuer, verifier and app: these tests change the key set and break the server. */
      async function isolated(remoteKeys: Record<string, unknown>) {
        const own = await createTestIssuer({ alg: 'RS256', audience })
        const ownVerifier = createVerifier({
          audience,
          issuer: own.url,
          jwksUri: own.jwksUri,
          remoteKeys,
        })
        const ownApp = await factory.start(ownVerifier)
        const close = async () => {
          await ownApp.close()
          await ownVerifier.close()
          await own.close()
        }
        const get = (token: string) => send(`${ownApp.url}/me`, { headers: bearer(token) })
        return { own, ownApp, get, close }
      }

      test('a key removed from the JWKS: its cached token gets 401 after the refetch', async () => {
        const { own, ownApp, get, close } = await isolated({ cooldown: '100ms' })
        try {
          const longLived = await own.sign({ sub: 'attacker' }, { expiresIn: 10 * 365 * 86400 })
          assert.equal((await get(longLived)).status, 200)
          assert.equal((await get(longLived)).status, 200) // a cache hit
          await own.rotate({ keepPrevious: false })
          assert.equal((await get(await own.sign({ sub: 'new' }))).status, 200) // the refetch
          const handledBefore = ownApp.handled
          const response = await get(longLived)
          assert.equal(response.status, 401, response.body)
          assert.match(
            String(response.headers['www-authenticate']),
            new RegExp(
              `^Bearer realm="${realm}", error="invalid_token", error_description="[^"]+"$`,
            ),
          )
          assert.ok(!response.body.includes(longLived))
          assert.equal(ownApp.handled, handledBefore)
        } finally {
          await close()
        }
      })

      test('key server down past staleIfError: a cached token gets 503 with Retry-After', async () => {
        const { own, ownApp, get, close } = await isolated({ cacheMaxAge: 0.2, staleIfError: 0.5 })
        try {
          const cached = await own.sign({ sub: 'cached' })
          assert.equal((await get(cached)).status, 200)
          own.simulateOutage('error')
          await sleep(700)
          const handledBefore = ownApp.handled
          const response = await get(cached)
          assert.equal(response.status, 503, response.body)
          assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/)
          assert.match(
            String(response.headers['www-authenticate']),
            /error="temporarily_unavailable"/,
          )
          assert.equal(ownApp.handled, handledBefore)
        } finally {
          await close()
        }
      })
    })

    describe('CSRF in cookie mode', () => {
      const post = async (headers: Record<string, string>, withCookie = true) => {
        const token = await issuer.sign({ scope: 'write:orders' })
        const host = new URL(app.url).host
        return {
          token,
          response: await send(`${app.url}/orders`, {
            method: 'POST',
            headers: {
              host,
              ...(withCookie ? { cookie: `access_token=${token}` } : bearer(token)),
              ...headers,
            },
          }),
        }
      }

      test('same-origin POST (Origin or Sec-Fetch-Site) succeeds', async () => {
        const origin = app.url
        assert.equal((await post({ origin })).response.status, 201)
        assert.equal((await post({ 'sec-fetch-site': 'same-origin', origin })).response.status, 201)
        assert.equal((await post({ referer: `${origin}/page` })).response.status, 201)
        assert.equal((await post({ origin: 'https://app.example.com' })).response.status, 201)
      })

      test('cross-site POST, Sec-Fetch-Site: cross-site and a missing Origin are refused, no side effect', async () => {
        const created = app.created
        for (const headers of <Array<Record<string, string>>>[
          { origin: 'https://evil.example.com' },
          { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example.com' },
          { 'sec-fetch-site': 'same-site', origin: 'https://sub.example.com' },
          { origin: 'null' },
          { referer: 'https://evil.example.com/page' },
          {},
        ]) {
          const { response, token } = await post(headers)
          assert.equal(response.status, 403, JSON.stringify(headers))
          assert.match(String(response.headers['www-authenticate']), /error="invalid_request"/)
          assert.ok(!response.body.includes(token))
        }
        assert.equal(app.created, created)
      })

      test('a Bearer header POST is not subject to the check', async () => {
        assert.equal(
          (await post({ origin: 'https://evil.example.com' }, false)).response.status,
          201,
        )
      })

      test('the whole origin counts: https:// on this plain-HTTP host and port is refused, X-Forwarded-Proto ignored', async () => {
        const created = app.created
        const otherScheme = app.url.replace(/^http:/, 'https:')
        for (const headers of <Array<Record<string, string>>>[
          { origin: otherScheme },
          { referer: `${otherScheme}/page` },
          { origin: otherScheme, 'x-forwarded-proto': 'https' },
          { origin: app.url.replace(/:\d+$/, ':1') },
        ]) {
          const { response, token } = await post(headers)
          assert.equal(response.status, 403, JSON.stringify(headers))
          assert.match(String(response.headers['www-authenticate']), /error="invalid_request"/)
          assert.ok(!response.body.includes(token))
        }
        assert.equal(app.created, created)
      })
    })

    describe('CSRF: the public origin (csrf.origin) and TLS', () => {
      const publicOrigin = 'https://api.example.com'
      const tls = selfSignedCertificate()
      const started: Array<{ app: RunningApp; verifier: Verifier }> = []
      let configured: RunningApp
      let computed: RunningApp
      let secure: RunningApp
      const cookieVerifier = (csrf: CsrfOptions) =>
        createVerifier({
          audience,
          issuer: issuer.url,
          jwksUri: issuer.jwksUri,
          token: { cookie: 'access_token' },
          csrf,
        })
      const start = async (csrf: CsrfOptions, options?: StartOptions) => {
        const verifier = cookieVerifier(csrf)
        const running = await factory.start(verifier, options)
        started.push({ app: running, verifier })
        return running
      }
      before(async () => {
        // Behind a TLS-terminating proxy: plain HTTP here, https://api.example.com outside.
        configured = await start({ origin: publicOrigin })
        // Per request, from what the core reads (here a header the proxy is trusted to set).
        computed = await start({
          origin: (req: RequestLike) => `https://${String(readHeader(req, 'x-public-host'))}`,
        })
        // No option: the scheme comes from the socket, which is TLS.
        secure = await start({}, { tls })
      })
      after(async () => {
        for (const { app: running, verifier: own } of started) {
          await running.close()
          await own.close()
        }
      })
      const postTo = async (target: RunningApp, headers: Record<string, string>) => {
        const token = await issuer.sign({ scope: 'write:orders' })
        const response = await send(`${target.url}/orders`, {
          method: 'POST',
          headers: { cookie: `access_token=${token}`, ...headers },
          ca: tls.cert,
        })
        if (response.status !== 201) {
          assert.equal(response.status, 403, response.body.slice(0, 200))
          assert.match(String(response.headers['www-authenticate']), /error="invalid_request"/)
          assert.ok(!response.body.includes(token))
        }
        return response.status
      }

      test('a configured public origin is the one same-origin compares against', async () => {
        assert.equal(await postTo(configured, { origin: publicOrigin }), 201)
        assert.equal(await postTo(configured, { referer: `${publicOrigin}/app` }), 201)
        const created = configured.created
        assert.equal(await postTo(configured, { origin: 'http://api.example.com' }), 403)
        assert.equal(await postTo(configured, { origin: 'https://api.example.com:8443' }), 403)
        // The Host-derived origin no longer counts once the public one is configured.
        assert.equal(await postTo(configured, { origin: configured.url }), 403)
        assert.equal(configured.created, created)
      })

      test('a public origin computed per request', async () => {
        const ok = { origin: publicOrigin, 'x-public-host': 'api.example.com' }
        assert.equal(await postTo(computed, ok), 201)
        const created = computed.created
        assert.equal(await postTo(computed, { ...ok, origin: 'http://api.example.com' }), 403)
        assert.equal(await postTo(computed, { ...ok, 'x-public-host': 'evil.example.com' }), 403)
        assert.equal(computed.created, created)
      })

      test('over TLS without the option: https:// on this host and port is same-origin, http:// is not', async () => {
        assert.match(secure.url, /^https:/)
        assert.equal(await postTo(secure, { origin: secure.url }), 201)
        const created = secure.created
        const plain = secure.url.replace(/^https:/, 'http:')
        assert.equal(await postTo(secure, { origin: plain }), 403)
        assert.equal(await postTo(secure, { referer: `${plain}/page` }), 403)
        assert.equal(secure.created, created)
      })
    })

    describe('invalid UTF-8 in a signed token (RFC 7515 §5.2)', () => {
      // Signed by the trusted key over the exact bytes, so only the UTF-8 check can refuse.
      const utf8Issuer = 'https://utf8.example.com/'
      const pair = keyPair('rsa', 'utf8-scenario')
      let utf8Verifier: Verifier
      let utf8App: RunningApp
      before(async () => {
        utf8Verifier = createVerifier({
          issuer: utf8Issuer,
          audience,
          keys: { keys: [pair.jwk] },
        })
        utf8App = await factory.start(utf8Verifier)
      })
      after(async () => {
        await utf8App.close()
        await utf8Verifier.close()
      })
      const signedWithSub = (
        subBytes: number[],
        header: Buffer = Buffer.from('{"alg":"RS256","kid":"utf8-scenario"}'),
      ) => {
        const [head, tail] = JSON.stringify({
          iss: utf8Issuer,
          aud: audience,
          exp: nowSeconds() + 300,
          sub: '@',
        }).split('@') as [string, string]
        const payload = Buffer.concat([Buffer.from(head), Buffer.from(subBytes), Buffer.from(tail)])
        const input = `${header.toString('base64url')}.${payload.toString('base64url')}`
        return `${input}.${asymmetricSignature('RS256', input, pair.privateKey)}`
      }

      test('subjects u+0xFF and u+0xFE, overlongs, surrogates and truncations: 401 malformed', async () => {
        const valid = await send(`${utf8App.url}/me`, {
          headers: bearer(signedWithSub([...Buffer.from('zoë')])),
        })
        assert.equal(valid.status, 200)
        assert.deepEqual(valid.json(), { sub: 'zoë' })
        const handled = utf8App.handled
        for (const bytes of [
          [0x75, 0xff],
          [0x75, 0xfe],
          [0xc0, 0xaf],
          [0xed, 0xa0, 0x80],
          [0xf0, 0x9f, 0x98],
        ]) {
          const token = signedWithSub(bytes)
          const response = await send(`${utf8App.url}/me`, { headers: bearer(token) })
          assert.equal(response.status, 401, `${bytes.join(' ')}: ${response.body.slice(0, 200)}`)
          const challenge = String(response.headers['www-authenticate'])
          assert.match(challenge, /error="invalid_token", error_description="[^"]*UTF-8[^"]*"/)
          assert.ok(!response.body.includes(token) && !challenge.includes(token))
        }
        const badHeader = Buffer.from([
          ...Buffer.from('{"alg":"RS256","kid":"utf8-scenario","x":"'),
          0xff,
          ...Buffer.from('"}'),
        ])
        const response = await send(`${utf8App.url}/me`, {
          headers: bearer(signedWithSub([0x61], badHeader)),
        })
        assert.equal(response.status, 401)
        assert.match(String(response.headers['www-authenticate']), /UTF-8/)
        assert.equal(utf8App.handled, handled, 'the route handler must not run')
      })
    })

    describe('DPoP (RFC 9449)', () => {
      // The API's public origin (TLS terminated in front of it); the app itself listens on loopback.
      const publicOrigin = 'https://api.example.com'
      let clientKey: KeyObject
      let otherKey: KeyObject
      let dpopVerifier: Verifier
      let strictVerifier: Verifier
      let dpopApp: RunningApp
      let strictApp: RunningApp

      before(async () => {
        clientKey = (await generateKeyPairSafely({ type: 'ec', namedCurve: 'P-256' })).privateKey
        otherKey = (await generateKeyPairSafely({ type: 'ed25519' })).privateKey
        const common = { issuer: issuer.url, audience, jwksUri: issuer.jwksUri }
        dpopVerifier = createVerifier({ ...common, dpop: { origin: publicOrigin } })
        strictVerifier = createVerifier({
          ...common,
          dpop: { origin: publicOrigin, required: true, nonce: true },
        })
        dpopApp = await factory.start(dpopVerifier)
        strictApp = await factory.start(strictVerifier)
      })
      after(async () => {
        await Promise.all([dpopApp.close(), strictApp.close()])
        await Promise.all([dpopVerifier.close(), strictVerifier.close()])
      })

      const proofFor = (
        token: string,
        extra: { method?: string; path?: string; key?: KeyObject; nonce?: string } = {},
      ) =>
        issuer.dpopProof({
          key: extra.key ?? clientKey,
          method: extra.method ?? 'GET',
          url: `${publicOrigin}${extra.path ?? '/me'}`,
          token,
          nonce: extra.nonce,
        })
      const dpopHeaders = (token: string, proof: string) => ({
        authorization: `DPoP ${token}`,
        dpop: proof,
      })

      /** A DPoP refusal: status, the DPoP challenge carrying `error=`, no handler run, no echo. */
      async function dpopRefused(
        target: RunningApp,
        request: Parameters<typeof send>[1],
        status: number,
        code: string,
        token: string,
      ): Promise<TestResponse> {
        const handledBefore = target.handled
        const response = await send(`${target.url}/me`, request)
        assert.equal(response.status, status, response.body.slice(0, 200))
        const challenge = String(response.headers['www-authenticate'])
        assert.ok(challenge.startsWith(`DPoP realm="${realm}"`), challenge)
        assert.match(challenge, new RegExp(`error="${code}"`))
        assert.match(challenge, /algs="ES256 EdDSA RS256 PS256"/)
        assert.equal(target.handled, handledBefore, 'the route handler must not run')
        assert.ok(!response.body.includes(token) && !challenge.includes(token), 'no token echoed')
        return response
      }

      test('a DPoP-bound token with a valid proof reaches the handler, twice with two proofs', async () => {
        const token = await issuer.sign({ sub: 'dpop-user' }, { dpopKey: clientKey })
        for (let i = 0; i < 2; i++) {
          const response = await send(`${dpopApp.url}/me`, {
            headers: dpopHeaders(token, await proofFor(token)),
          })
          assert.equal(response.status, 200, response.body)
          assert.deepEqual(response.json(), { sub: 'dpop-user' })
        }
      })

      test('replayed proof, other URL, other method, other key: 401', async () => {
        const token = await issuer.sign({}, { dpopKey: clientKey })
        const proof = await proofFor(token)
        assert.equal(
          (await send(`${dpopApp.url}/me`, { headers: dpopHeaders(token, proof) })).status,
          200,
        )
        await dpopRefused(
          dpopApp,
          { headers: dpopHeaders(token, proof) },
          401,
          'invalid_dpop_proof',
          token,
        )
        for (const extra of [{ path: '/orders' }, { method: 'POST' }]) {
          await dpopRefused(
            dpopApp,
            { headers: dpopHeaders(token, await proofFor(token, extra)) },
            401,
            'invalid_dpop_proof',
            token,
          )
        }
        await dpopRefused(
          dpopApp,
          { headers: dpopHeaders(token, await proofFor(token, { key: otherKey })) },
          401,
          'invalid_token',
          token,
        )
      })

      test('a bound token as Bearer is refused; a plain one passes unless DPoP is required', async () => {
        const bound = await issuer.sign({}, { dpopKey: clientKey })
        const response = await send(`${dpopApp.url}/me`, { headers: bearer(bound) })
        assert.equal(response.status, 401)
        assert.match(
          String(response.headers['www-authenticate']),
          /^DPoP realm="[^"]+", algs="[^"]+", Bearer realm="[^"]+", error="invalid_token"/,
        )
        const plain = await issuer.sign({ sub: 'plain' })
        assert.equal((await send(`${dpopApp.url}/me`, { headers: bearer(plain) })).status, 200)
        const strict = await send(`${strictApp.url}/me`, { headers: bearer(plain) })
        assert.equal(strict.status, 401)
        assert.doesNotMatch(String(strict.headers['www-authenticate']), /Bearer/)
      })

      test('nonce flow: 401 use_dpop_nonce with DPoP-Nonce, then the retry with it passes', async () => {
        const token = await issuer.sign({ sub: 'nonce-user' }, { dpopKey: clientKey })
        const first = await dpopRefused(
          strictApp,
          { headers: dpopHeaders(token, await proofFor(token)) },
          401,
          'use_dpop_nonce',
          token,
        )
        const nonce = String(first.headers['dpop-nonce'])
        assert.match(nonce, /^[\w-]{20,}$/)
        const retry = await send(`${strictApp.url}/me`, {
          headers: dpopHeaders(token, await proofFor(token, { nonce })),
        })
        assert.equal(retry.status, 200, retry.body)
      })

      test('bad input: duplicated DPoP header 400; huge, nested, alg none, symmetric or private jwk 401', async () => {
        const token = await issuer.sign({}, { dpopKey: clientKey })
        const proof = await proofFor(token)
        const twice = await send(`${dpopApp.url}/me`, {
          headers: ['Authorization', `DPoP ${token}`, 'DPoP', proof, 'DPoP', proof],
        })
        assert.equal(twice.status, 400)
        assert.match(String(twice.headers['www-authenticate']), /error="invalid_request"/)
        const jwk = clientKey.export({ format: 'jwk' })
        const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
        const claims = {
          jti: 'x',
          htm: 'GET',
          htu: `${publicOrigin}/me`,
          iat: Math.floor(Date.now() / 1000),
        }
        for (const bad of [
          'a'.repeat(9000) + '.b.c',
          assemble(
            { typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk },
            { ...claims, n: JSON.parse('['.repeat(500) + ']'.repeat(500)) },
            'AAAA',
          ),
          assemble({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk }, claims),
          assemble(
            { typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } },
            claims,
            'AAAA',
          ),
          assemble({ typ: 'dpop+jwt', alg: 'ES256', jwk }, claims, 'AAAA'),
        ]) {
          await dpopRefused(
            dpopApp,
            { headers: dpopHeaders(token, bad) },
            401,
            'invalid_dpop_proof',
            token,
          )
        }
      })
    })

    describe('identity providers', () => {
      const RESOURCE = 'https://api.example.com/mcp'
      const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource/mcp'
      const TENANT = '1a2b3c4d-2222-4333-8444-555555555555'
      const ENTRA = 'https://login.microsoftonline.com/{tenantid}/v2.0'
      const entra = (tenant: string) => ENTRA.replace('{tenantid}', tenant)
      const SECRET_DETAIL = 'password=hunter2 at 10.9.8.7'
      let trustVerifier: Verifier
      let resolverVerifier: Verifier
      let trustApp: RunningApp
      let resolverApp: RunningApp

      before(async () => {
        // A fixed list: the test issuer and an Entra multi-tenant template (same keys, as a
        // loopback stand-in for login.microsoftonline.com), with resource metadata served.
        trustVerifier = createVerifier({
          issuers: [
            { issuer: issuer.url, audience, jwksUri: issuer.jwksUri },
            { issuer: ENTRA, tenants: [TENANT], audience, jwksUri: issuer.jwksUri },
          ],
          resource: RESOURCE,
          realm,
        })
        // A resolver (tenants kept in a database) that fails in the ways databases fail.
        resolverVerifier = createVerifier({
          issuers: async (iss) => {
            if (iss === 'https://throws.example.com') throw new Error(SECRET_DETAIL)
            if (iss === 'https://hangs.example.com') return new Promise<never>(() => {})
            return iss === issuer.url
              ? { issuer: iss, audience, jwksUri: issuer.jwksUri }
              : undefined
          },
          remoteKeys: { fetchTimeout: '200ms' },
          realm,
        })
        trustApp = await factory.start(trustVerifier, {
          metadata: {
            authorizationServers: [issuer.url],
            scopesSupported: ['read:orders'],
            extra: { resource_name: 'Orders' },
          },
        })
        resolverApp = await factory.start(resolverVerifier)
      })
      after(async () => {
        await Promise.all([trustApp.close(), resolverApp.close()])
        await Promise.all([trustVerifier.close(), resolverVerifier.close()])
      })

      /** A refusal by `on`: status, code (in the first challenge), handler not run, no token. */
      async function refusedBy(
        on: RunningApp,
        path: string,
        token: string | undefined,
        status: number,
        code: string,
      ): Promise<{ response: TestResponse; challenge: string }> {
        const handled = on.handled
        const response = await send(`${on.url}${path}`, token ? { headers: bearer(token) } : {})
        assert.equal(response.status, status, `${path}: ${response.body.slice(0, 200)}`)
        const challenge = String(response.headers['www-authenticate'])
        assert.ok(challenge.startsWith(`Bearer realm="${realm}", error="${code}"`), challenge)
        assert.equal(on.handled, handled, 'the route handler must not run')
        if (token) assert.ok(!response.body.includes(token) && !challenge.includes(token))
        return { response, challenge }
      }

      test('roles from a dotted claim path: exact, from that claim only, 403 insufficient_scope', async () => {
        const admin = await issuer.sign({ realm_access: { roles: ['user', 'admin'] } })
        assert.equal((await send(`${app.url}/roles`, { headers: bearer(admin) })).status, 200)
        for (const claims of [
          { realm_access: { roles: ['user', 'Admin'] } },
          { realm_access: { roles: 'user administrator' } },
          { scope: 'admin', roles: ['admin'] },
          { realm_access: 'admin' },
        ]) {
          const token = await issuer.sign(claims)
          const { challenge } = await refusedBy(app, '/roles', token, 403, 'insufficient_scope')
          assert.match(challenge, /, scope="admin"$/)
        }
        const spaced = await issuer.sign({ realm_access: { roles: 'user admin' } })
        assert.equal((await send(`${app.url}/roles`, { headers: bearer(spaced) })).status, 200)
      })

      test('step-up: acr and auth_time, else 401 insufficient_user_authentication with acr_values and max_age', async () => {
        const now = nowSeconds()
        const strong = await issuer.sign({ acr: 'urn:example:mfa', auth_time: now - 60 })
        assert.equal((await send(`${app.url}/step-up`, { headers: bearer(strong) })).status, 200)
        for (const claims of [
          { acr: 'urn:example:pwd', auth_time: now },
          { acr: 'urn:example:mfa', auth_time: now - 301 },
          { acr: 'urn:example:mfa' },
          { auth_time: now },
          { acr: ['urn:example:mfa'], auth_time: now },
          { acr: 'urn:example:mfa', auth_time: String(now) },
        ]) {
          const token = await issuer.sign(claims)
          const { challenge } = await refusedBy(
            app,
            '/step-up',
            token,
            401,
            'insufficient_user_authentication',
          )
          assert.match(challenge, /, acr_values="urn:example:mfa", max_age="300"$/)
        }
        await refused('/step-up', {}, 401, undefined)
      })

      test('RFC 9728 metadata served at both well-known paths, GET and HEAD', async () => {
        for (const path of [
          '/.well-known/oauth-protected-resource/mcp',
          '/.well-known/oauth-protected-resource',
          '/.well-known/oauth-protected-resource/mcp?x=1',
        ]) {
          const response = await send(`${trustApp.url}${path}`)
          assert.equal(response.status, 200, path)
          assert.match(String(response.headers['content-type']), /^application\/json/)
          assert.equal(response.headers['access-control-allow-origin'], '*')
          assert.deepEqual(response.json(), {
            resource: RESOURCE,
            bearer_methods_supported: ['header'],
            authorization_servers: [issuer.url],
            scopes_supported: ['read:orders'],
            resource_name: 'Orders',
          })
        }
        const head = await send(`${trustApp.url}/.well-known/oauth-protected-resource/mcp`, {
          method: 'HEAD',
        })
        assert.equal(head.status, 200)
        assert.equal(head.body, '')
        // Other paths and methods are not the document.
        for (const [method, path] of [
          ['POST', '/.well-known/oauth-protected-resource/mcp'],
          ['GET', '/.well-known/oauth-protected-resource/other'],
          ['GET', '/.well-known/oauth-protected-resourcex'],
        ] as const) {
          const response = await send(`${trustApp.url}${path}`, { method })
          assert.notEqual(response.status, 200, `${method} ${path}`)
          assert.ok(!response.body.includes(RESOURCE), `${method} ${path}`)
        }
      })

      test('with resource, every refusal names the metadata URL; the resource is an audience', async () => {
        const noToken = await send(`${trustApp.url}/me`)
        assert.equal(noToken.status, 401)
        assert.equal(
          noToken.headers['www-authenticate'],
          `Bearer realm="${realm}", resource_metadata="${METADATA}"`,
        )
        const expired = await issuer.sign({}, { expiresIn: -60 })
        const { challenge } = await refusedBy(trustApp, '/me', expired, 401, 'invalid_token')
        assert.ok(challenge.endsWith(`, resource_metadata="${METADATA}"`), challenge)
        const scoped = await refusedBy(
          trustApp,
          '/orders',
          await issuer.sign({ scope: 'other' }),
          403,
          'insufficient_scope',
        )
        assert.match(scoped.challenge, /resource_metadata=/)
        const forResource = await issuer.sign({ aud: RESOURCE, sub: 'mcp-client' })
        const ok = await send(`${trustApp.url}/me`, { headers: bearer(forResource) })
        assert.equal(ok.status, 200)
        assert.deepEqual(ok.json(), { sub: 'mcp-client' })
      })

      test('Entra template: the tenant spelt in iss and tid must agree and be allowed', async () => {
        const good = await issuer.sign({ iss: entra(TENANT), tid: TENANT, sub: 'entra-user' })
        const response = await send(`${trustApp.url}/me`, { headers: bearer(good) })
        assert.equal(response.status, 200)
        assert.deepEqual(response.json(), { sub: 'entra-user' })
        for (const claims of [
          { iss: ENTRA, tid: TENANT }, // the template literally
          { iss: ENTRA },
          { iss: entra(TENANT), tid: 'not-a-guid' },
          { iss: entra(TENANT), tid: TENANT.toUpperCase() },
          { iss: entra(TENANT) }, // no tid
          { iss: entra('not-a-guid'), tid: 'not-a-guid' },
          {
            iss: entra('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'),
            tid: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
          },
        ]) {
          const { challenge } = await refusedBy(
            trustApp,
            '/me',
            await issuer.sign(claims),
            401,
            'invalid_token',
          )
          assert.match(challenge, /issuer this API does not trust/, JSON.stringify(claims))
        }
      })

      test('an iss that is not a string: 401 invalid_token, never a 500', async () => {
        for (const iss of [42, [issuer.url], { url: issuer.url }, null, true]) {
          const { challenge } = await refusedBy(
            trustApp,
            '/me',
            await issuer.sign({ iss } as never),
            401,
            'invalid_token',
          )
          assert.match(challenge, /iss. claim must be a string/, JSON.stringify(iss))
        }
      })

      test('a resolver that throws or never answers: 503, Retry-After, nothing leaked; unknown iss: 401', async () => {
        for (const iss of ['https://throws.example.com', 'https://hangs.example.com']) {
          const token = await issuer.sign({ iss })
          const { response, challenge } = await refusedBy(
            resolverApp,
            '/me',
            token,
            503,
            'temporarily_unavailable',
          )
          assert.match(String(response.headers['retry-after']), /^\d+$/)
          for (const leak of ['hunter2', '10.9.8.7', 'throws.example.com', 'hangs.example.com']) {
            assert.ok(!response.body.includes(leak) && !challenge.includes(leak), leak)
          }
        }
        await refusedBy(
          resolverApp,
          '/me',
          await issuer.sign({ iss: 'https://unknown.example.com' }),
          401,
          'invalid_token',
        )
        const trusted = await issuer.sign({ sub: 'resolved' })
        const response = await send(`${resolverApp.url}/me`, { headers: bearer(trusted) })
        assert.deepEqual(response.json(), { sub: 'resolved' })
      })
    })
  })
}
