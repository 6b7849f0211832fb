import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { SandboxClock } from '../clock';
import { bump, type SandboxState } from '../state';
import { invalidGrant, invalidRequest, OAuthError } from './errors';
import { GrantStore, type PendingAuthorization, type TokenFamily, type TokenFormat, type TokenKind, type TokenRecord } from './grants';
import { loadSigningKeys } from './keys';
import {
  normalizeSerial,
  type OAuthClientRegistration,
  type OAuthOptions,
  resolveOAuthOptions,
  type SimulatedCertificate,
} from './options';
import { TokenCodec } from './tokens';

/**
 * The simulated logincert.anaf.ro: the OAuth decisions, independent of HTTP so tests and
 * the routes share one implementation. The routes (authorize.ts, token-endpoint.ts,
 * revoke.ts) translate requests into these calls and results into ANAF-shaped answers.
 */

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}

/** Who a valid bearer token speaks for; the API modules authorize by it. */
export interface BearerIdentity {
  /** The certificate serial: ANAF's identity of the user. */
  subject: string;
  clientId: string;
  certificate: SimulatedCertificate;
  tokenId: string;
  familyId: string;
  expiresAt: number;
}

export type BearerCheck = { ok: true; identity: BearerIdentity } | { ok: false; reason: string };

export interface TokenInspection {
  kind: TokenKind;
  format: TokenFormat;
  tokenId: string;
  familyId: string;
  clientId: string;
  subject: string;
  issuedAt: number;
  expiresAt: number;
  rotated: boolean;
  revoked: boolean;
  familyRevokedReason?: string;
}

/** The first step's outcome: a page to render, an error page (no redirect), or a redirect to the client. */
export type AuthorizeOutcome =
  | { kind: 'page'; pending: PendingAuthorization; client: OAuthClientRegistration; certificate: SimulatedCertificate }
  | { kind: 'error-page'; status: 400; message: string }
  | { kind: 'redirect'; location: string };

export interface IdpDeps {
  clock: SandboxClock;
  state: SandboxState;
  logger: Logger;
}

/** How long the approve/deny page stays answerable. */
const PENDING_TTL_MS = 10 * 60_000;

const secret = () => randomBytes(32).toString('base64url');

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

export class OAuthIdp {
  private current: OAuthOptions;
  readonly grants = new GrantStore();

  private constructor(
    private readonly initial: OAuthOptions,
    private readonly codec: TokenCodec,
    readonly jwks: { keys: JWK[] },
    private readonly deps: IdpDeps,
  ) {
    this.current = initial;
    deps.state.onReset(() => {
      this.grants.clear();
      this.current = initial;
    });
  }

  static async create(options: Partial<OAuthOptions> | undefined, deps: IdpDeps): Promise<OAuthIdp> {
    const resolved = resolveOAuthOptions(options);
    const keys = await loadSigningKeys(resolved.signingKeyPem);
    return new OAuthIdp(resolved, new TokenCodec(keys), keys.jwks, deps);
  }

  get options(): Readonly<OAuthOptions> {
    return this.current;
  }

  /** Changes behaviour at runtime (a test flipping reuse detection); the signing key stays. Reset restores the start options. */
  configure(partial: Partial<Omit<OAuthOptions, 'signingKeyPem'>>): Readonly<OAuthOptions> {
    const next = resolveOAuthOptions({ ...this.current, ...partial });
    this.current = next;
    return next;
  }

  get publicKey(): KeyObject {
    return this.codec.publicKey;
  }

  private get counters() {
    return this.deps.state.counters.oauth;
  }

  private now(): number {
    return this.deps.clock.now();
  }

  client(clientId: string): OAuthClientRegistration | undefined {
    return this.current.clients.find((c) => c.clientId === clientId);
  }

  /** A configured certificate, or one made up for a serial a test chose. */
  certificate(serial: string): SimulatedCertificate {
    return (
      this.current.certificates.find((c) => c.serial === serial) ?? { serial, subject: `CN=SANDBOX CERTIFICATE ${serial}, O=SANDBOX, C=RO` }
    );
  }

  beginAuthorization(query: Record<string, string | undefined>): AuthorizeOutcome {
    this.counters.authorizePages += 1;
    const clientId = query.client_id;
    const client = clientId ? this.client(clientId) : undefined;
    // Without a trusted client and redirect URI there is nowhere safe to send an error: show it.
    if (!client)
      return { kind: 'error-page', status: 400, message: clientId ? `Unknown client_id "${clientId}".` : 'client_id is required.' };
    const redirectUri = query.redirect_uri;
    if (!redirectUri) return { kind: 'error-page', status: 400, message: 'redirect_uri is required.' };
    if (!client.redirectUris.includes(redirectUri)) {
      return {
        kind: 'error-page',
        status: 400,
        message: `redirect_uri "${redirectUri}" is not registered for client "${client.clientId}".`,
      };
    }
    const state = query.state;
    const fail = (error: string, description: string): AuthorizeOutcome => ({
      kind: 'redirect',
      location: withParams(redirectUri, { error, error_description: description, state }),
    });
    if (!query.response_type) return fail('invalid_request', 'response_type is required');
    if (query.response_type !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');
    const certSerial = query.cert_serial !== undefined ? normalizeSerial(query.cert_serial) : this.current.certificates[0]?.serial;
    if (!certSerial) return { kind: 'error-page', status: 400, message: 'cert_serial must be a hexadecimal certificate serial.' };
    const now = this.now();
    this.grants.prune(now);
    const pending: PendingAuthorization = {
      id: secret(),
      clientId: client.clientId,
      redirectUri,
      certSerial,
      createdAt: now,
      expiresAt: now + PENDING_TTL_MS,
      ...(state !== undefined ? { state } : {}),
      ...(query.scope ? { scope: query.scope } : {}),
    };
    this.grants.pending.set(pending.id, pending);
    return { kind: 'page', pending, client, certificate: this.certificate(certSerial) };
  }

  /** The user's answer on the certificate page. Each page answers once. */
  decide(requestId: string | undefined, decision: string | undefined, certSerial: string | undefined): AuthorizeOutcome {
    const now = this.now();
    const pending = requestId ? this.grants.pending.get(requestId) : undefined;
    if (!pending || pending.expiresAt <= now) {
      return {
        kind: 'error-page',
        status: 400,
        message: 'This authorization request is unknown, already answered or expired. Start again from the application.',
      };
    }
    if (decision !== 'approve' && decision !== 'deny')
      return { kind: 'error-page', status: 400, message: 'decision must be approve or deny.' };
    const serial = certSerial !== undefined ? normalizeSerial(certSerial) : pending.certSerial;
    if (!serial) return { kind: 'error-page', status: 400, message: 'cert_serial must be a hexadecimal certificate serial.' };
    this.grants.pending.delete(pending.id);
    if (decision === 'deny') {
      this.counters.denials += 1;
      return {
        kind: 'redirect',
        location: withParams(pending.redirectUri, {
          error: 'access_denied',
          error_description: 'The user declined to authorize the application',
          state: pending.state,
        }),
      };
    }
    this.counters.approvals += 1;
    const code = secret();
    this.grants.codes.set(code, {
      code,
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      certSerial: serial,
      issuedAt: now,
      expiresAt: now + this.current.codeTtlSeconds * 1000,
      ...(pending.scope ? { scope: pending.scope } : {}),
    });
    this.counters.codesIssued += 1;
    return { kind: 'redirect', location: withParams(pending.redirectUri, { code, state: pending.state }) };
  }

  /**
   * authorization_code grant. The token format is decided here, by the token request's
   * own token_content_type=jwt: ANAF's procedure asks for it on both requests, and a
   * client that forgets it at this step gets opaque tokens, so the sandbox does too.
   */
  async exchangeCode(
    client: OAuthClientRegistration,
    params: { code?: string; redirectUri?: string; tokenContentType?: string },
  ): Promise<TokenResponse> {
    if (!params.code) throw invalidRequest('code is required');
    if (!params.redirectUri) throw invalidRequest('redirect_uri is required');
    const now = this.now();
    const code = this.grants.codes.get(params.code);
    if (!code) throw invalidGrant('unknown authorization code');
    if (code.clientId !== client.clientId) throw invalidGrant('the authorization code was issued to another client');
    if (code.usedAt !== undefined) {
      // A replayed code means it leaked: whatever it bought is withdrawn (RFC 6749 4.1.2).
      this.counters.codeReuses += 1;
      if (code.familyId) this.revokeFamily(code.familyId, 'authorization code reused');
      throw invalidGrant('the authorization code was already used');
    }
    if (now >= code.expiresAt) {
      this.counters.expiredCodes += 1;
      throw invalidGrant(`the authorization code expired (${this.current.codeTtlSeconds} s)`);
    }
    if (code.redirectUri !== params.redirectUri) throw invalidGrant('redirect_uri does not match the one of the authorization request');
    code.usedAt = now;
    const family: TokenFamily = {
      id: randomUUID(),
      clientId: client.clientId,
      subject: code.certSerial,
      createdAt: now,
      refreshCount: 0,
      ...(code.scope ? { scope: code.scope } : {}),
    };
    this.grants.families.set(family.id, family);
    code.familyId = family.id;
    this.counters.codeExchanges += 1;
    const format: TokenFormat = params.tokenContentType === 'jwt' ? 'jwt' : 'opaque';
    const access = this.record(family, 'access', format, now);
    const refresh = this.record(family, 'refresh', format, now);
    return this.answer(family, await this.codec.encode(access, family.scope), await this.codec.encode(refresh, family.scope));
  }

  /** refresh_token grant. ANAF's documented refresh sends only grant_type and refresh_token: the format follows the token presented. */
  async refresh(client: OAuthClientRegistration, params: { refreshToken?: string; tokenContentType?: string }): Promise<TokenResponse> {
    if (!params.refreshToken) throw invalidRequest('refresh_token is required');
    const now = this.now();
    const found = await this.lookup(params.refreshToken, now);
    if (!found.ok || found.record.kind !== 'refresh') throw invalidGrant('unknown refresh token');
    const { record, family } = found;
    if (record.clientId !== client.clientId) throw invalidGrant('the refresh token was issued to another client');
    if (family.revokedAt !== undefined || record.revokedAt !== undefined) throw invalidGrant('the refresh token was revoked');
    if (found.expired || now >= record.expiresAt) throw invalidGrant('the refresh token expired');
    if (record.rotatedAt !== undefined && this.current.rejectReusedRefreshToken) {
      // Two parties holding one refresh token: one of them stole it. Cut both off.
      this.counters.rejectedReuses += 1;
      this.revokeFamily(family.id, 'refresh token reused after rotation');
      throw invalidGrant('the refresh token was already used; every token of this grant is revoked');
    }
    family.refreshCount += 1;
    this.counters.refreshes += 1;
    bump(this.counters.refreshesByClient, client.clientId);
    bump(this.counters.refreshesByFamily, family.id);
    const format: TokenFormat = params.tokenContentType === 'jwt' ? 'jwt' : record.format;
    const access = await this.codec.encode(this.record(family, 'access', format, now), family.scope);
    if (!this.current.rotateRefreshTokens) return this.answer(family, access, params.refreshToken);
    record.rotatedAt ??= now;
    const refresh = await this.codec.encode(this.record(family, 'refresh', format, now), family.scope);
    return this.answer(family, access, refresh);
  }

  /**
   * RFC 7009: an unknown token is not an error (the client cannot do anything about it);
   * a token of another client is. Revoking either token ends the whole grant.
   */
  async revoke(client: OAuthClientRegistration, token: string | undefined): Promise<'revoked' | 'unknown'> {
    if (!token) throw invalidRequest('token is required');
    const now = this.now();
    const found = await this.lookup(token, now);
    if (!found.ok) return 'unknown';
    if (found.record.clientId !== client.clientId) throw new OAuthError('unauthorized_client', 'the token was issued to another client');
    found.record.revokedAt ??= now;
    this.revokeFamily(found.family.id, `${found.record.kind} token revoked by the client`);
    this.counters.revocations += 1;
    return 'revoked';
  }

  /** What api.anaf.ro asks the IdP for every call: is this a live access token, and whose? */
  async checkBearer(token: string): Promise<BearerCheck> {
    const now = this.now();
    const found = await this.lookup(token, now);
    if (!found.ok) return found;
    const { record, family } = found;
    if (record.kind !== 'access') return { ok: false, reason: 'not an access token' };
    if (family.revokedAt !== undefined || record.revokedAt !== undefined) return { ok: false, reason: 'token revoked' };
    if (found.expired || now >= record.expiresAt) return { ok: false, reason: 'token expired' };
    return {
      ok: true,
      identity: {
        subject: record.subject,
        clientId: record.clientId,
        certificate: this.certificate(record.subject),
        tokenId: record.id,
        familyId: family.id,
        expiresAt: record.expiresAt,
      },
    };
  }

  /** For tests: what the IdP knows about a token (its family id for the per-family counters). */
  async inspect(token: string): Promise<TokenInspection | undefined> {
    const found = await this.lookup(token, this.now());
    if (!found.ok) return undefined;
    const { record, family } = found;
    return {
      kind: record.kind,
      format: record.format,
      tokenId: record.id,
      familyId: family.id,
      clientId: record.clientId,
      subject: record.subject,
      issuedAt: record.issuedAt,
      expiresAt: record.expiresAt,
      rotated: record.rotatedAt !== undefined,
      revoked: record.revokedAt !== undefined || family.revokedAt !== undefined,
      ...(family.revokedReason ? { familyRevokedReason: family.revokedReason } : {}),
    };
  }

  revokeFamily(familyId: string, reason: string): boolean {
    const revoked = this.grants.revokeFamily(familyId, reason, this.now());
    if (revoked) {
      this.counters.familiesRevoked += 1;
      this.deps.logger.info({ familyId, reason }, 'token family revoked');
    }
    return revoked;
  }

  private record(family: TokenFamily, kind: TokenKind, format: TokenFormat, now: number): TokenRecord {
    const ttl = kind === 'access' ? this.current.accessTokenTtlSeconds : this.current.refreshTokenTtlSeconds;
    // Whole seconds, so the record and the JWT's exp claim expire at the same instant.
    const issuedAt = Math.floor(now / 1000) * 1000;
    const record: TokenRecord = {
      id: format === 'jwt' ? randomUUID() : secret(),
      kind,
      format,
      familyId: family.id,
      clientId: family.clientId,
      subject: family.subject,
      issuedAt,
      expiresAt: issuedAt + Math.round(ttl * 1000),
    };
    this.grants.tokens.set(record.id, record);
    if (kind === 'access') this.counters.accessTokensIssued += 1;
    else this.counters.refreshTokensIssued += 1;
    return record;
  }

  private answer(family: TokenFamily, accessToken: string, refreshToken: string): TokenResponse {
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: this.current.accessTokenTtlSeconds,
      ...(family.scope ? { scope: family.scope } : {}),
    };
  }

  private async lookup(
    token: string,
    now: number,
  ): Promise<{ ok: true; record: TokenRecord; family: TokenFamily; expired: boolean } | { ok: false; reason: string }> {
    const decoded = await this.codec.decode(token.trim(), now);
    if (!decoded.ok) return decoded;
    const record = this.grants.tokens.get(decoded.id);
    // The format must agree, or a JWT's jti could be replayed as if it were an opaque token.
    if (!record || record.format !== decoded.format) return { ok: false, reason: 'unknown token' };
    return { ok: true, record, family: this.grants.familyOf(record), expired: decoded.expired };
  }
}
