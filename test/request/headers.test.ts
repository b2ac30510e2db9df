/**
 * Request headers (src/request/headers.ts) over HTTP, in every adapter: what Node itself bounds
 * (431 past 16 KiB), the token length below that, and many or repeated Cookie and Authorization
 * headers read in one pass, a repeated credential being 400.
 */
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/index.js'
import { APPS, type RunningApp } from '../adapters/apps.js'
import { refused } from '../helpers/refusals.js'
import { hmacToken, nowSeconds } from '../helpers/tokens.js'

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
        // it (test/request/extract.test.ts: two values there are 400). A repeated credential is
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
