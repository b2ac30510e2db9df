/**
 * `npm start`: the Express example with its embedded test issuer, and curl lines that show the
 * three outcomes a client meets: 200, 401 (expired token) and 403 (missing scope). Next to it,
 * the browser demo of cookie mode (examples/browser/): a page to sign in to the same issuer, with
 * the token in an HttpOnly cookie, and a page on another origin that tries to misuse it.
 *
 * PORT picks the API port, BROWSER_PORT the browser demo's (default: free ones).
 */
import { startCrossOriginPage } from './browser/cross-origin-page.js'
import { startBrowserDemo } from './browser/server.js'
import { startExpressExample } from './express.js'

const example = await startExpressExample(Number(process.env.PORT ?? 0))
const { issuer, url } = example
const browser = await startBrowserDemo({ port: Number(process.env.BROWSER_PORT ?? 0), issuer })
const otherOrigin = await startCrossOriginPage({ target: browser.url })
const good = await issuer.sign(
  { sub: 'demo-user', scope: 'read:orders write:orders' },
  { expiresIn: '1h' },
)
const expired = await issuer.sign({ sub: 'demo-user', scope: 'read:orders' }, { expiresIn: -60 })
const noScope = await issuer.sign({ sub: 'demo-user', scope: 'profile' }, { expiresIn: '1h' })

console.log(`jwt-gate demo API listening on ${url}  (test issuer: ${issuer.url})

200 — a valid token with the read:orders scope:
curl -i -H 'Authorization: Bearer ${good}' ${url}/orders

401 — the same request with an expired token:
curl -i -H 'Authorization: Bearer ${expired}' ${url}/orders

403 — a valid token without the read:orders scope:
curl -i -H 'Authorization: Bearer ${noScope}' ${url}/orders

Browser demo (cookie mode, HttpOnly cookie + CSRF defence): open ${browser.url}/
  then, signed in, visit a page on another origin that tries to place an order with your
  cookie: ${otherOrigin.url}/

Press Ctrl+C to stop.`)

const stop = () => {
  void Promise.all([otherOrigin.close(), browser.close()])
    .then(() => example.close())
    .then(() => process.exit(0))
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
