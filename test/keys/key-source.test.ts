/**
 * Key sources (src/keys/key-source.ts): a `secret` must be secret. Public-key material given as
 * the HMAC secret (the CVE-2022-23541 class, RFC 8725 §2.1) would let anyone who can read the
 * public key sign tokens with HS256, so it is a `TypeError` at construction that names what to
 * use instead — at the top level, in every `issuers` entry, and from an `issuers` resolver.
 */
import assert from 'node:assert/strict'
import { createSecretKey, webcrypto } from 'node:crypto'
import { describe, test } from 'node:test'
import express from 'express'
import Fastify from 'fastify'
import { createVerifier, isAuthError, type VerifierOptions } from '../../src/index.js'
import * as expressGuards from '../../adapters/express.js'
import jwtGate from '../../adapters/fastify.js'
import * as koaGuards from '../../adapters/koa.js'
import { keyPair } from '../helpers/keys.js'
import { hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const rsa = keyPair('rsa', 'rsa-1')
const ec = keyPair('ec', 'ec-1')
const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string
const pkcs1Pem = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string
const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
const certificatePem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const ecJwk = { ...ec.jwk }
const jwks = { keys: [rsa.jwk, ecJwk] }

/** Every form of public-key material someone might pass as `secret`, with what it is. */
const NOT_SECRETS: ReadonlyArray<[string, unknown, RegExp]> = [
  ['an RSA public key PEM (SPKI)', publicPem, /PEM/],
  ['an RSA public key PEM (PKCS#1)', pkcs1Pem, /PEM/],
  ['a PEM with leading whitespace', `\n  ${publicPem}`, /PEM/],
  ['a PEM as a Buffer', Buffer.from(publicPem), /PEM/],
  ['a PEM as a Uint8Array', new TextEncoder().encode(publicPem), /PEM/],
  ['a private key PEM', privatePem, /PEM/],
  ['a certificate PEM', certificatePem, /PEM/],
  ['a JWK as JSON text', JSON.stringify(rsa.jwk), /JWK/],
  ['a JWK object', rsa.jwk, /JWK/],
  ['a JWKS as JSON text', JSON.stringify(jwks), /JWKS/],
  ['a JWKS object', jwks, /JWKS/],
  ['a JWKS as a Buffer', Buffer.from(JSON.stringify(jwks)), /JWKS/],
  ['a public KeyObject', rsa.publicKey, /public KeyObject/],
  ['a private KeyObject', rsa.privateKey, /private KeyObject/],
]

/** The TypeError names what to use instead. */
const refusal =
  (what: RegExp, where = 'secret') =>
  (error: unknown) => {
    assert.ok(error instanceof TypeError, String(error))
    assert.match(error.message, what)
    assert.ok(error.message.startsWith(`${where} `), error.message)
    assert.match(error.message, /\bkeys\b/)
    assert.match(error.message, /jwksUri/)
    return true
  }

/** An HS256 token keyed with `key`: what a forger holding the public PEM makes. */
function forgedHs256(key: string | Buffer, claims: Record<string, unknown>): string {
  return hmacToken({ alg: 'HS256', typ: 'JWT' }, claims, key)
}

describe('key source: a secret must be secret', () => {
  test('express-jwt migration: the provider public key PEM as secret is a TypeError naming keys or jwksUri', () => {
    // express-jwt users write expressjwt({ secret: fs.readFileSync('public.pem'), algorithms }).
    for (const secret of [publicPem, Buffer.from(publicPem)]) {
      assert.throws(() => createVerifier({ issuer, audience, secret }), refusal(/PEM/))
    }
  })

  for (const [name, secret, what] of NOT_SECRETS) {
    test(`${name} as secret: TypeError`, () => {
      assert.throws(
        () => createVerifier({ issuer, audience, secret } as VerifierOptions),
        refusal(what),
      )
    })
  }

  test('a WebCrypto public CryptoKey as secret: TypeError', async () => {
    const { publicKey } = await webcrypto.subtle.generateKey(
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['sign', 'verify'],
    )
    assert.throws(
      () => createVerifier({ issuer, audience, secret: publicKey } as unknown as VerifierOptions),
      refusal(/public CryptoKey/),
    )
  })

  test('a symmetric JWK (kty "oct") as secret: TypeError naming its decoded k', () => {
    const oct = { kty: 'oct', k: Buffer.alloc(32, 7).toString('base64url') }
    for (const secret of [oct, JSON.stringify(oct)]) {
      assert.throws(
        () => createVerifier({ issuer, audience, secret } as VerifierOptions),
        (error: unknown) =>
          error instanceof TypeError && /JWK/.test(error.message) && /\.k\b/.test(error.message),
      )
    }
  })

  test('real secrets still work: a string, bytes, a secret KeyObject, JSON-looking text that is no key', async () => {
    const text = 'a-shared-secret-of-at-least-32-bytes!!'
    const claims = { iss: issuer, aud: audience, sub: 'alice', exp: nowSeconds() + 60 }
    for (const [secret, key] of [
      [text, text],
      [Buffer.from(text), text],
      [createSecretKey(Buffer.from(text)), text],
      [
        '{"not":"a key","but":"a long enough secret"}',
        '{"not":"a key","but":"a long enough secret"}',
      ],
    ] as const) {
      const verifier = createVerifier({ issuer, audience, secret } as VerifierOptions)
      try {
        const { payload } = await verifier.verify(forgedHs256(key, claims))
        assert.equal(payload.sub, 'alice')
      } finally {
        await verifier.close()
      }
    }
  })

  test('issuers: [...] entries refuse public-key material as their secret, naming the entry', () => {
    const good = {
      issuer: 'https://a.example.com/',
      audience,
      jwksUri: 'https://a.example.com/jwks',
    }
    for (const [, secret, what] of NOT_SECRETS) {
      assert.throws(
        () =>
          createVerifier({
            issuers: [good, { issuer: 'https://b.example.com/', audience, secret }],
          } as VerifierOptions),
        refusal(what, 'issuers[1].secret'),
      )
    }
  })

  test('an issuers resolver answering with a PEM secret: the forged token is refused (503), never accepted', async () => {
    const iss = 'https://resolved.example.com/'
    const verifier = createVerifier({
      issuers: (asked: string) =>
        asked === iss ? { issuer: iss, audience, secret: publicPem } : undefined,
    })
    try {
      const forged = forgedHs256(publicPem, {
        iss,
        aud: audience,
        sub: 'admin',
        exp: nowSeconds() + 60,
      })
      await assert.rejects(verifier.verify(forged), (error: unknown) => {
        assert.ok(isAuthError(error))
        assert.equal(error.status, 503)
        assert.ok(error.cause instanceof Error)
        return true
      })
    } finally {
      await verifier.close()
    }
  })

  test('each adapter refuses the PEM secret when the guard is built, before any request', async () => {
    const options = { issuer, audience, secret: publicPem }
    assert.throws(() => express().use(expressGuards.requireJwt(options)), refusal(/PEM/))
    assert.throws(() => koaGuards.requireJwt(options), refusal(/PEM/))
    // The plugin builds its verifier when Fastify loads it: ready() rejects, nothing listens.
    const app = Fastify()
    void app.register(jwtGate, options)
    await assert.rejects(async () => app.ready(), refusal(/PEM/))
  })
})
