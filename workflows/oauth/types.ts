/** Shapes shared by the OAuth workflows, their activities and the API. Workflow-safe: no I/O. */

// One list of scopes (lib/config.ts OAUTH_SCOPES); a type-only import, erased from the workflow bundle.
import type { OAuthScope } from '../../lib/config';

export type { OAuthScope };

/** REVOCATION_UNCONFIRMED: revoked here, not (yet) confirmed by ANAF; the tokens are unused, kept sealed to revoke again. */
export type AuthorizationStatus = 'PENDING' | 'ACTIVE' | 'REFRESHING' | 'NEEDS_REAUTHORIZATION' | 'REVOKED' | 'REVOCATION_UNCONFIRMED' | 'EXPIRED';

/** Tokens as the workflow holds them: sealed (lib/token-seal.ts), never plaintext. */
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

export interface CurrentToken {
  tokenId: string;
  sealedAccess: string;
  accessTokenExpiresAt?: number;
}

export interface LifecycleSettings {
  refreshLeadMs: number;
  warnBeforeRefreshExpiryMs: number;
}

export interface AuthorizationKey {
  tenant: string;
  cif: string;
  scope: OAuthScope;
}

export interface AuthorizationInit extends AuthorizationKey {
  credentialSetId: string;
  clientId: string;
  settings: LifecycleSettings;
}

export interface AuthorizationEvent {
  at: string;
  event: string;
  detail?: string;
}

/** What the API and the Web UI see of an authorization: everything but the tokens. */
export interface AuthorizationView {
  tenant: string;
  cif: string;
  scope: OAuthScope;
  status: AuthorizationStatus;
  clientId: string;
  credentialSetId: string;
  createdAt: string;
  updatedAt: string;
  accessTokenExpiresAt?: string;
  refreshTokenExpiresAt?: string;
  lastRefreshAt?: string;
  nextRefreshAt?: string;
  lastError?: string;
  refreshCount: number;
  refreshTokenExpiringSoon: boolean;
  revocation?: { at: string; outcome: string };
  recentEvents: AuthorizationEvent[];
}

export interface InstallTokensRequest {
  tokens: SealedTokens;
  source: 'AUTHORIZATION' | 'IMPORT';
  credentialSetId: string;
  clientId: string;
}

/** From the re-seal sweep: seal every held token to this (the newest) token-sealing key. */
export interface ResealRequest {
  keyId: string;
}

export interface ResealResult {
  /** Sealed secrets replaced (0 when a refresh replaced the tokens meanwhile: those are sealed to the newest key already). */
  resealed: number;
}

export interface RefreshRequest {
  /** The token the caller saw rejected or expired; if it is no longer current, no refresh is needed. */
  staleTokenId?: string;
  reason: 'EXPIRED' | 'REJECTED' | 'FORCED' | 'SWEEP';
}

export type AuthorizationRequestStatus = 'WAITING' | 'COMPLETED' | 'DENIED' | 'FAILED' | 'EXPIRED';

export interface AuthorizationRequestInit {
  tenant: string;
  requestId: string;
  cif: string;
  scope: OAuthScope;
  credentialSetId: string;
  clientId: string;
  state: string;
  authorizeUrl: string;
  shortUrl: string;
  createdAt: string;
  expiresAt: string;
  onSuccessReturnUrl?: string;
  onFailureReturnUrl?: string;
  settings: LifecycleSettings;
}

export interface AuthorizationRequestView {
  id: string;
  cif: string;
  scope: OAuthScope;
  status: AuthorizationRequestStatus;
  url: string;
  shortUrl: string;
  createdAt: string;
  expiresAt: string;
  completedAt?: string;
  error?: string;
}

export interface CallbackResult {
  outcome: 'AUTHORIZED' | 'DENIED' | 'FAILED';
  message: string;
  returnUrl?: string;
}

export interface CallbackInput {
  state: string;
  sealedCode?: string;
  error?: string;
  errorDescription?: string;
}

export function authorizationWorkflowId(key: AuthorizationKey): string {
  return `${key.tenant}/oauth/${key.cif}/${key.scope}`;
}

export function authorizationRequestWorkflowId(tenant: string, requestId: string): string {
  return `${tenant}/oauth-request/${requestId}`;
}
