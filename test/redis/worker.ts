/**
 * One API process for the multi-process tests: an Express API (see `startApi`) whose verifier
 * uses a Redis denylist on its own connection. Configured by the environment (REDIS_PORT,
 * ISSUER_URL, JWKS_URI, CLIENT = one of the harness client names, PREFIX); prints
 * `{"url": …}` on stdout once the denylist is loaded; shuts down cleanly on SIGTERM.
 */
import { redisDenylist } from '../../src/redis/index.js'
import { CLIENTS, startApi } from './harness.js'

const env = (name: string) => {
  const value = process.env[name]
  if (!value) throw new Error(`worker: ${name} is not set`)
  return value
}

const factory = CLIENTS.find((candidate) => candidate.name === env('CLIENT'))
if (!factory) throw new Error(`worker: unknown CLIENT ${env('CLIENT')}`)
const client = await factory.connect(Number(env('REDIS_PORT')))
const denylist = redisDenylist({ client: client.client, prefix: env('PREFIX') })
await denylist.ready()
const api = await startApi(denylist, { url: env('ISSUER_URL'), jwksUri: env('JWKS_URI') })
process.stdout.write(`${JSON.stringify({ url: api.url, pid: process.pid })}\n`)

process.once('SIGTERM', () => {
  void (async () => {
    await api.close()
    await denylist.close()
    await client.close()
    process.exitCode = 0
  })()
})
