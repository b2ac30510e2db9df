/**
 * What the benchmark parent and its server children say to each other. The parent forks one
 * child per server (`bench/servers/<framework>.ts --variant <id> --config <json>`), waits for
 * `ready` with the port, loads it with autocannon, then sends `stop`.
 */

/** The servers each framework entry can start, by variant id. */
export const SERVER_VARIANTS = {
  express: ['bare', 'jwt-gate', 'express-jwt', 'express-oauth2-jwt-bearer'],
  koa: ['bare', 'jwt-gate', 'koa-jwt'],
  fastify: ['bare', 'jwt-gate', 'fastify-jwt', 'fastify-jwt-cache'],
} as const

/** A framework the HTTP benchmark covers. */
export type Framework = keyof typeof SERVER_VARIANTS

/** Where the child finds its keys: the parent's test issuer. */
export interface ServerConfig {
  issuer: string
  audience: string
  jwksUri: string
  /** The issuer's current public key as SPKI PEM, for peers configured with a static key. */
  publicKeyPem: string
}

/** Child → parent: listening on 127.0.0.1:`port`. */
export interface ReadyMessage {
  type: 'ready'
  port: number
}

/** Parent → child: close and exit. */
export interface StopMessage {
  type: 'stop'
}
