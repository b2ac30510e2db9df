/**
 * A self-signed certificate for 127.0.0.1, made by the openssl CLI once per process, for tests
 * that need a real TLS server (Node has no API that issues certificates).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A PEM private key and its certificate; the certificate is also the CA a client trusts. */
export interface TestCertificate {
  key: string
  cert: string
}

let made: TestCertificate | undefined

/** A P-256 certificate for `IP:127.0.0.1`, valid for a day. Throws when openssl is missing. */
export function selfSignedCertificate(): TestCertificate {
  if (made !== undefined) return made
  const dir = mkdtempSync(join(tmpdir(), 'jwt-gate-tls-'))
  try {
    const keyFile = join(dir, 'key.pem')
    const certFile = join(dir, 'cert.pem')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-nodes',
        '-days',
        '1',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    made = { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') }
    return made
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
