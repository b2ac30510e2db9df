/**
 * An MCP-style HTTP endpoint guarded by jwt-gate, discoverable the way MCP clients discover
 * their authorization server (MCP authorization spec, RFC 9728):
 *
 *   1. the client POSTs to /mcp without a token → 401 with
 *      `WWW-Authenticate: Bearer realm="…", resource_metadata="<origin>/.well-known/oauth-protected-resource/mcp"`
 *   2. it GETs that document → `resource`, `authorization_servers`, `scopes_supported`
 *   3. it gets a token for `resource` (RFC 8707 resource indicator) from the authorization
 *      server and calls /mcp again.
 *
 * A test issuer stands in for the authorization server. The JSON-RPC handling is the smallest
 * that shows the flow (initialize, tools/list, tools/call), not a full MCP implementation.
 *
 * Run it: `node --import tsx examples/mcp-server.ts` (after `npm run build`).
 */
import express, { type ErrorRequestHandler } from 'express'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isAuthError } from 'jwt-gate'
import {
  protectedResourceMetadata,
  requireAuthLevel,
  requireJwt,
  requireScopes,
} from 'jwt-gate/express'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

/** A running MCP example: its URLs, its issuer, and how to stop both. */
export interface RunningMcpExample {
  /** The server's origin, `http://127.0.0.1:<port>`. */
  url: string
  /** The resource identifier: `<url>/mcp`, the audience clients ask tokens for. */
  resource: string
  issuer: TestIssuer
  close(): Promise<void>
}

/** One JSON-RPC request as MCP sends it. */
interface JsonRpcRequest {
  jsonrpc: '2.0'
  id?: string | number
  method: string
  params?: { name?: string }
}

/** Start the issuer and the MCP server on free loopback ports (or `port`). */
export async function startMcpExample(port = 0): Promise<RunningMcpExample> {
  const issuer = await createTestIssuer({ alg: 'ES256' })
  // The resource identifier is the endpoint's own URL, so the port must be known first.
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const resource = `${url}/mcp`

  const auth = requireJwt({ issuer: issuer.url, jwksUri: issuer.jwksUri, resource })
  const app = express()
  // Public: the document clients read to find the authorization server.
  app.use(
    protectedResourceMetadata(auth.verifier, {
      authorizationServers: [issuer.url],
      scopesSupported: ['mcp:tools', 'mcp:admin'],
      resourceName: 'jwt-gate example MCP server',
    }),
  )
  app.post('/mcp', auth, requireScopes('mcp:tools'), express.json(), (req, res) => {
    const call = req.body as JsonRpcRequest
    const reply = (result: unknown) => res.json({ jsonrpc: '2.0', id: call.id ?? null, result })
    switch (call.method) {
      case 'initialize':
        return reply({
          protocolVersion: '2025-06-18',
          serverInfo: { name: 'jwt-gate-example', version: '1.0.0' },
          capabilities: { tools: {} },
        })
      case 'tools/list':
        return reply({ tools: [{ name: 'whoami', inputSchema: { type: 'object' } }] })
      case 'tools/call':
        return reply({
          content: [{ type: 'text', text: `You are ${String(req.auth?.payload.sub)}.` }],
        })
      default:
        return res.status(400).json({
          jsonrpc: '2.0',
          id: call.id ?? null,
          error: { code: -32601, message: 'Method not found' },
        })
    }
  })
  // An administrative endpoint wants a fresh multi-factor login (RFC 9470 step-up).
  app.post(
    '/mcp/admin',
    auth,
    requireScopes('mcp:admin'),
    requireAuthLevel({ acr: ['urn:example:mfa'], maxAge: '10m' }),
    (_req, res) => res.json({ ok: true }),
  )

  const answerAuthErrors: ErrorRequestHandler = (error, _req, res, next) => {
    if (!isAuthError(error)) return next(error)
    res.status(error.status).set(error.headers).json({ error: error.code })
  }
  app.use(answerAuthErrors)
  server.on('request', app)

  return {
    url,
    resource,
    issuer,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await auth.verifier.close()
      await issuer.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startMcpExample(Number(process.env.PORT ?? 3000))
  const token = await example.issuer.sign(
    { sub: 'demo', scope: 'mcp:tools' },
    { audience: example.resource, expiresIn: '1h' },
  )
  console.log(`MCP endpoint: POST ${example.resource}`)
  console.log(`metadata:     ${example.url}/.well-known/oauth-protected-resource/mcp`)
  console.log(
    `try: curl -i -X POST -H 'content-type: application/json' -H 'authorization: Bearer ${token}' -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' ${example.resource}`,
  )
}
