/**
 * The part of oidc-provider (v9 ships no types) that test/helpers/authorization-server.ts uses.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  /** An OpenID Provider / OAuth 2.0 authorization server (a Koa application). */
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    /** The request listener for `http.createServer`. */
    callback(): (req: IncomingMessage, res: ServerResponse) => unknown
  }
}
