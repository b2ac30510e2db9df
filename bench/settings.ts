/**
 * How long and how often each part of the suite measures, for the full run and for `--quick`.
 * Quick keeps every scenario and every micro and JWKS contestant, with fewer and shorter rounds
 * and a smaller distinct-token corpus; its HTTP section measures jwt-gate against the bare
 * frameworks only (each peer server would cost a warm-up of its own). It finishes in under a
 * minute on two cores.
 */

/** Micro-benchmark settings. */
export interface MicroSettings {
  /** Interleaved rounds; each contestant's reported value is the median over them. */
  rounds: number
  /** Target duration of one sample (one contestant, one round). */
  sampleMs: number
  /** Warm-up per contestant before the first round (JIT, key caches). */
  warmupMs: number
  /** Size of the distinct-token corpus per algorithm. */
  distinctTokens: number
}

/** HTTP-benchmark settings. */
export interface HttpSettings {
  /** Whether the peer guards are measured too (the full run), or only jwt-gate and bare. */
  peers: boolean
  /** Fresh sets of server processes, each warmed up and measured in turn. */
  processes: number
  /** Interleaved rounds per set of processes. */
  rounds: number
  /** autocannon duration of one measured run, seconds. */
  durationSec: number
  /** Warm-up with the token pool per server before its first measured run, seconds. */
  warmupSec: number
  /** Then more warm-up, until throughput is stable, for at most this long, seconds. */
  warmupMaxSec: number
  connections: number
  /** Distinct tokens, spread over the connections (each cycles its share). */
  poolSize: number
}

/** JWKS-scenario settings. */
export interface JwksSettings {
  /** Concurrent verifications per scenario. */
  requests: number
  /** How long to wait for the last verification before counting it as hanging. */
  timeoutMs: number
}

/** All settings of one run. */
export interface BenchSettings {
  quick: boolean
  micro: MicroSettings
  http: HttpSettings
  jwks: JwksSettings
}

/** Settings for the full run (`npm run bench`) or the quick one (`npm run bench -- --quick`). */
export function settingsFor(quick: boolean): BenchSettings {
  return quick
    ? {
        quick,
        micro: { rounds: 5, sampleMs: 10, warmupMs: 30, distinctTokens: 1_000 },
        http: {
          peers: false,
          processes: 1,
          rounds: 1,
          durationSec: 0.5,
          warmupSec: 1,
          warmupMaxSec: 0,
          connections: 50,
          poolSize: 1_000,
        },
        jwks: { requests: 1_000, timeoutMs: 1_000 },
      }
    : {
        quick,
        micro: { rounds: 20, sampleMs: 60, warmupMs: 400, distinctTokens: 10_000 },
        http: {
          peers: true,
          processes: 3,
          rounds: 4,
          durationSec: 2,
          warmupSec: 2,
          warmupMaxSec: 3,
          connections: 50,
          poolSize: 1_000,
        },
        jwks: { requests: 1_000, timeoutMs: 10_000 },
      }
}
