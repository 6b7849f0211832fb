import type { KeyObject } from 'node:crypto';
import { decodeJwt, errors, jwtVerify, SignJWT } from 'jose';
import type { TokenRecord } from './grants';
import { SIGNING_ALG, type SigningKeys } from './keys';
import { ANAF_ISSUER } from './options';

/**
 * Token strings. JWTs (token_content_type=jwt) are RS512-signed and carry their own
 * times, like ANAF's; opaque tokens are random strings that mean something only to the
 * store. Either way the store stays authoritative: a token it does not know, or knows
 * as revoked, is refused even with a good signature (ANAF validates at the IdP).
 */

export type DecodedToken = { ok: true; id: string; format: 'jwt' | 'opaque'; expired: boolean } | { ok: false; reason: string };

const seconds = (ms: number) => Math.floor(ms / 1000);

export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value);
}

export class TokenCodec {
  constructor(private readonly keys: SigningKeys) {}

  get publicKey(): KeyObject {
    return this.keys.publicKey;
  }

  async encode(record: TokenRecord, scope: string | undefined): Promise<string> {
    if (record.format === 'opaque') return record.id;
    return new SignJWT({
      client_id: record.clientId,
      token_type: record.kind === 'access' ? 'access_token' : 'refresh_token',
      ...(scope ? { scope } : {}),
    })
      .setProtectedHeader({ alg: SIGNING_ALG, typ: 'JWT', kid: this.keys.kid })
      .setIssuer(ANAF_ISSUER)
      .setSubject(record.subject)
      .setJti(record.id)
      .setIssuedAt(seconds(record.issuedAt))
      .setNotBefore(seconds(record.issuedAt))
      .setExpirationTime(seconds(record.expiresAt))
      .sign(this.keys.privateKey);
  }

  async decode(value: string, now: number): Promise<DecodedToken> {
    if (!looksLikeJwt(value)) return { ok: true, id: value, format: 'opaque', expired: false };
    try {
      const { payload } = await jwtVerify(value, this.keys.publicKey, {
        issuer: ANAF_ISSUER,
        algorithms: [SIGNING_ALG],
        currentDate: new Date(now),
      });
      return typeof payload.jti === 'string'
        ? { ok: true, id: payload.jti, format: 'jwt', expired: false }
        : { ok: false, reason: 'token has no jti' };
    } catch (err) {
      // jose checks the signature before the claims: an expired token is still one of ours.
      if (err instanceof errors.JWTExpired) {
        const jti = decodeJwt(value).jti;
        return typeof jti === 'string' ? { ok: true, id: jti, format: 'jwt', expired: true } : { ok: false, reason: 'token has no jti' };
      }
      if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: 'token signature is invalid' };
      return { ok: false, reason: `token is not valid: ${(err as Error).message}` };
    }
  }
}
