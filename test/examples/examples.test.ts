/**
 * Every example starts and answers one real request; `npm start`'s demo prints curl lines that
 * give exactly the statuses it promises. The examples import the public specifiers, so this also
 * exercises the built package (`npm test` builds first).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, test } from 'node:test'
import { startExpressExample } from '../../examples/express.js'
import { startFastifyExample } from '../../examples/fastify.js'
import { startFetchExample } from '../../examples/fetch.js'
import { startKoaExample } from '../../examples/koa.js'
import { startMcpExample } from '../../examples/mcp-server.js'
import { startSharedVerifierExample } from '../../examples/shared-verifier.js'
import { bearer, send } from '../helpers/http.js'

describe('examples', () => {
  for (const [name, start] of [
    ['express', startExpressExample],
    ['koa', startKoaExample],
    ['fastify', startFastifyExample],
  ] as const) {
    test(`${name}: scoped route answers 200 with the scope, 403 without, 401 without a token`, async () => {
      const example = await start(0)
      try {
        const ok = await send(`${example.url}/orders`, {
          headers: bearer(await example.issuer.sign({ sub: 'u', scope: 'read:orders' })),
        })
        assert.equal(ok.status, 200)
        assert.equal(ok.json().orders[0].owner, 'u')
        const noScope = await send(`${example.url}/orders`, {
          headers: bearer(await example.issuer.sign({ sub: 'u' })),
        })
        assert.equal(noScope.status, 403)
        assert.equal((await send(`${example.url}/orders`)).status, 401)
        assert.equal((await send(`${example.url}/health`)).status, 200)
      } finally {
        await example.close()
      }
    })
  }

  test('fetch (Hono): a Fetch Request is verified; failures keep status and challenge', async () => {
    const example = await startFetchExample(0)
    try {
      const ok = await send(`${example.url}/me`, {
        headers: bearer(await example.issuer.sign({ sub: 'h' })),
      })
      assert.deepEqual(ok.json(), { sub: 'h' })
      const expired = await send(`${example.url}/me`, {
        headers: bearer(await example.issuer.sign({}, { expiresIn: -5 })),
      })
      assert.equal(expired.status, 401)
      assert.match(String(expired.headers['www-authenticate']), /error="invalid_token"/)
    } finally {
      await example.close()
    }
  })

  test('MCP server: a client finds the metadata from the 401, gets a token for the resource, calls a tool', async () => {
    const example = await startMcpExample(0)
    try {
      const call = (token?: string, path = '/mcp') =>
        send(`${example.url}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token === undefined ? {} : bearer(token)),
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call' }),
        })
      // 1. No token: the challenge points at the metadata document.
      const anonymous = await call()
      assert.equal(anonymous.status, 401)
      const challenge = String(anonymous.headers['www-authenticate'])
      const [, metadataUrl] = /resource_metadata="([^"]+)"/.exec(challenge)!
      assert.equal(metadataUrl, `${example.url}/.well-known/oauth-protected-resource/mcp`)
      // 2. The document names the resource and its authorization server.
      const metadata = (await send(metadataUrl)).json()
      assert.equal(metadata.resource, example.resource)
      assert.deepEqual(metadata.authorization_servers, [example.issuer.url])
      // 3. A token for that resource (aud) with the scope works; for another audience it does not.
      const token = await example.issuer.sign(
        { sub: 'agent', scope: 'mcp:tools' },
        { audience: metadata.resource },
      )
      const ok = await call(token)
      assert.equal(ok.status, 200)
      assert.equal(ok.json().result.content[0].text, 'You are agent.')
      const elsewhere = await example.issuer.sign(
        { scope: 'mcp:tools' },
        { audience: 'https://other.example.com' },
      )
      assert.equal((await call(elsewhere)).status, 401)
      // The admin tool asks for a step-up.
      const admin = await example.issuer.sign(
        { scope: 'mcp:admin', acr: 'urn:example:pwd' },
        { audience: metadata.resource },
      )
      const stepUp = await call(admin, '/mcp/admin')
      assert.equal(stepUp.status, 401)
      assert.match(
        String(stepUp.headers['www-authenticate']),
        /error="insufficient_user_authentication".*acr_values="urn:example:mfa", max_age="600"/,
      )
    } finally {
      await example.close()
    }
  })

  test('shared verifier: three frameworks, one JWKS fetch', async () => {
    const example = await startSharedVerifierExample()
    try {
      const token = await example.issuer.sign({ sub: 'shared' })
      for (const url of Object.values(example.urls)) {
        const response = await send(url, { headers: bearer(token) })
        assert.equal(response.status, 200)
        assert.equal(response.json().sub, 'shared')
      }
      assert.equal(example.issuer.jwksRequests, 1)
    } finally {
      await example.close()
    }
  })

  test('npm start: the demo prints curl lines for 200, 401 and 403 that do what they say', async () => {
    const root = new URL('../..', import.meta.url).pathname
    const demo = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PORT: '0' },
    })
    try {
      let output = ''
      await new Promise<void>((resolve, reject) => {
        demo.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString()
          if (output.includes('Ctrl+C')) resolve()
        })
        demo.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)))
      })
      const curls = output.split('\n').filter((line) => line.startsWith('curl '))
      assert.equal(curls.length, 3)
      const statuses = []
      for (const line of curls) {
        const [, token, url] = /-H 'Authorization: Bearer ([^']+)' (\S+)$/.exec(line)!
        statuses.push((await send(url!, { headers: bearer(token!) })).status)
      }
      assert.deepEqual(statuses, [200, 401, 403])
    } finally {
      demo.kill('SIGTERM')
    }
  })
})
