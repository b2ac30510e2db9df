/**
 * Property: arbitrary `Authorization` and `Cookie` headers (and the Origin / Sec-Fetch-Site /
 * Referer headers cookie mode reads), sent over real HTTP with node:http to every adapter,
 * never produce a 5xx, never crash the server, never echo the token, and never reach a guarded
 * handler without the valid token. Values Node's own HTTP client refuses to send are skipped.
 *
 * The apps are the shared scenario apps (test/adapters/apps.ts): Express 5 and 4, Koa 3 and 2,
 * Fastify 5 and 4, behind one cookie-mode verifier (`access_token`, one allowed origin).
 */
import assert from 'node:assert/strict'
import { request as httpRequest, validateHeaderName, validateHeaderValue } from 'node:http'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { createVerifier, type Verifier } from '../../src/index.js'
import { APPS, type RunningApp } from '../adapters/apps.js'
import { checkProperty } from './harness.js'
import { mutationOf } from './mutations.js'
import { AUDIENCE, ISSUER, keyRing, tokenFamilies, type TokenFamily } from './token-families.js'

// Express's default error handler logs every error's stack unless NODE_ENV is 'test'; apps read
// it when they are created (below), not when express is imported.
process.env.NODE_ENV = 'test'

const ALLOWED_ORIGIN = 'https://app.example.com'
const COOKIE = 'access_token'
const ROUTES = [
  ['GET', '/me'],
  ['GET', '/orders'],
  ['GET', '/any'],
  ['GET', '/claims'],
  ['POST', '/orders'],
  ['GET', '/optional'],
  ['DELETE', '/orders'],
] as const

let verifier: Verifier
let family: TokenFamily
let apps: Array<{ name: string; app: RunningApp }> = []

before(async () => {
  verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: keyRing().jwks,
    token: { cookie: COOKIE },
    csrf: { allowedOrigins: [ALLOWED_ORIGIN] },
  })
  family = tokenFamilies()[0]! // RS256, scope "read:orders write:orders", org "acme"
  apps = await Promise.all(
    APPS.map(async (factory) => ({ name: factory.name, app: await factory.start(verifier) })),
  )
})

after(async () => {
  await Promise.all(apps.map(({ app }) => app.close()))
  await verifier.close()
})

interface Sent {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/**
 * Send with node:http, headers as a raw list (duplicates kept). Node's client adds no `Host` to
 * a raw list, and an HTTP/1.1 request without one is a 400 from Node itself, so add it here.
 */
function sendRaw(url: string, method: string, headers: string[]): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method,
      headers: ['host', new URL(url).host, ...headers],
      agent: false,
    })
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('latin1'),
        }),
      )
    })
    req.end()
  })
}

/** Whether Node's HTTP client would send this header at all. */
function sendable(name: string, value: string): boolean {
  try {
    validateHeaderName(name)
    validateHeaderValue(name, value)
    return true
  } catch {
    return false
  }
}

/** Latin-1 text (what an HTTP/1.1 header can carry), with a few control characters mixed in. */
const latin1 = fc.string({
  unit: fc
    .oneof(
      { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
      { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
      { weight: 1, arbitrary: fc.constantFrom(0x09, 0x00, 0x0a, 0x0d, 0x7f) },
    )
    .map((code) => String.fromCharCode(code)),
  maxLength: 80,
})

/**
 * The CSRF rule of API.md, written independently: Sec-Fetch-Site when present, else Origin,
 * else Referer; same-origin or an allowed origin passes, nothing present is refused.
 */
function csrfAllows(
  r: { origin?: string | undefined; site?: string | undefined; referer?: string | undefined },
  appUrl: string,
): boolean {
  const ours = (origin: string) => origin === ALLOWED_ORIGIN || origin === appUrl
  if (r.site !== undefined) {
    return r.site === 'same-origin' || (r.origin !== undefined && r.origin === ALLOWED_ORIGIN)
  }
  if (r.origin !== undefined) return ours(r.origin)
  if (r.referer !== undefined) {
    try {
      return ours(new URL(r.referer).origin)
    } catch {
      return false
    }
  }
  return false
}

describe('HTTP header fuzzing', () => {
  test('arbitrary Authorization / Cookie headers: no 5xx, no crash, no echo, no bypass', async (t) => {
    const valid = family.token
    const tokenPart = fc.oneof(
      { weight: 3, arbitrary: fc.constant(valid) },
      { weight: 4, arbitrary: mutationOf(family).map((m) => m.token) },
      { weight: 2, arbitrary: latin1 },
      { weight: 1, arbitrary: fc.constantFrom('', ' ', ',', '""', `"${valid}"`) },
      {
        weight: 1,
        arbitrary: fc
          .integer({ min: 8000, max: 15_000 })
          .map((length) => `${valid}${'A'.repeat(length)}`),
      },
    )
    const authorization = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .tuple(
            fc.constantFrom(
              'Bearer',
              'bearer',
              'BEARER',
              'Basic',
              'Token',
              'Bearerx',
              '',
              'Bearer:',
            ),
            fc.constantFrom(' ', '  ', '\t', '', ' \t '),
            tokenPart,
            fc.constantFrom('', ' ', ',', `, Bearer ${valid}`, ` ${valid}`, '\t'),
          )
          .map((parts) => parts.join('')),
      },
      { weight: 1, arbitrary: latin1 },
    )
    const cookiePair = fc
      .tuple(
        fc.constantFrom(COOKIE, `${COOKIE} `, 'ACCESS_TOKEN', 'access_tokens', 'x', 'theme', ''),
        fc.constantFrom('=', '', '=='),
        tokenPart,
      )
      .map((parts) => parts.join(''))
    const cookie = fc.oneof(
      { weight: 3, arbitrary: fc.constant(`${COOKIE}=${valid}`) },
      {
        weight: 5,
        arbitrary: fc
          .tuple(fc.array(cookiePair, { maxLength: 4 }), fc.constantFrom('; ', ';', ', ', ' ; '))
          .map(([pairs, separator]) => pairs.join(separator)),
      },
      { weight: 1, arbitrary: latin1 },
    )
    const request = fc.record({
      app: fc.nat({ max: APPS.length - 1 }),
      // State-changing requests (the CSRF rule) as often as all the reads together.
      route: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...ROUTES.filter(([m]) => m === 'GET')) },
        { weight: 5, arbitrary: fc.constantFrom(...ROUTES.filter(([m]) => m !== 'GET')) },
      ),
      authorization: fc.array(authorization, { maxLength: 2 }),
      cookie: fc.array(cookie, { maxLength: 2 }),
      origin: fc.option(
        // SELF stands for the app's own origin (its port is known only once it listens);
        // SELF-TLS for the same host and port with https, another origin.
        fc.constantFrom(
          ALLOWED_ORIGIN,
          'SELF',
          'SELF-TLS',
          'https://evil.example',
          'null',
          '',
          'http://127.0.0.1',
        ),
        { nil: undefined },
      ),
      site: fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', 'x'), {
        nil: undefined,
      }),
      referer: fc.option(
        fc.constantFrom(
          `${ALLOWED_ORIGIN}/page`,
          'SELF/page',
          'SELF-TLS/page',
          'https://evil.example/',
          '::',
        ),
        {
          nil: undefined,
        },
      ),
    })

    let sent = 0
    const statuses = new Map<number, number>()
    await checkProperty(
      t,
      fc.asyncProperty(request, async (generated) => {
        const { name, app } = apps[generated.app]!
        const self = (value: string | undefined) =>
          value?.replace('SELF-TLS', app.url.replace(/^http:/, 'https:')).replace('SELF', app.url)
        const r = { ...generated, origin: self(generated.origin), referer: self(generated.referer) }
        const headers: string[] = []
        for (const value of r.authorization) headers.push('authorization', value)
        for (const value of r.cookie) headers.push('cookie', value)
        if (r.origin !== undefined) headers.push('origin', r.origin)
        if (r.site !== undefined) headers.push('sec-fetch-site', r.site)
        if (r.referer !== undefined) headers.push('referer', r.referer)
        for (let i = 0; i < headers.length; i += 2) {
          if (!sendable(headers[i]!, headers[i + 1]!)) return // Node's client would refuse
        }
        const method = r.route[0]
        const path = r.route[1]
        const tooLarge = headers.reduce((size, part) => size + part.length + 2, 0) > 16_000
        let response: Sent
        try {
          response = await sendRaw(`${app.url}${path}`, method, headers)
        } catch (error) {
          // Node answers 431 and may close the socket before reading an oversized request.
          if (tooLarge) return
          throw error
        }
        sent++
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        const what = `${name} ${method} ${path}`
        assert.ok(response.status >= 200 && response.status < 500, `${what}: ${response.status}`)

        // Never an echo of any token-shaped piece of what was sent.
        const exposed = `${response.body}\n${JSON.stringify(response.headers)}`
        const sentValues = [...r.authorization, ...r.cookie].join(' ')
        for (const piece of sentValues.match(/[A-Za-z0-9_.-]{20,}/g) ?? []) {
          assert.ok(
            !exposed.includes(piece),
            `${what}: the response echoes "${piece.slice(0, 30)}…"`,
          )
        }

        // A 2xx needs the valid token (except the optional route, which answers anonymously).
        if (response.status < 300) {
          const body = JSON.parse(response.body) as { sub?: string | null }
          if (path === '/optional') {
            assert.ok(body.sub === null || body.sub === 'user-1', `${what}: sub ${body.sub}`)
            if (body.sub !== null) assert.ok(sentValues.includes(valid), `${what}: bypass`)
          } else {
            assert.ok(sentValues.includes(valid), `${what}: ${response.status} without the token`)
            if (path === '/me') assert.equal(body.sub, 'user-1')
          }
          // A state-changing request authenticated by the cookie alone must pass the CSRF rule.
          const viaHeader = r.authorization.some((value) => value.includes(valid))
          if (method === 'POST' && !viaHeader) {
            assert.ok(csrfAllows(r, app.url), `${what}: cross-site write accepted`)
          }
        }
      }),
      360,
    )
    const histogram = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`)
    t.diagnostic(`${sent} requests sent: ${histogram.join(' ')}`)

    // Every server still answers a well-formed request.
    for (const { name, app } of apps) {
      const ok = await sendRaw(`${app.url}/me`, 'GET', ['authorization', `Bearer ${valid}`])
      assert.equal(ok.status, 200, `${name} after fuzzing`)
    }
  })
})
