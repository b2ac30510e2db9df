/**
 * The "attacker" of the browser demo: a page on another origin that tries to place an order on
 * the demo with the visitor's cookie, to watch jwt-gate's CSRF defence refuse it.
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { close, listen } from './listen.js'

const OTHER_ORIGIN_PAGE = new URL('./other-origin/index.html', import.meta.url)

/** Options of `startCrossOriginPage`. */
export interface CrossOriginPageOptions {
  /** The demo's URL (the origin whose cookie the page tries to use). */
  target: string
  /** Port to listen on. Default: a free one. */
  port?: number
  /**
   * Address to listen on. Default `'127.0.0.1'`: with the demo on 127.0.0.1 too, this page is a
   * different origin (another port) but the same site, so the browser does send the SameSite=Lax
   * cookie along, and only jwt-gate's CSRF check stands in the way. `'127.0.0.2'` makes it a
   * different site, where the browser itself withholds the cookie.
   */
  host?: string
}

/** A running page on another origin. */
export interface CrossOriginPage {
  /** The page, e.g. `http://127.0.0.1:5174`. */
  readonly url: string
  /** Point the page at another demo from now on (to start a demo that allows this origin). */
  retarget(target: string): void
  /** Stop its server. */
  close(): Promise<void>
}

/**
 * Serve a page on another origin that tries to place an order on `target` with the visitor's
 * cookie: once with `fetch(…, { credentials: 'include' })`, once with a plain HTML form.
 */
export async function startCrossOriginPage(
  options: CrossOriginPageOptions,
): Promise<CrossOriginPage> {
  const template = await readFile(OTHER_ORIGIN_PAGE, 'utf8')
  let target = new URL(options.target).origin
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // Inline script on purpose: this page is the "attacker", not part of the demo's origin.
        'content-security-policy': `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ${target}; form-action ${target}`,
      })
      .end(template.replaceAll('%TARGET%', target))
  })
  const url = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1')
  return {
    url,
    retarget(next: string) {
      target = new URL(next).origin
    },
    close: () => close(server),
  }
}
