/**
 * (2) Which trusted issuer a token's `iss` selects, before any key is looked up: an `iss`
 * outside the trusted set is refused without a single network request, and each issuer's keys
 * verify only tokens that claim that issuer.
 *
 * - A fixed list (the top-level options, or `issuers: [...]`): one map lookup.
 * - A resolver (`issuers: (iss) => settings | undefined`, for tenants kept in a database): asked
 *   once per `iss`, concurrent requests sharing the one call; its answer (found or not) is kept
 *   for the verifier's life in a bounded LRU, and a trust pushed out of it releases its keys. A
 *   resolver that throws, returns unusable settings or does not answer within
 *   `remoteKeys.fetchTimeout` fails the request with 503 and is asked again next time.
 */
import { LRUCache } from 'lru-cache'
import { withDeadline } from '../deadline.js'
import { SourceUnavailableError } from '../errors.js'
import { ALGORITHMS, type AlgorithmSpec } from '../jws/algorithms.js'
import { toSpecs } from '../jws/jwk-set.js'
import { createKeySource, type KeySource } from '../keys/key-source.js'
import type { JwksCacheSettings } from '../keys/jwks-cache.js'
import type { IssuerResolver, JwtPayload } from '../types.js'
import { readIssuerSettings, type IssuerDefaults, type TrustConfig } from './issuer-settings.js'

/** A trusted issuer, ready: its rules and its keys. */
export interface Trust extends TrustConfig {
  readonly keys: KeySource
}

/** Finds the trust for a token's issuer. */
export interface TrustSelector {
  /**
   * The trust `iss` selects for this token (a template entry also needs the token's `tid`);
   * undefined when the issuer is not trusted. A promise only while a resolver is asked.
   * Rejects with `SourceUnavailableError` when the resolver fails.
   */
  select(iss: string, payload: Readonly<JwtPayload>): Trust | undefined | Promise<Trust | undefined>
  /** Every algorithm some trust may allow: the decoder's first filter. */
  readonly algorithms: ReadonlyMap<string, AlgorithmSpec>
  /**
   * Fetch every listed issuer's keys now (`verifier.ready()`); rejects with
   * `SourceUnavailableError` when some cannot be had. A resolver knows no issuer in advance.
   */
  ready(): Promise<void>
  /** Release every trust's keys. */
  close(): void
}

/** Issuers a resolver's answers are remembered for, at most (found or not). */
export const MAX_RESOLVED_ISSUERS = 1000

/** Build the selector for a fixed list of trusted issuers. Throws `TypeError` on overlaps. */
export function createFixedSelector(
  configs: readonly TrustConfig[],
  remote: JwksCacheSettings,
): TrustSelector {
  const byIssuer = new Map<string, Trust>()
  const algorithms = new Map<string, AlgorithmSpec>()
  const trusts = configs.map((config) => toTrust(config, remote))
  for (const trust of trusts) {
    for (const issuer of trust.issuers.keys()) {
      if (byIssuer.has(issuer)) throw new TypeError(`issuer "${issuer}" is listed twice`)
      byIssuer.set(issuer, trust)
    }
    for (const [name, spec] of trust.algorithms) algorithms.set(name, spec)
  }
  return {
    algorithms,
    select: (iss, payload) => matchTenant(byIssuer.get(iss), iss, payload),
    ready: () => Promise.all(trusts.map((trust) => trust.keys.ready())).then(() => undefined),
    close() {
      for (const trust of trusts) trust.keys.close()
    },
  }
}

/** Build the selector that asks `resolver` about each new issuer. */
export function createResolverSelector(
  resolver: IssuerResolver,
  defaults: IssuerDefaults,
  remote: JwksCacheSettings,
): TrustSelector {
  const NOT_TRUSTED = Symbol('not trusted')
  const answers = new LRUCache<string, Trust | typeof NOT_TRUSTED>({
    max: MAX_RESOLVED_ISSUERS,
    dispose: (answer) => {
      if (answer !== NOT_TRUSTED) answer.keys.close()
    },
  })
  const asking = new Map<string, Promise<Trust | typeof NOT_TRUSTED>>()

  function ask(iss: string): Promise<Trust | typeof NOT_TRUSTED> {
    const timeoutMs = remote.fetch.timeoutMs
    const answer = withDeadline(
      Promise.resolve().then(() => resolver(iss)),
      timeoutMs,
      () => new Error(`the issuers resolver did not answer within ${timeoutMs} ms`),
    ).then((settings) => {
      if (settings === undefined || settings === null) return NOT_TRUSTED
      const config = readIssuerSettings(settings, defaults, `issuers(${JSON.stringify(iss)})`)
      // Settings for another issuer do not make this one trusted.
      return config.issuers.has(iss) ? toTrust(config, remote) : NOT_TRUSTED
    })
    return answer.then(
      (trust) => {
        asking.delete(iss)
        answers.set(iss, trust)
        return trust
      },
      (error: unknown) => {
        asking.delete(iss)
        throw new SourceUnavailableError('issuer', 1, error)
      },
    )
  }

  return {
    algorithms: ALGORITHMS,
    select(iss, payload) {
      const known = answers.get(iss)
      if (known !== undefined)
        return known === NOT_TRUSTED ? undefined : matchTenant(known, iss, payload)
      let pending = asking.get(iss)
      if (pending === undefined) {
        pending = ask(iss)
        asking.set(iss, pending)
      }
      return pending.then((trust) =>
        trust === NOT_TRUSTED ? undefined : matchTenant(trust, iss, payload),
      )
    },
    ready: () => Promise.resolve(),
    close() {
      answers.clear()
    },
  }
}

function toTrust(config: TrustConfig, remote: JwksCacheSettings): Trust {
  return {
    ...config,
    keys: createKeySource(config.keySource, toSpecs(config.algorithms.keys()), remote),
  }
}

/** `trust` if the token carries the tenant its `iss` stands for (templates only). */
function matchTenant(
  trust: Trust | undefined,
  iss: string,
  payload: Readonly<JwtPayload>,
): Trust | undefined {
  if (trust === undefined) return undefined
  const tenant = trust.issuers.get(iss)
  return tenant === undefined || payload.tid === tenant ? trust : undefined
}
