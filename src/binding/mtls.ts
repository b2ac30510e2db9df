/**
 * (3) Certificate-bound access tokens (RFC 8705 §3): `cnf["x5t#S256"]` is the base64url SHA-256
 * of the DER client certificate the token was issued to. The request must come with that
 * certificate: by default the peer certificate of its TLS connection (the TLS handshake proved
 * the client holds its private key, whether or not the certificate chains to a CA, which RFC 8705
 * §2.2 allows), or whatever the user's `certificate(req)` returns (a certificate forwarded by a
 * proxy the user trusts).
 */
import { createHash, X509Certificate } from 'node:crypto'
import { invalidToken, type Realm } from '../errors.js'
import type { MtlsCheck } from './binding.js'
import type { ClientCertificate, RequestLike } from '../types.js'

/** The `mtls` settings, validated. */
export interface MtlsSettings {
  readonly certificate: ((request: RequestLike) => ClientCertificate | undefined) | undefined
}

/** The peer certificate's DER bytes from a Node request's TLS socket, if any. */
function socketCertificate(request: RequestLike): Uint8Array | undefined {
  const socket = (request as { socket?: { getPeerCertificate?: (detailed: boolean) => unknown } })
    .socket
  if (typeof socket?.getPeerCertificate !== 'function') return undefined
  const peer = socket.getPeerCertificate(false) as { raw?: Buffer } | null
  return peer?.raw instanceof Uint8Array && peer.raw.length > 0 ? peer.raw : undefined
}

/** DER bytes of what `certificate(req)` returned. */
function toDer(certificate: ClientCertificate): Uint8Array {
  if (certificate instanceof X509Certificate) return certificate.raw
  if (typeof certificate === 'string') return new X509Certificate(certificate).raw
  return new X509Certificate(certificate).raw
}

/** The check `checkBinding` runs for tokens with `cnf["x5t#S256"]`. */
export function createMtlsCheck(settings: MtlsSettings, realm: Realm): MtlsCheck {
  return {
    check(request, x5t) {
      let der: Uint8Array | undefined
      try {
        const given = settings.certificate ? settings.certificate(request) : undefined
        der = settings.certificate
          ? given === undefined
            ? undefined
            : toDer(given)
          : socketCertificate(request)
      } catch (error) {
        throw invalidToken(
          realm,
          'certificate_missing',
          'The client certificate of the request could not be read.',
          error,
        )
      }
      if (der === undefined) {
        throw invalidToken(
          realm,
          'certificate_missing',
          'The token is bound to a client certificate, and the request came without one.',
        )
      }
      if (createHash('sha256').update(der).digest('base64url') !== x5t) {
        throw invalidToken(
          realm,
          'certificate_mismatch',
          'The token is bound to another client certificate than the one presented.',
        )
      }
    },
  }
}
