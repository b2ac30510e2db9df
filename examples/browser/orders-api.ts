/**
 * The browser demo's API, guarded by `jwt-gate/express` in cookie mode:
 *
 *   GET  /api/me       the verified claims
 *   GET  /api/orders   the orders placed so far (scope read:orders)
 *   POST /api/orders   place an order (scope write:orders); a state-changing cookie request, so
 *                      jwt-gate refuses it unless it comes from this origin (or `allowedOrigins`)
 */
import express, { type Express, type RequestHandler } from 'express'
import { requireScopes } from 'jwt-gate/express'

/** An order placed through the API. */
export interface Order {
  id: number
  item: string
  by: string | undefined
  at: string
}

/** Add the /api routes to `app`, each behind `auth`; placed orders go into `orders`. */
export function addOrdersApi(app: Express, auth: RequestHandler, orders: Order[]): void {
  app.get('/api/me', auth, (req, res) => {
    const payload = req.auth!.payload
    res.json({ sub: payload.sub, scope: payload.scope ?? '', claims: payload })
  })
  app.get('/api/orders', auth, requireScopes('read:orders'), (_req, res) => {
    res.json({ orders })
  })
  app.post(
    '/api/orders',
    auth,
    requireScopes('write:orders'),
    express.json({ limit: '1kb' }),
    (req, res) => {
      const requested = (req.body as { item?: unknown } | undefined)?.item
      const item = typeof requested === 'string' && requested !== '' ? requested.slice(0, 40) : '☕'
      const order: Order = {
        id: orders.length + 1,
        item,
        by: req.auth!.payload.sub,
        at: new Date().toISOString(),
      }
      orders.push(order)
      res.status(201).json({ order, total: orders.length })
    },
  )
  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'No such API route.' })
  })
}
