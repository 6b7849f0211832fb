/** Shapes shared by the OAuth workflows, their activities and the API. Workflow-safe: no I/O. */

// One list of scopes (lib/config/config.ts OAUTH_SCOPES); a type-only import, erased from the workflow bundle.
import type { OAuthScope } from '../../lib/config/config';
import type { SealedTokens } from '../../lib/crypto/sealed-tokens';

export type { SealedTokens };

export type { OAuthScope };

/** REVOCATION_UNCONFIRMED: revoked here, not (yet) confirmed by ANAF; the tokens are unused, kept sealed to revoke again. */
export type AuthorizationStatus =
  'PENDING' | 'ACTIVE' | 'REFRESHING' | 'NEEDS_REAUTHORIZATION' | 'REVOKED' | 'REVOCATION_UNCONFIRMED' | 'EXPIRED';

export interface CurrentToken {
  tokenId: string;
  sealedAccess: string;
  accessTokenExpiresAt?: number;
}

export interface LifecycleSettings {
  refreshLeadMs: number;
  warnBeforeRefreshExpiryMs: number;
  /** Days before the refresh token lapses when `authorization.refresh_lapsing` is pushed (OAUTH_REFRESH_LAPSING_WARN_DAYS, 7, 1); absent: 30, 7, 1. */
  lapsingWarnDays?: number[];
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
  /**
   * Set for sign-ins not tied to one company (POST /v1/authorization-requests), never for the
   * legacy per-organization ones: every new command of the workflow is gated on it, so stored
   * histories replay unchanged. For these, `cif` is '' and `scope` is scopes[0].
   */
  authorizationId?: string;
  /** The scopes the sign-in was made for (one or both); legacy: [scope]. */
  scopes?: OAuthScope[];
  /** Who signed in, in the tenant's words ("Cabinet Popescu, Ana"). */
  label?: string;
  /** Organizations to link (each checked at ANAF) once the tokens are installed. */
  companies?: string[];
  /**
   * Where its events are pushed (signed, events.ts); set by the request or PATCH /v1/authorizations/{id}.
   * Every webhook command is gated on it: stored histories have none and replay unchanged.
   */
  webhookUrl?: string;
}

/** A company (CIF) this authorization serves, for one scope; linked after ANAF accepted the token for it. */
export interface AuthorizationCompany {
  cif: string;
  scope: OAuthScope;
  linkedAt: string;
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
  /** Present from this change on (legacy workflows too: their id is derived). */
  authorizationId?: string;
  label?: string;
  scopes?: OAuthScope[];
  /** Companies linked to it (legacy: its own CIF is implied and not listed here). */
  companies?: AuthorizationCompany[];
  /** Where its events are pushed, and the fate of the last delivery. */
  webhookUrl?: string;
  webhook?: AuthorizationWebhookState;
}

/** The last event delivery of an authorization (DELIVERED, or FAILED after days of retries). */
export interface AuthorizationWebhookState {
  lastEvent: string;
  deliveryId: string;
  state: 'DELIVERED' | 'FAILED';
  attempts?: number;
  error?: string;
  pending: number;
}

/** PATCH /v1/authorizations/{id}: where its events go from now on; null stops them. */
export interface SetWebhookRequest {
  webhookUrl: string | null;
}

/** PUT /v1/organizations/{cif}/authorizations/{scope}: check the CIF at ANAF with this token, then link it. */
export interface LinkCompanyRequest {
  cif: string;
  scope: OAuthScope;
  /**
   * The authorization the caller saw serving the organization for this scope before it asked
   * (null: none). Given, the link is made only if that is still so once ANAF has answered: a
   * concurrent link that landed meanwhile wins (LinkChanged) instead of being silently replaced.
   */
  expectedAuthorizationId?: string | null;
}

export interface LinkCompanyResult {
  cif: string;
  scope: OAuthScope;
  /** The authorization that served the organization for this scope before (undefined: none, or this one). */
  previousAuthorizationId?: string;
}

export interface InstallTokensRequest {
  tokens: SealedTokens;
  source: 'AUTHORIZATION' | 'IMPORT';
  credentialSetId: string;
  clientId: string;
  /** The request's webhook URL: a new sign-in into an existing (per-organization) authorization sets it too. */
  webhookUrl?: string;
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
  /** Legacy requests only: the state and the links that carry it. New ones hold '' (nothing of the state in history). */
  state: string;
  authorizeUrl: string;
  shortUrl: string;
  /** New requests: sha256 (hex) of the state, whose secret part is nowhere in Temporal. */
  stateHash?: string;
  /** New requests: ANAF's authorize URL without `state` (the short link adds it). */
  signInUrl?: string;
  createdAt: string;
  expiresAt: string;
  onSuccessReturnUrl?: string;
  onFailureReturnUrl?: string;
  settings: LifecycleSettings;
  /**
   * Set for sign-ins not tied to one company (POST /v1/authorization-requests); `cif` is then ''.
   * The tokens go to a new authorization of this id, which links `organizations` itself.
   */
  authorizationId?: string;
  scopes?: OAuthScope[];
  label?: string;
  organizations?: string[];
  /** Where the authorization's events go (authorization.active, …). */
  webhookUrl?: string;
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
  /** Sign-ins not tied to one company only. */
  authorizationId?: string;
  scopes?: OAuthScope[];
  label?: string;
  organizations?: string[];
}

export interface CallbackResult {
  outcome: 'AUTHORIZED' | 'DENIED' | 'FAILED';
  message: string;
  returnUrl?: string;
  /** ANAF's token endpoint refused the code (invalid_grant: expired, used, or not its own). */
  codeRejected?: boolean;
}

export interface CallbackInput {
  /** A legacy request's state (`tenant.requestId`); a new request's is sent as stateHash only. */
  state?: string;
  stateHash?: string;
  sealedCode?: string;
  error?: string;
  errorDescription?: string;
}

export function authorizationWorkflowId(key: AuthorizationKey): string {
  return `${key.tenant}/oauth/${key.cif}/${key.scope}`;
}

/** New authorizations: `az_` + 20 base62 characters (made by the API). */
export const AUTHORIZATION_ID_PATTERN = /^az_[A-Za-z0-9]{20}$/;
/** The reversible id of a legacy per-organization authorization: `org-{cif}-{scope}`. */
const LEGACY_AUTHORIZATION_ID = /^org-(\d{2,13})-(EFACTURA|ETRANSPORT)$/;

export function legacyAuthorizationId(cif: string, scope: OAuthScope): string {
  return `org-${cif}-${scope}`;
}

/** The authorization's id: its own for new ones, derived from (CIF, scope) for legacy ones. */
export function authorizationIdOf(init: AuthorizationInit): string {
  return init.authorizationId ?? legacyAuthorizationId(init.cif, init.scope);
}

/** The workflow holding an authorization's tokens: `${tenant}/authorization/${id}` for new ones, the legacy id otherwise. */
export function workflowIdOfInit(init: AuthorizationInit): string {
  return init.authorizationId ? `${init.tenant}/authorization/${init.authorizationId}` : authorizationWorkflowId(init);
}

export function scopesOf(init: AuthorizationInit): OAuthScope[] {
  return init.scopes ?? [init.scope];
}

/**
 * The workflow of an authorization id within a tenant; undefined for an id of neither form. CIFs
 * are digits, so `${tenant}/authorization/az_…` never clashes with `${tenant}/oauth/{cif}/{scope}`.
 */
export function workflowIdOfAuthorization(tenant: string, authorizationId: string): string | undefined {
  if (AUTHORIZATION_ID_PATTERN.test(authorizationId)) return `${tenant}/authorization/${authorizationId}`;
  const legacy = LEGACY_AUTHORIZATION_ID.exec(authorizationId);
  if (legacy) return authorizationWorkflowId({ tenant, cif: legacy[1]!, scope: legacy[2] as OAuthScope });
  return undefined;
}

export function authorizationRequestWorkflowId(tenant: string, requestId: string): string {
  return `${tenant}/oauth-request/${requestId}`;
}
