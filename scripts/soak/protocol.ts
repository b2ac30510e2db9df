/**
 * What the soak's two kinds of process share: the token classes, the messages between the
 * orchestrator (scripts/soak.ts) and its loaders (loader.ts), and the statistics a loader sends
 * back.
 */

/** The signing algorithms the soak can run with. */
export type Alg = 'EdDSA' | 'ES256' | 'RS256'

/** What kind of token a request carries, and so which answer it deserves. */
export type TokenClass =
  | 'valid'
  | 'reused'
  | 'revoked-jti'
  | 'revoked-mid-run'
  | 'revoked-subject'
  | 'expired'
  | 'forged'
  | 'tampered'

/** Classes whose tokens reach the denylist (and so may see 503 while Redis is out). */
export const REACHES_DENYLIST = new Set<TokenClass>([
  'valid',
  'reused',
  'revoked-jti',
  'revoked-mid-run',
  'revoked-subject',
])

/** `iss` of every soak token. */
export const ISSUER = 'https://id.soak.example/'
/** `aud` of every soak token. */
export const AUDIENCE = 'https://api.soak.example'

/** The identity provider's signing key, as handed to a loader (a PEM crosses the IPC channel). */
export interface SigningKey {
  kid: string
  pem: string
}

/** Everything one loader needs to mint its share of tokens and judge the answers. */
export interface LoaderConfig {
  id: number
  url: string
  issuer: string
  audience: string
  alg: Alg
  key: SigningKey
  attackerPem: string
  revokedJtis: string[]
  revokedSubject: string
  subjectRevokedBefore: number
  rate: number
  concurrency: number
  reuse: number
}

/** What one loader saw. */
export interface LoaderStats {
  sent: number
  behind: number
  networkErrors: number
  /** class → status → count */
  answers: Record<string, Record<string, number>>
  wrong: number
  wrongSamples: string[]
  /** [epoch ms, class] of every 5xx answer. */
  fiveXX: Array<[number, TokenClass]>
  /** Answers per whole second since the run started. */
  perSecond: number[]
  /** Latency histogram: bucket i counts answers in [2^i, 2^(i+1)) ms (bucket 0: < 2 ms). */
  latency: number[]
}

/** Orchestrator → loader. */
export type ToLoader =
  | { type: 'config'; config: LoaderConfig }
  | { type: 'warmup'; tokens: number }
  | { type: 'run'; startAt: number; durationMs: number }
  | { type: 'rotate'; key: SigningKey }
  | { type: 'revoked'; jtis: string[]; usableAt: number }

/** Loader → orchestrator. */
export type FromLoader =
  { type: 'ready' } | { type: 'warmed'; stats: LoaderStats } | { type: 'done'; stats: LoaderStats }

/** Stats with nothing counted yet. */
export function emptyStats(): LoaderStats {
  return {
    sent: 0,
    behind: 0,
    networkErrors: 0,
    answers: {},
    wrong: 0,
    wrongSamples: [],
    fiveXX: [],
    perSecond: [],
    latency: [],
  }
}
