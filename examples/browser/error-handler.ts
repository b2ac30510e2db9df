/**
 * How the browser demo answers errors. jwt-gate's AuthError carries status, code, reason and
 * the WWW-Authenticate challenge: answer with all of them so the page can show each error
 * exactly as the API returned it.
 */
import type { ErrorRequestHandler } from 'express'
import { isAuthError } from 'jwt-gate'

/** Express error handler: AuthErrors as JSON with their headers; other 4xx as a short message. */
export const answerErrors: ErrorRequestHandler = (err, _req, res, next) => {
  if (isAuthError(err)) {
    res.locals.reason = err.reason
    res
      .status(err.status)
      .set(err.headers)
      .json({
        status: err.status,
        error: err.code,
        reason: err.reason,
        message: err.expose ? err.message : 'Service unavailable',
      })
    return
  }
  const status = (err as { status?: unknown }).status
  if (typeof status === 'number' && status >= 400 && status < 500) {
    res.status(status).json({ error: 'invalid_request', message: 'Malformed request.' })
    return
  }
  next(err)
}
