/**
 * The IdP's memory: pending authorize requests, codes, and token families. A family is
 * everything issued from one authorization code (the first pair and every refresh after
 * it); revoking a grant means revoking its family, as RFC 7009 and reuse detection need.
 * Pure bookkeeping on the sandbox clock, no HTTP.
 */

export type TokenKind = 'access' | 'refresh';
export type TokenFormat = 'jwt' | 'opaque';

export interface PendingAuthorization {
  id: string;
  clientId: string;
  redirectUri: string;
  state?: string;
  scope?: string;
  certSerial: string;
  createdAt: number;
  expiresAt: number;
}

export interface AuthorizationCode {
  code: string;
  clientId: string;
  redirectUri: string;
  certSerial: string;
  scope?: string;
  issuedAt: number;
  expiresAt: number;
  usedAt?: number;
  /** The family its exchange started; revoked if the code is presented again. */
  familyId?: string;
}

export interface TokenFamily {
  id: string;
  clientId: string;
  subject: string;
  scope?: string;
  createdAt: number;
  refreshCount: number;
  revokedAt?: number;
  revokedReason?: string;
}

export interface TokenRecord {
  /** The JWT's jti, or the opaque token itself. */
  id: string;
  kind: TokenKind;
  format: TokenFormat;
  familyId: string;
  clientId: string;
  subject: string;
  issuedAt: number;
  expiresAt: number;
  /** A refresh token that has been exchanged for a newer one. */
  rotatedAt?: number;
  revokedAt?: number;
}

/** Spent codes are kept a while after expiry so a late replay still counts as reuse. */
const SPENT_CODE_GRACE_MS = 3600_000;

export class GrantStore {
  readonly pending = new Map<string, PendingAuthorization>();
  readonly codes = new Map<string, AuthorizationCode>();
  readonly families = new Map<string, TokenFamily>();
  readonly tokens = new Map<string, TokenRecord>();

  clear(): void {
    this.pending.clear();
    this.codes.clear();
    this.families.clear();
    this.tokens.clear();
  }

  /** Forgets authorize requests and codes nobody can use any more (a dev sandbox runs for weeks). */
  prune(now: number): void {
    for (const [id, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(id);
    for (const [code, c] of this.codes) if (c.expiresAt + SPENT_CODE_GRACE_MS <= now) this.codes.delete(code);
  }

  /** Returns true when the family was live and is now revoked. */
  revokeFamily(familyId: string, reason: string, now: number): boolean {
    const family = this.families.get(familyId);
    if (!family || family.revokedAt !== undefined) return false;
    family.revokedAt = now;
    family.revokedReason = reason;
    return true;
  }

  familyOf(record: TokenRecord): TokenFamily {
    const family = this.families.get(record.familyId);
    if (!family) throw new Error(`token ${record.kind} has no family ${record.familyId}`);
    return family;
  }

  summary(now: number): { pendingAuthorizations: number; codes: number; families: number; liveFamilies: number; tokens: number } {
    let liveFamilies = 0;
    for (const f of this.families.values()) if (f.revokedAt === undefined) liveFamilies += 1;
    this.prune(now);
    return {
      pendingAuthorizations: this.pending.size,
      codes: this.codes.size,
      families: this.families.size,
      liveFamilies,
      tokens: this.tokens.size,
    };
  }
}
