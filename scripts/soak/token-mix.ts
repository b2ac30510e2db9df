/**
 * The soak's token mix: mints each class of token (valid, revoked three ways, expired, forged,
 * tampered) and says which answer it deserves. Signing is the shared hand-signing helper of the
 * tests (test/helpers/tokens.ts), with node:crypto, so a loader can mint thousands a second.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { assemble, asymmetricToken } from '../../test/helpers/tokens.js'
import type { LoaderConfig, SigningKey, TokenClass } from './protocol.js'

/** A token and the answer it deserves. */
export interface Minted {
  cls: TokenClass
  token: string
  status: number
  reason?: string
  sub?: string
  jti?: string
}

/** Mints one loader's tokens; `rotate` switches to the new signing key, `revoked` adds jtis. */
export class TokenMix {
  #header!: { alg: string; kid: string; typ: 'JWT' }
  #key!: KeyObject
  readonly #attacker: KeyObject
  #seq = 0
  readonly #midRun: Array<{ jti: string; usableAt: number }> = []
  readonly #recent: Array<{ token: string; sub: string; jti: string }> = []

  constructor(private readonly config: LoaderConfig) {
    this.#attacker = createPrivateKey(config.attackerPem)
    this.rotate(config.key)
  }

  /** Sign from now on with `signing`; reused tokens then carry the new kid too. */
  rotate(signing: SigningKey): void {
    this.#key = createPrivateKey(signing.pem)
    this.#header = { alg: this.config.alg, kid: signing.kid, typ: 'JWT' }
    this.#recent.length = 0
  }

  /** jtis revoked during the run, usable (revocation propagated) from `usableAt`. */
  revoked(jtis: string[], usableAt: number): void {
    for (const jti of jtis) this.#midRun.push({ jti, usableAt })
  }

  /** A token of class `cls`. */
  mint(cls: TokenClass): Minted {
    const config = this.config
    const now = Math.floor(Date.now() / 1000)
    const n = this.#seq++
    let sub = `user-${n % 5000}`
    let jti = `${config.id}.${n}`
    let iat = now
    let exp = now + 3600
    if (cls === 'revoked-jti') jti = config.revokedJtis[n % config.revokedJtis.length]!
    if (cls === 'revoked-mid-run') jti = this.#midRun[n % this.#midRun.length]!.jti
    if (cls === 'revoked-subject') {
      sub = config.revokedSubject
      iat = config.subjectRevokedBefore - 30
    }
    if (cls === 'expired') {
      iat = now - 7200
      exp = now - 3600
    }
    // `n` keeps every token distinct, even two with the same jti minted in the same second.
    const payload = { iss: config.issuer, aud: config.audience, sub, jti, iat, exp, n }
    let token = asymmetricToken(
      this.#header,
      payload,
      cls === 'forged' ? this.#attacker : this.#key,
    )
    if (cls === 'tampered') {
      const other = { iss: config.issuer, aud: config.audience, sub: 'admin', jti, iat, exp }
      token = assemble(this.#header, other, token.split('.')[2])
    }
    switch (cls) {
      case 'valid':
        this.#recent[n % 1000] = { token, sub, jti }
        return { cls, token, status: 200, sub, jti }
      case 'expired':
        return { cls, token, status: 401, reason: 'expired' }
      case 'forged':
      case 'tampered':
        return { cls, token, status: 401, reason: 'bad_signature' }
      default:
        return { cls, token, status: 401, reason: 'revoked' }
    }
  }

  /** The next token of the run's mix. */
  pick(): Minted {
    const roll = Math.random()
    if (roll < this.config.reuse && this.#recent.length > 0) {
      const again = this.#recent[Math.floor(Math.random() * this.#recent.length)]
      if (again) return { cls: 'reused', status: 200, ...again }
    }
    const r = Math.random() * 100
    const midRun = this.#midRun
    const usableMidRun = midRun.length > 0 && midRun[midRun.length - 1]!.usableAt <= Date.now()
    if (r < 84) return this.mint('valid')
    if (r < 88) return this.mint('revoked-jti')
    if (r < 90) return usableMidRun ? this.mint('revoked-mid-run') : this.mint('revoked-jti')
    if (r < 93) return this.mint('revoked-subject')
    if (r < 95) return this.mint('expired')
    if (r < 98) return this.mint('forged')
    return this.mint('tampered')
  }
}
