/**
 * Child process of the memory section (run with `--expose-gc`): the verified-token cache's bytes
 * per entry, and the heap after a stream of distinct tokens far larger than the cache. Prints
 * one JSON line.
 *
 *   node --expose-gc --import tsx bench/memory-probe.ts <cacheSize> <distinctTokens>
 */
import { createVerifier } from 'jwt-gate'
import { hmacToken } from '../test/helpers/tokens.js'

const [cacheSize = 10_000, total = 1_000_000] = process.argv.slice(2).map(Number)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')

const issuer = 'https://id.bench.test/'
const audience = 'https://api.bench.test'
const secret = 'memory-probe-secret-of-more-than-32-bytes'
const now = Math.floor(Date.now() / 1000)

/** A typical access token (about 330 characters): distinct `sub` and `jti` per index. */
function token(index: number): string {
  const payload = {
    iss: issuer,
    aud: audience,
    sub: `user-${index}`,
    scope: 'read:orders write:orders',
    iat: now,
    exp: now + 3600,
    jti: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
  }
  return hmacToken({ alg: 'HS256', typ: 'JWT' }, payload, secret)
}

function heap(): number {
  gc!()
  gc!()
  return process.memoryUsage().heapUsed
}

const verifier = createVerifier({ issuer, audience, secret, cache: { tokens: cacheSize } })
await verifier.verify(token(-1)) // warm the code paths before the baseline
const baseline = heap()
for (let i = 0; i < cacheSize; i++) await verifier.verify(token(i))
const full = heap()
let peak = full
for (let i = cacheSize; i < cacheSize + total; i++) {
  await verifier.verify(token(i))
  if (i % 100_000 === 0) peak = Math.max(peak, heap())
}
const after = heap()
process.stdout.write(
  `${JSON.stringify({
    cacheSize,
    total,
    tokenLength: token(0).length,
    baselineBytes: baseline,
    fullBytes: full,
    afterBytes: after,
    peakBytes: peak,
    bytesPerEntry: (full - baseline) / cacheSize,
  })}\n`,
)
await verifier.close()
