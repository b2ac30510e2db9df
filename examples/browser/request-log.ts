/**
 * The browser demo's response headers and request log: a strict Content-Security-Policy on
 * every response, `no-store` on the API and session routes, and a record of each of those
 * requests (what the browser sent, what the API answered) for the page and the browser test.
 */
import type { RequestHandler } from 'express'

/** One API request as the demo saw it: what the browser sent and what the API answered. */
export interface ApiLogEntry {
  method: string
  path: string
  origin: string | undefined
  secFetchSite: string | undefined
  /** Whether the request carried the demo's cookie. */
  hadCookie: boolean
  status: number
  /** jwt-gate's `reason` when the request was refused. */
  reason: string | undefined
}

/** Middleware: the headers, and an entry in `log` (the last 1000) per API or session request. */
export function securityHeadersAndLog(log: ApiLogEntry[], cookieName: string): RequestHandler {
  return (req, res, next) => {
    res.set({
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
    })
    if (/^\/(api|login|logout)(\/|$)/.test(req.path)) {
      res.set('Cache-Control', 'no-store')
      res.on('finish', () => {
        if (log.length >= 1000) log.shift()
        log.push({
          method: req.method,
          path: req.path,
          origin: req.get('origin'),
          secFetchSite: req.get('sec-fetch-site'),
          hadCookie: (req.get('cookie') ?? '').split(';').some((pair) => {
            return pair.trim().startsWith(`${cookieName}=`)
          }),
          status: res.statusCode,
          reason: typeof res.locals.reason === 'string' ? res.locals.reason : undefined,
        })
      })
    }
    next()
  }
}
