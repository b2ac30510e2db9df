/**
 * Limits everywhere input enters, one test each: what the default is, how to change it, and
 * that going past it is a prompt, bounded refusal (4xx for request input, 503 for key-server
 * input), never a hang, a crash or unbounded work.
 *
 *   request   token length · header size · header and cookie count
 *   token     kid length · payload nesting depth
 *   network   JWKS body size (plain, chunked, endless, gzip bomb) · JWKS key count ·
 *             discovery document size · JWKS response time · denylist answer time
 *   memory    verified-token cache entries
 *
 * Partly overlaps verify.test.ts and jwks.test.ts on purpose: this file is the one place that
 * tells the whole limit story (SECURITY.md points here).
 */
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import { after, before, describe, mock, test } from 'node:test'
import {
  CHANNELS,
  createVerifier,
  isAuthError,
  type AuthError,
  type VerifiedEvent,
  type Verifier,
  type RemoteKeyOptions,
  type VerifierOptions,
} from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { APPS, type RunningApp } from '../adapters/apps.js'
import { listen } from '../helpers/http.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken, b64url, hmacToken, nowSeconds } from '../helpers/tokens.js'

process.env.NODE_ENV = 'test' // keep Express's default error handler quiet

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const secret = 'limits-secret-'.repeat(4)
const cleanup: Array<() => Promise<unknown>> = []
after(async () => {
  for (const fn of cleanup.reverse()) await fn()
})

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: audience,
  sub: 'user-1',
  exp: nowSeconds() + 300,
  ...extra,
})

function verifier(options: Partial<VerifierOptions> = {}): Verifier {
  const created = createVerifier({ issuer, audience, secret, ...options } as VerifierOptions)
  cleanup.push(() => created.close())
  return created
}

async function testIssuer(): Promise<TestIssuer> {
  const created = await createTestIssuer({ alg: 'ES256', audience })
  cleanup.push(() => created.close())
  return created
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = await listen(handler)
  cleanup.push(() => server.close())
  return server
}

/** Rejects with `reason` (and `status`), and returns the error for more checks. */
async function refused(promise: Promise<unknown>, status: number, reason: string) {
  let caught: AuthError | undefined
  await assert.rejects(promise, (error: AuthError) => {
    assert.equal(error.status, status, `${error.reason}: ${error.message}`)
    assert.equal(error.reason, reason, error.message)
    caught = error
    return true
  })
  return caught!
}

/** The kind of FetchError behind a 503 (`too_large`, `timeout`, …). */
const fetchKind = (error: AuthError) => (error.cause as { kind?: string } | undefined)?.kind

/** An HS256 token of exactly `length` characters (the payload padded to fit). */
function hmacTokenOfLength(length: number): string {
  const base = hmacToken({ alg: 'HS256' }, claims({ pad: '' }), secret)
  let pad = Math.max(0, Math.floor(((length - base.length) * 3) / 4))
  for (;;) {
    const token = hmacToken({ alg: 'HS256' }, claims({ pad: 'x'.repeat(pad) }), secret)
    if (token.length === length) return token
    if (token.length > length) throw new Error(`no token of exactly ${length} characters`)
    pad++
  }
}

/** node:http with a raw header list (duplicates kept); Host is added, as a client would. */
function sendRaw(url: string, headers: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: ['host', new URL(url).host, ...headers], agent: false })
    req.on('error', reject)
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.end()
  })
}

describe('limits on request input', () => {
  test('token length: 8192 characters by default, maxTokenLength to change it, checked before any decoding', async () => {
    const v = verifier()
    const longest = hmacTokenOfLength(8192)
    const tooLong = hmacTokenOfLength(8193)
    assert.equal((await v.verify(longest)).payload.sub, 'user-1')
    await refused(v.verify(tooLong), 401, 'token_too_large')
    // Refused on length alone: 4 MB of garbage never reaches the syntax check or a parser.
    await refused(v.verify('A'.repeat(4_000_000)), 401, 'token_too_large')
    await refused(v.verify('.'.repeat(4_000_000)), 401, 'token_too_large')

    const roomy = verifier({ maxTokenLength: 16_384 })
    assert.equal((await roomy.verify(tooLong)).payload.sub, 'user-1')
    const tight = verifier({ maxTokenLength: 200 })
    await refused(tight.verify(longest), 401, 'token_too_large')
    assert.throws(() => verifier({ maxTokenLength: 0 }), TypeError)
  })

  describe('over HTTP, every adapter', () => {
    let shared: Verifier
    let apps: Array<{ name: string; app: RunningApp }>
    let token: string
    before(async () => {
      shared = verifier({ token: { cookie: 'access_token' } })
      token = hmacToken({ alg: 'HS256' }, claims(), secret)
      apps = await Promise.all(
        APPS.map(async (factory) => ({ name: factory.name, app: await factory.start(shared) })),
      )
    })
    after(() => Promise.all(apps.map(({ app }) => app.close())))

    test('header size: Node refuses headers past 16 KiB with 431 before jwt-gate runs; below that, the token limit applies', async () => {
      for (const { name, app } of apps) {
        const url = `${app.url}/me`
        const huge = 'a'.repeat(20_000)
        assert.equal((await sendRaw(url, ['authorization', `Bearer ${huge}`])).status, 431, name)
        assert.equal((await sendRaw(url, ['cookie', `access_token=${huge}`])).status, 431, name)
        // 12 KB fits Node's limit; jwt-gate refuses it by length, before decoding.
        const big = await sendRaw(url, ['authorization', `Bearer ${token}${'A'.repeat(12_000)}`])
        assert.equal(big.status, 401, name)
        assert.ok(!big.body.includes(token), `${name}: echoed the token`)
      }
      // A Fetch Request has no server in front to cap its headers: jwt-gate stays bounded itself.
      const request = new Request('https://api.example.com/me', {
        headers: {
          authorization: `Bearer ${'A'.repeat(4_000_000)}`,
          cookie: `x=${'y'.repeat(4_000_000)}`,
        },
      })
      await refused(shared.verifyRequest(request), 401, 'token_too_large')
    })

    test('header count: many cookies are read in one pass; a repeated cookie or Authorization header is 400', async () => {
      const many = Array.from({ length: 1200 }, (_, i) => `c${i}=v`)
      const withToken = [...many.slice(0, 600), `access_token=${token}`, ...many.slice(600)]
      const cases: Array<[string, string[], number]> = [
        ['1200 cookies and the token', ['cookie', withToken.join('; ')], 200],
        ['1200 cookies, no token', ['cookie', many.join('; ')], 401],
        [
          'the cookie in two Cookie headers',
          ['cookie', `access_token=${token}`, 'cookie', `access_token=${token}`],
          400,
        ],
        // Node keeps only the first of repeated Authorization headers (its duplicate rule), so
        // jwt-gate must look at the raw headers to see the second one, as a Fetch Request shows
        // it (test/core/extract.test.ts: two values there are 400). A repeated credential is
        // ambiguous whichever one comes first.
        [
          'two Authorization headers, valid first',
          ['authorization', `Bearer ${token}`, 'authorization', 'Bearer x.y.z'],
          400,
        ],
        [
          'two Authorization headers, valid second',
          ['authorization', 'Bearer x.y.z', 'authorization', `Bearer ${token}`],
          400,
        ],
        // As a Fetch Request reads it ("Basic eDp5, Bearer …": another scheme, no token).
        [
          'Basic then Bearer',
          ['authorization', 'Basic eDp5', 'authorization', `Bearer ${token}`],
          401,
        ],
      ]
      const failures: string[] = []
      for (const { name, app } of apps) {
        for (const [label, headers, expected] of cases) {
          const { status } = await sendRaw(`${app.url}/me`, headers)
          if (status !== expected)
            failures.push(`${name}: ${label}: ${status}, expected ${expected}`)
        }
      }
      assert.deepEqual(failures, [])
      // 200,000 cookies in one header (Fetch: no server limit in front) are one linear pass.
      const cookies = Array.from({ length: 200_000 }, (_, i) => `c${i}=v`).join('; ')
      const fetchRequest = (cookie: string) =>
        new Request('https://api.example.com/me', { headers: { cookie } })
      assert.ok(await shared.verifyRequest(fetchRequest(`${cookies}; access_token=${token}`)))
      await refused(shared.verifyRequest(fetchRequest(cookies)), 401, 'no_token')
    })
  })
})

describe('limits on the token', () => {
  test('kid: at most 256 characters, refused before any key lookup or JWKS fetch', async () => {
    const long = keyPair('ec', 'k'.repeat(256), 'ES256')
    const longer = keyPair('ec', 'k'.repeat(257), 'ES256')
    const local = verifier({ secret: undefined, keys: { keys: [long.jwk, longer.jwk] } })
    const sign = (pair: typeof long) =>
      asymmetricToken({ alg: 'ES256', kid: pair.jwk.kid }, claims(), pair.privateKey)
    assert.equal((await local.verify(sign(long))).header.kid!.length, 256)
    await refused(local.verify(sign(longer)), 401, 'malformed')

    const idp = await testIssuer()
    const remote = verifier({ secret: undefined, issuer: idp.url, jwksUri: idp.jwksUri })
    await remote.verify(await idp.sign())
    const fetches = idp.jwksRequests
    const stranger = keyPair('ec', 'x', 'ES256')
    const forged = (kid: string) =>
      asymmetricToken({ alg: 'ES256', kid }, claims({ iss: idp.url }), stranger.privateKey)
    await refused(remote.verify(forged('z'.repeat(257))), 401, 'malformed')
    await refused(remote.verify(forged('z'.repeat(5000))), 401, 'malformed')
    assert.equal(idp.jwksRequests, fetches, 'an overlong kid must not cause a fetch')
  })

  test('payload nesting: maxPayloadDepth (default 32) counts objects and arrays; deeper is refused, however deep', async () => {
    /** A payload `depth` levels deep counting the root object. */
    const nested = (depth: number, kind: 'object' | 'array') => {
      let value: unknown = 'leaf'
      for (let i = 0; i < depth - 1; i++) value = kind === 'object' ? { d: value } : [value]
      return claims({ deep: value })
    }
    const v = verifier()
    for (const kind of ['object', 'array'] as const) {
      await v.verify(hmacToken({ alg: 'HS256' }, nested(32, kind), secret))
      await refused(
        v.verify(hmacToken({ alg: 'HS256' }, nested(33, kind), secret)),
        401,
        'malformed',
      )
    }
    const roomy = verifier({ maxPayloadDepth: 64 })
    await roomy.verify(hmacToken({ alg: 'HS256' }, nested(64, 'object'), secret))
    const flat = verifier({ maxPayloadDepth: 1 })
    await refused(
      flat.verify(hmacToken({ alg: 'HS256' }, claims({ o: {} }), secret)),
      401,
      'malformed',
    )
    // 100,000 levels (with the length limit raised to let it in): refused, no stack overflow.
    const bomb = `${b64url({ alg: 'HS256' })}.${b64url(`{"iss":"${issuer}","d":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)}`
    const signed = hmacToken({ alg: 'HS256' }, 'x', secret).split('.')[2]!
    const huge = verifier({ maxTokenLength: 4_000_000 })
    await refused(huge.verify(`${bomb}.${signed}`), 401, 'malformed')
  })
})

describe('limits on key-server input', () => {
  test('JWKS body: maxResponseBytes (default 512 KiB) caps it as it streams: declared, chunked, endless, gzip bomb', async () => {
    const idp = await testIssuer()
    const keys = JSON.stringify(idp.jwks())
    const token = await idp.sign()
    const jwksFrom = async (
      handler: (res: ServerResponse) => void,
      remoteKeys: RemoteKeyOptions = {},
    ) => {
      const server = await serve((_req, res) => handler(res))
      return verifier({
        secret: undefined,
        issuer: idp.url,
        jwksUri: `${server.url}/jwks`,
        // so only the size cap can end these fetches promptly
        remoteKeys: { fetchTimeout: '30s', ...remoteKeys },
      })
    }
    const padded = (size: number) => {
      const body = `{"keys":${keys.slice(8, -1)},"pad":"`
      return `${body}${'x'.repeat(size - body.length - 2)}"}`
    }

    // Exactly at the limit passes; one byte over fails, with or without Content-Length.
    const exact = padded(4096)
    assert.equal(Buffer.byteLength(exact), 4096)
    const atLimit = await jwksFrom((res) => res.end(exact), { maxResponseBytes: 4096 })
    await atLimit.verify(token)
    for (const declared of [true, false]) {
      const over = await jwksFrom(
        (res) => {
          if (declared) res.setHeader('content-length', 4097)
          res.write(padded(4097).slice(0, 2000))
          res.end(padded(4097).slice(2000))
        },
        { maxResponseBytes: 4096 },
      )
      const error = await refused(over.verify(token), 503, 'jwks_unavailable')
      assert.equal(fetchKind(error), 'too_large')
    }

    // The default, against a body that never ends: the cap, not the timeout, stops it.
    let written = 0
    const endless = await jwksFrom((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"keys":[],"pad":"')
      const chunk = 'x'.repeat(64 * 1024)
      const pump = () => {
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
      }
      res.on('close', () => (written = Number.POSITIVE_INFINITY))
      pump()
    })
    assert.equal(
      fetchKind(await refused(endless.verify(token), 503, 'jwks_unavailable')),
      'too_large',
    )

    // A gzip bomb: 20 KB on the wire, 20 MB once inflated. The cap counts inflated bytes.
    const bomb = gzipSync(`{"keys":${keys.slice(8, -1)},"pad":"${'0'.repeat(20 * 1024 * 1024)}"}`)
    assert.ok(bomb.length < 100 * 1024)
    const zipped = await jwksFrom((res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': bomb.length,
      })
      res.end(bomb)
    })
    assert.equal(
      fetchKind(await refused(zipped.verify(token), 503, 'jwks_unavailable')),
      'too_large',
    )
  })

  test('JWKS keys: maxKeys (default 100) bounds the set; more is a failed fetch, not a partial import', async () => {
    const idp = await testIssuer()
    const jwk = idp.jwks().keys[0]!
    const token = await idp.sign()
    const serving = async (count: number, extra = {}) => {
      const body = JSON.stringify({
        keys: Array.from({ length: count }, (_, i) => ({
          ...jwk,
          kid: i === 0 ? jwk.kid : `k${i}`,
        })),
      })
      const server = await serve((_req, res) => res.end(body))
      return verifier({
        secret: undefined,
        issuer: idp.url,
        jwksUri: `${server.url}/jwks`,
        ...extra,
      })
    }
    await (await serving(100)).verify(token)
    await refused((await serving(101)).verify(token), 503, 'jwks_unavailable')
    await (await serving(3, { remoteKeys: { maxKeys: 3 } })).verify(token)
    await refused(
      (await serving(4, { remoteKeys: { maxKeys: 3 } })).verify(token),
      503,
      'jwks_unavailable',
    )
  })

  test('discovery document: the same maxResponseBytes cap applies', async () => {
    const idp = await testIssuer()
    const metadata = async () => {
      let base = ''
      const server = await serve((req, res) => {
        if (req.url !== '/.well-known/openid-configuration') return void res.writeHead(404).end()
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ issuer: base, jwks_uri: idp.jwksUri, pad: 'x'.repeat(600_000) }))
      })
      base = server.url
      return base
    }
    const small = await metadata()
    const capped = verifier({ secret: undefined, issuer: small })
    const error = await refused(
      capped.verify(await idp.sign({ iss: small })),
      503,
      'discovery_unavailable',
    )
    assert.equal(fetchKind(error), 'too_large')
    const large = await metadata()
    const roomy = verifier({
      secret: undefined,
      issuer: large,
      remoteKeys: { maxResponseBytes: 1_000_000 },
    })
    assert.equal((await roomy.verify(await idp.sign({ iss: large }))).payload.iss, large)
  })

  test('JWKS response time: fetchTimeout (default 5 s) bounds a server that drips its body forever', async () => {
    const idp = await testIssuer()
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const timer = setInterval(() => res.write(' '), 20)
      res.on('close', () => clearInterval(timer))
    })
    const v = verifier({
      secret: undefined,
      issuer: idp.url,
      jwksUri: `${server.url}/jwks`,
      remoteKeys: { fetchTimeout: '300ms' },
    })
    const error = await refused(v.verify(await idp.sign()), 503, 'jwks_unavailable')
    assert.equal(fetchKind(error), 'timeout')
  })

  test('denylist answer time: denylistTimeout (default 2 s) turns a silent denylist into 503', async () => {
    const silent = { isRevoked: () => new Promise<boolean>(() => {}) }
    const token = hmacToken({ alg: 'HS256' }, claims(), secret)
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const v = verifier({ denylist: silent, cache: false })
      const state: { settled?: 'passed' | AuthError } = {}
      const settled = () => state.settled
      const pending = v.verify(token).then(
        () => (state.settled = 'passed'),
        (error: AuthError) => (state.settled = error),
      )
      await new Promise((resolve) => setImmediate(resolve))
      mock.timers.tick(1999)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(settled(), undefined, 'answered before the default 2 s')
      mock.timers.tick(1)
      await pending
      const error = settled()
      assert.ok(isAuthError(error), String(error))
      assert.equal(error.status, 503)
      assert.equal(error.reason, 'denylist_unavailable')
    } finally {
      mock.timers.reset()
    }
    const quick = verifier({ denylist: silent, denylistTimeout: '50ms' })
    await refused(quick.verify(token), 503, 'denylist_unavailable')
  })
})

describe('limits on memory', () => {
  test('verified-token cache: cache.tokens (default 10,000) bounds the entries; the oldest is evicted', async () => {
    const events: VerifiedEvent[] = []
    const listener = (event: unknown) => events.push(event as VerifiedEvent)
    subscribe(CHANNELS.verified, listener)
    try {
      const tokens = Array.from({ length: 10_001 }, (_, i) =>
        hmacToken({ alg: 'HS256' }, claims({ jti: `t${i}` }), secret),
      )
      const cachedOnRepeat = async (v: Verifier, token: string) => {
        events.length = 0
        await v.verify(token)
        return events.at(-1)!.cached
      }
      const small = verifier({ cache: { tokens: 3 } })
      for (const token of tokens.slice(0, 4)) await small.verify(token)
      assert.equal(await cachedOnRepeat(small, tokens[3]!), true)
      assert.equal(await cachedOnRepeat(small, tokens[0]!), false, 'the 4th token evicted the 1st')

      const byDefault = verifier()
      for (const token of tokens.slice(0, 10_000)) await byDefault.verify(token)
      assert.equal(await cachedOnRepeat(byDefault, tokens[1]!), true)
      await byDefault.verify(tokens[10_000]!) // one more than the bound…
      assert.equal(await cachedOnRepeat(byDefault, tokens[0]!), false, '…evicts the oldest')
    } finally {
      unsubscribe(CHANNELS.verified, listener)
    }
  })
})
