import { randomUUID } from 'node:crypto';
import { accessTokenExpiry, jwtTimes } from '../anaf/jwt-claims';
import type { TokenSealBox } from './token-seal';

/** Tokens as the workflow holds them: sealed (lib/crypto/token-seal.ts), never plaintext. */
export interface SealedTokens {
  /** Random id of this access token, so callers can say "this one was rejected". */
  tokenId: string;
  sealedAccess: string;
  sealedRefresh?: string;
  /** Epoch ms; undefined for opaque tokens without expires_in. */
  accessTokenExpiresAt?: number;
  refreshTokenExpiresAt?: number;
  obtainedAt: number;
}

export interface PlainTokens {
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: number;
}

/**
 * Turns tokens fresh from ANAF (or imported by an operator) into the sealed form the
 * lifecycle workflow keeps. Expiries come from the JWTs themselves. Without a new
 * refresh token the previous one is kept: ANAF's refresh tokens stay reusable.
 * Without an access token (an import of a refresh token alone) the access part is
 * marked expired, so the first use refreshes it.
 */
export function sealTokens(
  sealer: TokenSealBox,
  tokens: PlainTokens,
  previous?: { sealedRefresh: string; refreshToken: string },
  now = Date.now(),
): SealedTokens {
  const previousRefresh = previous?.refreshToken;
  const previousSealedRefresh = previous?.sealedRefresh;
  // The same refresh token handed back keeps its sealed form, so the workflow can tell it did not rotate.
  const refresh = tokens.refreshToken === previousRefresh ? undefined : tokens.refreshToken;
  const refreshTokenExpiresAt = refresh ? jwtTimes(refresh).expiresAt : previousRefresh ? jwtTimes(previousRefresh).expiresAt : undefined;
  const accessTokenExpiresAt = tokens.accessToken ? accessTokenExpiry(tokens.accessToken, tokens.expiresIn, now) : now;
  const sealedRefresh = refresh ? sealer.seal(refresh) : previousSealedRefresh;
  return {
    tokenId: randomUUID(),
    sealedAccess: sealer.seal(tokens.accessToken ?? ''),
    ...(sealedRefresh ? { sealedRefresh } : {}),
    ...(accessTokenExpiresAt !== undefined ? { accessTokenExpiresAt } : {}),
    ...(refreshTokenExpiresAt !== undefined ? { refreshTokenExpiresAt } : {}),
    obtainedAt: now,
  };
}
