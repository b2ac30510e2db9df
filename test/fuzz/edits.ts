/**
 * Edits an attacker makes to a token's decoded header and payload: algorithm swaps, key
 * pointers, critical extensions, hostile claim values and deleted claims. Each carries a label
 * for the counterexample report. mutations.ts re-signs the edited segments wrongly.
 */
import fc from 'fast-check'
import { AUDIENCE, ISSUER, keyRing } from './token-families.js'

/** An edit of a decoded header or payload, and its label. */
export interface Edit {
  label: string
  edit: (segment: Record<string, unknown>) => unknown
}

const ALGS = [
  'none',
  'None',
  'NONE',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'Ed448',
  'RSA-OAEP',
  'dir',
  '',
]

/** JSON values that break type rules, shapes or trust (advisory classes of other libraries). */
const hostileValue = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    1e308,
    '',
    [],
    {},
    [ISSUER],
    [AUDIENCE],
    'admin',
    ISSUER,
    AUDIENCE,
    9_999_999_999,
    'https://evil.example.com/',
  ),
  fc.jsonValue({ maxDepth: 2 }),
)

/** Header edits. */
export const headerEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.constantFrom(...ALGS).map((alg) => ({
    label: `alg=${alg}`,
    edit: (h: Record<string, unknown>) => ({ ...h, alg }),
  })),
  fc
    .constantFrom<unknown>('rsa-1', 'ec-1', 'ed-1', 'unknown', 7, null, 'k'.repeat(300))
    .map((kid) => ({
      label: `kid=${String(kid).slice(0, 12)}`,
      edit: (h: Record<string, unknown>) => ({ ...h, kid }),
    })),
  fc.constant({
    label: 'embedded jwk',
    edit: (h: Record<string, unknown>) => ({ ...h, jwk: keyRing().attacker.rsa.jwk }),
  }),
  fc.constantFrom('jku', 'x5u').map((name) => ({
    label: name,
    edit: (h: Record<string, unknown>) => ({ ...h, [name]: 'http://127.0.0.1:9/keys' }),
  })),
  fc.constantFrom<unknown>(['exp'], [], 'b64', ['b64'], ['alg'], ['x-unknown']).map((crit) => ({
    label: `crit=${JSON.stringify(crit)}`,
    edit: (h: Record<string, unknown>) => ({ ...h, crit, 'x-unknown': 1 }),
  })),
  fc.constant({
    label: 'b64=false',
    edit: (h: Record<string, unknown>) => ({ ...h, b64: false, crit: ['b64'] }),
  }),
  fc.constant({ label: 'no alg', edit: ({ alg: _alg, ...h }: Record<string, unknown>) => h }),
  fc.constant({ label: 'header array', edit: (h: Record<string, unknown>) => [h] }),
  fc.constant({ label: 'header null', edit: () => null }),
)

const REGISTERED = ['iss', 'aud', 'exp', 'nbf', 'iat', 'sub', 'jti', 'scope', 'scp'] as const

/** Payload edits. */
export const payloadEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...REGISTERED, 'role', '__proto__'), hostileValue)
    .map(([claim, value]) => ({
      label: `${claim}=${JSON.stringify(value)?.slice(0, 24)}`,
      edit: (p: Record<string, unknown>) => ({ ...p, [claim]: value }),
    })),
  fc.constantFrom(...REGISTERED).map((claim) => ({
    label: `delete ${claim}`,
    edit: (p: Record<string, unknown>) => {
      const copy = { ...p }
      delete copy[claim]
      return copy
    },
  })),
  fc.constant({ label: 'payload array', edit: (p: Record<string, unknown>) => [p] }),
  fc.constant({
    label: 'payload string',
    edit: (p: Record<string, unknown>) => JSON.stringify(p),
  }),
  fc.constant({ label: 'identity', edit: (p: Record<string, unknown>) => p }),
)
