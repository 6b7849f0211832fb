import { decodeJwt } from 'jose';

export interface TokenTimes {
  issuedAt?: number;
  expiresAt?: number;
}

/**
 * Reads iat/exp from a JWT without verifying it: we are the token's bearer, not its
 * audience; ANAF verifies the signature. Opaque tokens (not JWTs) give no times.
 */
export function jwtTimes(token: string): TokenTimes {
  if (token.split('.').length !== 3) return {};
  try {
    const claims = decodeJwt(token);
    return {
      ...(typeof claims.iat === 'number' ? { issuedAt: claims.iat * 1000 } : {}),
      ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp * 1000 } : {}),
    };
  } catch {
    return {};
  }
}

/** exp from the JWT; else `expires_in` from the token answer; else unknown. */
export function accessTokenExpiry(token: string, expiresInSeconds: number | undefined, now: number): number | undefined {
  return jwtTimes(token).expiresAt ?? (expiresInSeconds && expiresInSeconds > 0 ? now + expiresInSeconds * 1000 : undefined);
}
