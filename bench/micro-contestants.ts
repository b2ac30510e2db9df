/**
 * The contestants of the micro benchmark, each configured the way its documentation shows,
 * with the same checks: signature, the one algorithm, `iss`, `aud` and `exp` (the floor checks
 * the signature only). Asynchronous APIs are awaited one call at a time, as a request handler
 * would; synchronous ones are called directly.
 */
import { importJWK, jwtVerify, type CryptoKey } from 'jose'
import {
  createVerifier as createFastJwtVerifier,
  type Algorithm as FastJwtAlgorithm,
} from 'fast-jwt'
import jsonwebtoken, { type Algorithm as JsonWebTokenAlgorithm } from 'jsonwebtoken'
import { createVerifier, type Denylist } from 'jwt-gate'
import { AUDIENCE, type Fixture } from './fixtures.js'
import { createFloorVerifier } from './floor.js'

/** What a contestant is, for ratios: the floor, jwt-gate, or a peer library. */
export type ContestantKind = 'floor' | 'jwt-gate' | 'peer'

/** One way of verifying a token. */
export interface MicroContestant {
  /** Stable identifier, used in JSON output and the chart. */
  readonly id: string
  /** Row label in the tables. */
  readonly label: string
  readonly kind: ContestantKind
  /** Whether it keeps a verified-token cache. */
  readonly cache: boolean
  /** Whether `verify` returns a promise (then it is awaited per call). */
  readonly async: boolean
  /** Verify one token; throws or rejects when it is not valid. */
  readonly verify: (token: string) => unknown
  /** The `sub` claim out of `verify`'s result (for the correctness check). */
  readonly subject: (result: unknown) => unknown
  /** Release timers and caches. */
  readonly close?: () => Promise<void>
}

/** A contestant that could not be run for this algorithm, and why. */
export interface Unavailable {
  readonly label: string
  readonly reason: string
}

/** Size of every verified-token cache in the comparison (jwt-gate's default). */
export const TOKEN_CACHE_SIZE = 10_000

type Builder = () => Promise<MicroContestant> | MicroContestant

/**
 * Build and check every contestant for `fixture`'s algorithm. A contestant that cannot be built,
 * rejects the first valid token, or accepts a tampered one is left out, with the reason.
 */
export async function createMicroContestants(
  fixture: Fixture,
): Promise<{ contestants: MicroContestant[]; unavailable: Unavailable[] }> {
  const contestants: MicroContestant[] = []
  const unavailable: Unavailable[] = []
  for (const [label, build] of builders(fixture)) {
    let contestant: MicroContestant | undefined
    try {
      contestant = await build()
      await checkCorrectness(contestant, fixture)
      contestants.push(contestant)
    } catch (error) {
      await contestant?.close?.()
      unavailable.push({ label, reason: error instanceof Error ? error.message : String(error) })
    }
  }
  return { contestants, unavailable }
}

/**
 * Accept the first token with the right `sub`; reject the tampered one; and, for libraries (the
 * floor checks signatures only), reject another audience and an expired token, so every library
 * is known to do the same checks.
 */
async function checkCorrectness(contestant: MicroContestant, fixture: Fixture): Promise<void> {
  const subject = contestant.subject(await contestant.verify(fixture.tokens[0]!))
  if (subject !== 'user-0') throw new Error(`returned sub ${String(subject)} for a valid token`)
  const hostile: [string, string][] = [['a tampered signature', fixture.tampered]]
  if (contestant.kind !== 'floor') {
    hostile.push(['another audience', fixture.wrongAudience], ['an expired token', fixture.expired])
  }
  for (const [what, token] of hostile) {
    let accepted = true
    try {
      await contestant.verify(token)
    } catch {
      accepted = false
    }
    if (accepted) throw new Error(`accepted ${what}`)
  }
}

function builders(fixture: Fixture): [string, Builder][] {
  const { alg, issuer } = fixture
  const payloadSub = (result: unknown) => (result as { payload: { sub?: unknown } }).payload.sub
  const directSub = (result: unknown) => (result as { sub?: unknown }).sub

  const gate = (id: string, label: string, cache: boolean, denylist?: Denylist): Builder => {
    return () => {
      const keySource =
        issuer.secret !== undefined ? { secret: issuer.secret } : { jwksUri: issuer.jwksUri }
      const verifier = createVerifier({
        issuer: issuer.url,
        audience: AUDIENCE,
        algorithms: [alg],
        ...keySource,
        cache: cache ? { tokens: TOKEN_CACHE_SIZE } : false,
        ...(denylist ? { denylist } : {}),
      })
      return {
        id,
        label,
        kind: 'jwt-gate',
        cache,
        async: true,
        verify: (token) => verifier.verify(token),
        subject: payloadSub,
        close: () => verifier.close(),
      }
    }
  }

  const fastJwt = (cache: boolean): Builder => {
    return () => {
      const verify = createFastJwtVerifier({
        key: fixture.pemOrSecret,
        algorithms: [alg as FastJwtAlgorithm],
        allowedIss: issuer.url,
        allowedAud: AUDIENCE,
        cache: cache ? TOKEN_CACHE_SIZE : false,
      })
      return {
        id: cache ? 'fast-jwt+cache' : 'fast-jwt',
        label: cache ? `fast-jwt (cache ${TOKEN_CACHE_SIZE})` : 'fast-jwt',
        kind: 'peer',
        cache,
        async: false,
        verify: (token) => verify(token),
        subject: directSub,
      }
    }
  }

  // An in-memory denylist that answers synchronously: the cost of consulting it on every hit.
  const revoked = new Set<string>()
  const memoryDenylist: Denylist = { isRevoked: (payload) => revoked.has(payload.jti!) }

  return [
    [
      'node:crypto floor',
      () => ({
        id: 'floor',
        label: 'node:crypto floor',
        kind: 'floor',
        cache: false,
        async: false,
        verify: createFloorVerifier(alg, fixture.keyObject),
        subject: payloadSub,
      }),
    ],
    ['jwt-gate', gate('jwt-gate', 'jwt-gate', false)],
    ['jwt-gate (cache)', gate('jwt-gate+cache', 'jwt-gate (cache)', true)],
    [
      'jwt-gate (cache + denylist)',
      gate('jwt-gate+cache+denylist', 'jwt-gate (cache + denylist)', true, memoryDenylist),
    ],
    ['fast-jwt', fastJwt(false)],
    [`fast-jwt (cache ${TOKEN_CACHE_SIZE})`, fastJwt(true)],
    [
      'jose jwtVerify',
      async () => {
        const key: CryptoKey | Uint8Array =
          issuer.secret !== undefined
            ? new TextEncoder().encode(issuer.secret)
            : await importJWK(fixture.jwk!, alg)
        const options = { issuer: issuer.url, audience: AUDIENCE, algorithms: [alg] }
        return {
          id: 'jose',
          label: 'jose jwtVerify',
          kind: 'peer',
          cache: false,
          async: true,
          verify: (token) => jwtVerify(token, key, options),
          subject: payloadSub,
        }
      },
    ],
    [
      'jsonwebtoken (PEM)',
      () => {
        const options = {
          algorithms: [alg as JsonWebTokenAlgorithm],
          issuer: issuer.url,
          audience: AUDIENCE,
        }
        return {
          id: 'jsonwebtoken',
          label: 'jsonwebtoken (PEM)',
          kind: 'peer',
          cache: false,
          async: false,
          verify: (token) => jsonwebtoken.verify(token, fixture.pemOrSecret, options),
          subject: directSub,
        }
      },
    ],
  ]
}
