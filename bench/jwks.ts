/**
 * JWKS scenarios: what each library does to the identity provider, and to valid users, when
 * keys change or attackers send made-up `kid`s. Counts, not speed: JWKS fetches are read off
 * the test issuer's own request counter, and every verification's outcome is counted. RS256.
 *
 * (a) rotation: the JWKS was just fetched; the issuer rotates; N concurrent verifications of
 *     distinct tokens signed with the new key. Wanted: 1 fetch, N accepted.
 * (b) garbage kids: N concurrent verifications, each token with its own unknown `kid`. Wanted:
 *     at most 1 fetch, all N rejected, quickly.
 * (c) rotation right after a garbage-kid refetch: as (a), but one garbage-kid token came first,
 *     so an unknown-kid refetch has just happened. API.md: "no valid token is rejected merely
 *     because another fetch happened a moment ago".
 */
import { randomUUID } from 'node:crypto'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'
import { AUDIENCE, signMany } from './fixtures.js'
import { JWKS_CONTESTANTS, type JwksContestant } from './jwks-contestants.js'
import type { JwksSettings } from './settings.js'

/** The three scenarios. */
export type JwksScenario = 'rotation' | 'garbage-kids' | 'rotation-after-garbage'

/** One contestant in one scenario. */
export interface JwksRow {
  scenario: JwksScenario
  id: string
  label: string
  via: string
  kind: JwksContestant['kind']
  /** JWKS requests the issuer served during the burst. */
  fetches: number
  accepted: number
  rejected: number
  /** Still unsettled when the timeout expired. */
  pending: number
  /** Milliseconds from dispatching the burst until the last verification settled. */
  ms: number
  /** What the most common rejection said (for the report). */
  firstError?: string
  requests: number
}

/** Everything the JWKS scenarios measured. */
export interface JwksResult {
  rows: JwksRow[]
  unavailable: { label: string; reason: string }[]
  requests: number
}

/**
 * Run every scenario. Per scenario, one fresh issuer serves every contestant: all of them fetch
 * the JWKS first, then the key changes once, then each contestant gets its burst in turn, so
 * the issuer's request counter, read before and after each burst, counts that contestant only.
 */
export async function runJwks(
  settings: JwksSettings,
  log: (line: string) => void,
): Promise<JwksResult> {
  const rows: JwksRow[] = []
  const scenarios: JwksScenario[] = ['rotation', 'garbage-kids', 'rotation-after-garbage']
  for (const scenario of scenarios) {
    const started = Date.now()
    rows.push(...(await runScenario(scenario, settings)))
    log(`jwks ${scenario}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
  return {
    rows,
    unavailable: [
      {
        label: 'fast-jwt (and @fastify/jwt) with a JWKS',
        reason: 'needs the get-jwks package, which is not among our devDependencies',
      },
    ],
    requests: settings.requests,
  }
}

async function runScenario(scenario: JwksScenario, settings: JwksSettings): Promise<JwksRow[]> {
  const issuer = await createTestIssuer({ alg: 'RS256', audience: AUDIENCE })
  const verifiers = JWKS_CONTESTANTS.map((contestant) => contestant.create(issuer))
  try {
    const [first] = await signMany(issuer, 1)
    // Every contestant has just fetched the JWKS.
    for (const verifier of verifiers) await verifier.verify(first!)
    let tokens: string[]
    if (scenario === 'garbage-kids') {
      tokens = withGarbageKids(first!, settings.requests)
    } else {
      if (scenario === 'rotation-after-garbage') {
        const [garbage] = withGarbageKids(first!, 1)
        for (const verifier of verifiers) await verifier.verify(garbage!).catch(() => undefined)
      }
      await issuer.rotate()
      tokens = await signMany(issuer, settings.requests)
    }
    const rows: JwksRow[] = []
    for (const [index, contestant] of JWKS_CONTESTANTS.entries()) {
      const verifier = verifiers[index]!
      rows.push({
        scenario,
        id: contestant.id,
        label: contestant.label,
        via: contestant.via,
        kind: contestant.kind,
        requests: settings.requests,
        ...(await burst(issuer, tokens, (token) => verifier.verify(token), settings.timeoutMs)),
      })
    }
    return rows
  } finally {
    for (const verifier of verifiers) await verifier.close()
    await issuer.close()
  }
}

/**
 * `count` tokens that differ from `token` only by a random `kid` in the header. Their signatures
 * no longer match, which no contestant gets far enough to notice: the key lookup comes first.
 */
function withGarbageKids(token: string, count: number): string[] {
  const [encodedHeader, rest] = [
    token.slice(0, token.indexOf('.')),
    token.slice(token.indexOf('.')),
  ]
  const header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8')) as object
  return Array.from(
    { length: count },
    () =>
      Buffer.from(JSON.stringify({ ...header, kid: randomUUID() })).toString('base64url') + rest,
  )
}

/** Verify every token at once; count fetches and outcomes until all settle or time runs out. */
async function burst(
  issuer: TestIssuer,
  tokens: readonly string[],
  verify: (token: string) => Promise<unknown>,
  timeoutMs: number,
): Promise<Omit<JwksRow, 'scenario' | 'id' | 'label' | 'via' | 'kind' | 'requests'>> {
  const fetchesBefore = issuer.jwksRequests
  let accepted = 0
  let rejected = 0
  const errors = new Map<string, number>()
  const begin = performance.now()
  let last = begin
  const all = Promise.all(
    tokens.map((token) =>
      verify(token).then(
        () => {
          accepted++
          last = performance.now()
        },
        (error: unknown) => {
          rejected++
          last = performance.now()
          const message = error instanceof Error ? error.message : String(error)
          errors.set(message, (errors.get(message) ?? 0) + 1)
        },
      ),
    ),
  )
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
  })
  await Promise.race([all, timeout])
  clearTimeout(timer)
  const pending = tokens.length - accepted - rejected
  const common = [...errors].sort((a, b) => b[1] - a[1])[0]
  return {
    fetches: issuer.jwksRequests - fetchesBefore,
    accepted,
    rejected,
    pending,
    ms: (pending > 0 ? performance.now() : last) - begin,
    ...(common ? { firstError: common[0] } : {}),
  }
}
