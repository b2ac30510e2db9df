/**
 * Cookie mode end to end in a real browser: Debian's headless Chromium (never a downloaded one),
 * driven by playwright-core, against the browser demo (examples/browser/).
 *
 * Proves: signing in then GET shows the claims; the token cookie is HttpOnly and invisible to
 * `document.cookie`; a same-origin POST succeeds; a page on another origin of the same site, whose
 * `credentials: 'include'` request the browser sends WITH the SameSite=Lax cookie, is refused with
 * 403 (reason `csrf`) and places no order; a page on another site does not even get the cookie
 * sent (401); an origin in `csrf.allowedOrigins` may POST; an expired cookie token gets 401 and the
 * page says so; signing out makes the next call 401 (and, with a denylist, a saved copy of the
 * cookie is refused as revoked).
 *
 * What the browser sent and received is read from Chromium's own network layer (DevTools
 * protocol), so "the cookie went out" and "the answer was 403" hold even where CORS hides the
 * answer from the page; the demo's server-side log and order count confirm it.
 *
 * A screenshot of the signed-in page lands in test-output/browser/.
 *
 * Without /usr/bin/chromium the suite is skipped with a loud reason, except when `CI` is set:
 * then it fails.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import {
  startCrossOriginPage,
  type CrossOriginPage,
} from '../../examples/browser/cross-origin-page.js'
import type { ApiLogEntry } from '../../examples/browser/request-log.js'
import { DEMO_AUDIENCE, startBrowserDemo, type BrowserDemo } from '../../examples/browser/server.js'

/**
 * The little of the page's DOM that the functions run inside the page use. The project compiles
 * without lib.dom (a Node library), so it is declared here, for this module only.
 */
declare const document: {
  cookie: string
  querySelectorAll(selector: string): { length: number }
  getElementById(id: string): { textContent: string | null } | null
}

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/browser/', import.meta.url))
const IN_CI = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0'
const MISSING_REASON = `${CHROMIUM} is missing: install Debian's "chromium" package (as .ci/run does) to run the browser tests`

const MISSING = !existsSync(CHROMIUM)
if (MISSING && IN_CI) {
  test('Chromium is installed (required when CI is set)', () => {
    assert.fail(`${MISSING_REASON}; CI is set, so this is a failure, not a skip`)
  })
} else if (MISSING) {
  process.stderr.write(`\n!!! SKIPPING test/browser/cookie-mode.test.ts: ${MISSING_REASON} !!!\n\n`)
  // A skipped test (not only a skipped suite) so the runner's "# skipped" count shows it.
  test('Chromium is installed', { skip: MISSING_REASON }, () => {})
}

/** The page's result panel, as a person reads it. */
interface Shown {
  status: string
  outcome: string
  statusLine: string
  error: string
  reason: string
  message: string
  wwwAuthenticate: string
  hint: string
  body: string
}

/** Click a button of the demo page and wait until the page shows the API's answer. */
async function clickAndRead(page: Page, selector: string): Promise<Shown> {
  const before = await page.locator('#history li').count()
  await page.click(selector)
  await page.waitForFunction(
    (count) => document.querySelectorAll('#history li').length > count,
    before,
  )
  // No named functions inside: tsx (esbuild keepNames) would wrap them in a `__name` helper the
  // page does not have.
  const ids = [
    'result-status',
    'result-error',
    'result-reason',
    'result-message',
    'result-www-authenticate',
    'result-hint',
    'result-body',
  ]
  const [statusLine, error, reason, message, wwwAuthenticate, hint, body] = await page.evaluate(
    (list) => list.map((id) => document.getElementById(id)?.textContent ?? ''),
    ids,
  )
  const result = page.locator('#result')
  return {
    status: (await result.getAttribute('data-status')) ?? '',
    outcome: (await result.getAttribute('data-outcome')) ?? '',
    statusLine: statusLine!,
    error: error!,
    reason: reason!,
    message: message!,
    wwwAuthenticate: wwwAuthenticate!,
    hint: hint!,
    body: body!,
  }
}

/** Open the demo in `context` and sign in through the form. */
async function signIn(
  context: BrowserContext,
  demo: BrowserDemo,
  user = 'ada',
  scopes: string[] = ['read:orders', 'write:orders'],
): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${demo.url}/`)
  await page.fill('#user', user)
  for (const scope of ['read:orders', 'write:orders']) {
    await page.setChecked(`input[name="scope"][value="${scope}"]`, scopes.includes(scope))
  }
  const shown = await clickAndRead(page, '#sign-in')
  assert.equal(shown.status, '200', `sign-in failed: ${shown.statusLine} ${shown.message}`)
  await page.waitForSelector('#session[data-state="signed-in"]')
  return page
}

/** The token cookie as the browser stores it (Playwright sees HttpOnly cookies; pages do not). */
async function tokenCookie(context: BrowserContext, demo: BrowserDemo) {
  const cookies = await context.cookies(demo.url)
  return cookies.find((cookie) => cookie.name === demo.cookieName)
}

/** The demo's log entry for a request, waiting briefly for the server's `finish` event. */
async function lastLogEntry(
  demo: BrowserDemo,
  predicate: (entry: ApiLogEntry) => boolean,
): Promise<ApiLogEntry> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const entry = demo.log.findLast(predicate)
    if (entry) return entry
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.fail('the demo logged no such request')
}

/** One request as Chromium itself saw it (DevTools protocol), CORS-blocked ones included. */
interface Observed {
  url: string
  method: string
  /** Cookies the browser attached. */
  sent: string[]
  /** Cookies it withheld, with its reasons (e.g. `SameSiteLax`). */
  withheld: Array<{ name: string; reasons: string[] }>
  /** Status of the response, as received (also when CORS then hides it from the page). */
  status: number | undefined
  headers: Record<string, string>
}

/**
 * Record a page's requests through the DevTools protocol. Playwright reports a response the
 * page may not read (no CORS headers) only as a failed request; Chromium's network layer still
 * knows which cookies went out and which status came back.
 */
async function watchNetwork(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  const requests = new Map<string, Observed>()
  const get = (id: string) => {
    let observed = requests.get(id)
    if (!observed) {
      observed = { url: '', method: '', sent: [], withheld: [], status: undefined, headers: {} }
      requests.set(id, observed)
    }
    return observed
  }
  cdp.on('Network.requestWillBeSent', (event) => {
    Object.assign(get(event.requestId), { url: event.request.url, method: event.request.method })
  })
  cdp.on('Network.requestWillBeSentExtraInfo', (event) => {
    const observed = get(event.requestId)
    for (const { cookie, blockedReasons } of event.associatedCookies) {
      if (blockedReasons.length === 0) observed.sent.push(cookie.name)
      else observed.withheld.push({ name: cookie.name, reasons: [...blockedReasons] })
    }
  })
  cdp.on('Network.responseReceivedExtraInfo', (event) => {
    const observed = get(event.requestId)
    observed.status = event.statusCode
    for (const [name, value] of Object.entries(event.headers)) {
      observed.headers[name.toLowerCase()] = String(value)
    }
  })
  return {
    /** The first request to `url` with `method` that got an answer; waits up to 5 s. */
    async find(method: string, url: string): Promise<Observed> {
      for (let attempt = 0; attempt < 250; attempt++) {
        for (const observed of requests.values()) {
          if (observed.method === method && observed.url === url && observed.status) {
            return observed
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      assert.fail(`Chromium saw no answered ${method} ${url}`)
    },
  }
}

describe(
  'cookie mode in a real browser (Chromium)',
  { skip: MISSING && MISSING_REASON, timeout: 120_000 },
  () => {
    let browser: Browser
    let demo: BrowserDemo
    let demoNoDenylist: BrowserDemo
    let sameSite: CrossOriginPage
    let crossSite: CrossOriginPage | undefined
    let crossSiteUnavailable: string | undefined
    const contexts: BrowserContext[] = []

    const newContext = async () => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } })
      contexts.push(context)
      return context
    }

    before(async () => {
      // launch() gives every run a fresh temporary user-data dir, removed on close.
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
      demo = await startBrowserDemo()
      demoNoDenylist = await startBrowserDemo({ denylist: false })
      // Same host, another port: another origin, but the same site.
      sameSite = await startCrossOriginPage({ target: demo.url })
      // Another loopback address: another site altogether.
      try {
        crossSite = await startCrossOriginPage({ target: demo.url, host: '127.0.0.2' })
      } catch (error) {
        crossSiteUnavailable = `cannot listen on 127.0.0.2: ${String(error)}`
      }
      await mkdir(OUTPUT_DIR, { recursive: true })
    })

    after(async () => {
      for (const context of contexts) await context.close().catch(() => undefined)
      await browser?.close()
      await Promise.all([
        demo?.close(),
        demoNoDenylist?.close(),
        sameSite?.close(),
        crossSite?.close(),
      ])
    })

    test('signing in sets an HttpOnly SameSite=Lax cookie the page cannot read; GET shows the claims', async () => {
      const context = await newContext()
      const page = await signIn(context, demo)

      const cookie = await tokenCookie(context, demo)
      assert.ok(cookie, 'the browser stored the token cookie')
      assert.match(cookie.value, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the cookie holds a compact JWT')
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.sameSite, 'Lax')
      assert.equal(cookie.path, '/')
      assert.equal(cookie.secure, false, 'Secure is left out on http://127.0.0.1 only')

      // document.cookie works (it shows a cookie the page sets itself) but never the token.
      const visible = await page.evaluate(() => {
        document.cookie = 'probe=visible; path=/; SameSite=Lax'
        return document.cookie
      })
      assert.match(visible, /probe=visible/)
      assert.ok(!visible.includes(cookie.value), 'document.cookie must not contain the token')
      assert.ok(!visible.includes(`${demo.cookieName}=`), 'nor even the cookie name')
      assert.ok(!(await page.content()).includes(cookie.value), 'nor the page itself')

      const shown = await clickAndRead(page, '#get-me')
      assert.equal(shown.status, '200')
      const claims = JSON.parse(shown.body)
      assert.equal(claims.sub, 'ada')
      assert.equal(claims.scope, 'read:orders write:orders')
      assert.equal(claims.claims.iss, demo.issuer.url)
      assert.equal(claims.claims.aud, DEMO_AUDIENCE)
      assert.equal(typeof claims.claims.jti, 'string')
      assert.match(await page.textContent('#session').then(String), /Signed in as ada/)

      const screenshot = `${OUTPUT_DIR}cookie-mode-signed-in.png`
      await page.screenshot({ path: screenshot, fullPage: true })
      assert.ok(existsSync(screenshot))
    })

    test('POST from the same origin places an order', async () => {
      const context = await newContext()
      const page = await signIn(context, demo, 'grace')
      const before = demo.orders.length

      const shown = await clickAndRead(page, '#post-order')
      assert.equal(shown.status, '201', `${shown.statusLine} ${shown.message}`)
      assert.equal(demo.orders.length, before + 1)
      assert.equal(demo.orders.at(-1)?.by, 'grace')
      const entry = await lastLogEntry(demo, (e) => e.method === 'POST' && e.path === '/api/orders')
      assert.equal(entry.secFetchSite, 'same-origin')
      assert.equal(entry.hadCookie, true)

      // And a scope the token lacks is refused with the challenge the page shows as it came.
      const readOnly = await signIn(await newContext(), demo, 'reader', ['read:orders'])
      const refused = await clickAndRead(readOnly, '#post-order')
      assert.equal(refused.status, '403')
      assert.equal(refused.error, 'insufficient_scope')
      assert.match(refused.wwwAuthenticate, /error="insufficient_scope"/)
      assert.match(refused.wwwAuthenticate, /scope="write:orders"/)
      assert.equal(demo.orders.length, before + 1)
    })

    test('a page on another origin of the same site: the browser sends the Lax cookie, jwt-gate refuses with 403 csrf, no order', async () => {
      const context = await newContext()
      await signIn(context, demo, 'victim')
      const before = demo.orders.length
      const attacker = await context.newPage()
      const network = await watchNetwork(context, attacker)
      await attacker.goto(`${sameSite.url}/`)
      assert.notEqual(new URL(sameSite.url).origin, new URL(demo.url).origin)
      // Cookies ignore ports (RFC 6265 §8.5): the other port's own server received the token too.
      // That is why this setup stands for sibling hosts of one site (app. and blog.example.com),
      // where a host-only cookie stays home but SameSite=Lax still lets the POST carry it.
      assert.deepEqual((await network.find('GET', `${sameSite.url}/`)).sent, [demo.cookieName])

      // 1. fetch(…, { method: 'POST', credentials: 'include' }): a simple request, no preflight.
      await attacker.click('#fetch-attack')
      const seen = await network.find('POST', `${demo.url}/api/orders`)
      assert.deepEqual(seen.sent, [demo.cookieName], "the browser attached the victim's cookie")
      assert.equal(seen.status, 403)
      assert.match(seen.headers['www-authenticate']!, /error="invalid_request"/)
      const entry = await lastLogEntry(
        demo,
        (e) => e.path === '/api/orders' && e.origin === sameSite.url,
      )
      assert.deepEqual(
        { ...entry },
        {
          method: 'POST',
          path: '/api/orders',
          origin: sameSite.url,
          secFetchSite: 'same-site',
          hadCookie: true, // the server got the cookie too
          status: 403,
          reason: 'csrf',
        },
      )
      // The page itself may not read the answer (no CORS headers), and says so.
      await attacker.waitForSelector('#outcome[data-state="done"]')
      assert.match(String(await attacker.textContent('#outcome')), /fetch failed/)

      // 2. A plain HTML form POST (a top-level navigation, which SameSite=Lax does not stop within a site).
      const [navigation] = await Promise.all([
        attacker.waitForResponse(
          (r) => r.url() === `${demo.url}/api/orders` && r.request().method() === 'POST',
        ),
        attacker.click('#form-attack button'),
      ])
      assert.equal(navigation.status(), 403)
      const body = await navigation.json()
      assert.equal(body.error, 'invalid_request')
      assert.equal(body.reason, 'csrf')
      assert.match(
        String(await navigation.headerValue('www-authenticate')),
        /error="invalid_request"/,
      )
      const formEntry = demo.log.at(-1)!
      assert.equal(formEntry.hadCookie, true)
      assert.equal(formEntry.reason, 'csrf')

      assert.equal(demo.orders.length, before, 'no order was placed')
    })

    test('a page on another site: the browser withholds the Lax cookie, so the API answers 401, no order', async (t) => {
      if (crossSite === undefined) return t.skip(crossSiteUnavailable)
      const context = await newContext()
      await signIn(context, demo, 'victim')
      const before = demo.orders.length
      const attacker = await context.newPage()
      const network = await watchNetwork(context, attacker)
      await attacker.goto(`${crossSite.url}/`)

      await attacker.click('#fetch-attack')
      const seen = await network.find('POST', `${demo.url}/api/orders`)
      assert.deepEqual(seen.sent, [])
      // Withheld for SameSite=Lax (Chromium reports 'SchemefulSameSiteLax', plus 'UserPreferences'
      // since it also blocks third-party cookies by default in headless mode).
      assert.deepEqual(
        seen.withheld.map((cookie) => cookie.name),
        [demo.cookieName],
      )
      assert.ok(
        seen.withheld[0]!.reasons.some((reason) => /SameSiteLax$/.test(reason)),
        seen.withheld[0]!.reasons.join(),
      )
      assert.equal(seen.status, 401)
      assert.equal(seen.headers['www-authenticate'], `Bearer realm="${DEMO_AUDIENCE}"`)
      const entry = await lastLogEntry(
        demo,
        (e) => e.path === '/api/orders' && e.origin === crossSite!.url,
      )
      assert.equal(entry.secFetchSite, 'cross-site')
      assert.equal(entry.hadCookie, false)
      assert.equal(entry.reason, 'no_token')
      assert.equal(demo.orders.length, before)
    })

    test('an origin listed in csrf.allowedOrigins may POST with the cookie', async () => {
      // A second demo that trusts one other origin (say, an admin front end on another port).
      const page = await startCrossOriginPage({ target: demo.url })
      const allowing = await startBrowserDemo({ allowedOrigins: [page.url] })
      page.retarget(allowing.url)
      try {
        const context = await newContext()
        await signIn(context, allowing, 'ada')
        const other = await context.newPage()
        const network = await watchNetwork(context, other)
        await other.goto(`${page.url}/`)
        await other.click('#fetch-attack')
        const seen = await network.find('POST', `${allowing.url}/api/orders`)
        assert.deepEqual(seen.sent, [allowing.cookieName])
        assert.equal(seen.status, 201)
        assert.equal(allowing.orders.length, 1)
        assert.equal(allowing.log.at(-1)?.secFetchSite, 'same-site')
      } finally {
        await page.close()
        await allowing.close()
      }
    })

    test('an expired token in the cookie gets 401 invalid_token, and the page says so', async () => {
      const context = await newContext()
      const page = await signIn(context, demo, 'ada')
      // The cookie outlives its token (a clock skew, or a cookie kept longer than the token).
      const expired = await demo.issuer.sign(
        { sub: 'ada', scope: 'read:orders write:orders' },
        { expiresIn: -60, audience: DEMO_AUDIENCE },
      )
      await context.addCookies([
        { name: demo.cookieName, value: expired, url: demo.url, httpOnly: true, sameSite: 'Lax' },
      ])

      const shown = await clickAndRead(page, '#get-me')
      assert.equal(shown.status, '401')
      assert.equal(shown.error, 'invalid_token')
      assert.equal(shown.reason, 'expired')
      assert.equal(shown.message, 'The token has expired.')
      assert.match(shown.wwwAuthenticate, /^Bearer realm="[^"]+", error="invalid_token"/)
      assert.match(shown.hint, /expired/i)
      assert.match(await page.locator('#result').innerText(), /expired/i)
      await page.waitForSelector('#session[data-state="signed-out"]')
      await page.screenshot({ path: `${OUTPUT_DIR}cookie-mode-expired.png`, fullPage: true })
    })

    test('signing out revokes the token (denylist) and clears the cookie: the next call is 401, a saved copy too', async () => {
      const context = await newContext()
      const page = await signIn(context, demo, 'ada')
      const saved = (await tokenCookie(context, demo))!
      assert.equal((await clickAndRead(page, '#get-me')).status, '200')

      const out = await clickAndRead(page, '#sign-out')
      assert.equal(out.status, '200')
      assert.equal(JSON.parse(out.body).revoked, true)
      assert.equal(await tokenCookie(context, demo), undefined, 'the cookie is gone')

      const next = await clickAndRead(page, '#get-me')
      assert.equal(next.status, '401')
      assert.equal(next.error, 'unauthorized')
      assert.equal(next.wwwAuthenticate, `Bearer realm="${DEMO_AUDIENCE}"`)

      // Someone who copied the cookie before sign-out replays it: the denylist refuses it.
      await context.addCookies([saved])
      const replay = await clickAndRead(page, '#get-me')
      assert.equal(replay.status, '401')
      assert.equal(replay.error, 'invalid_token')
      assert.equal(replay.reason, 'revoked')
      assert.match(replay.hint, /revoked/)
    })

    test('without a denylist, signing out clears the cookie: the next call is 401', async () => {
      const context = await newContext()
      const page = await signIn(context, demoNoDenylist, 'ada')
      assert.equal((await clickAndRead(page, '#get-me')).status, '200')

      const out = await clickAndRead(page, '#sign-out')
      assert.equal(out.status, '200')
      assert.equal(JSON.parse(out.body).revoked, false)
      assert.equal(await tokenCookie(context, demoNoDenylist), undefined)

      const next = await clickAndRead(page, '#get-me')
      assert.equal(next.status, '401')
      assert.equal(next.error, 'unauthorized')
      assert.match(next.hint, /signed out/)
    })
  },
)
