/**
 * The part of oidc-provider 9 (which ships no type declarations) the interop tests and their authorization-server helpers use.
 */
declare module 'oidc-provider' {
  import type { RequestListener } from 'node:http'

  /** An oidc-provider authorization server. */
  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>)
    /** A Node request listener serving every endpoint. */
    callback(): RequestListener
    /** OAuth error classes, e.g. `InvalidTarget` (RFC 8707 `invalid_target`). */
    static errors: { InvalidTarget: new (description?: string) => Error } & Record<
      string,
      new (description?: string) => Error
    >
  }
}
