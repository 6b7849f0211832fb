import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OAuthAnafActivities, OAuthOrchestrationActivities } from '../../activities/oauth';
import { sealedUnder } from '../../lib/crypto/sealed-secret-format';
import { AnafCif, AnafNeedsAttention, AnafService, AnafStage, AnafTenant } from '../../lib/temporal/search-attributes';
import { causeType, failureMessage } from '../shared/anaf-failures';
import { ANAF_PRIORITY, oauthPriority } from '../shared/anaf-priorities';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import { revocationConfirmed } from './revocation';
import { currentTokenQuery, installUpdate, refreshUpdate, resealUpdate, revokeUpdate, statusQuery } from './definitions';
import { handleCompanies, linkPendingCompanies } from './authorization-companies';
import { deliverQueuedEvents, emit, emitLapsing, type EventOutbox, handleWebhookSetting, nextLapsingAt, webhookView } from './events';
import { authorizationIdOf, scopesOf } from './types';
import type {
  AuthorizationCompany,
  AuthorizationEvent,
  AuthorizationInit,
  AuthorizationStatus,
  AuthorizationView,
  CurrentToken,
  InstallTokensRequest,
  RefreshRequest,
  SealedTokens,
} from './types';

export interface LifecycleState {
  init: AuthorizationInit;
  status: AuthorizationStatus;
  createdAt: number;
  updatedAt: number;
  tokens?: SealedTokens;
  lastRefreshAt?: number;
  lastError?: string;
  refreshCount: number;
  consecutiveFailures: number;
  revocation?: { at: number; outcome: string };
  events: AuthorizationEvent[];
  /** Companies linked to this authorization (new handlers only; legacy histories never set it). */
  companies?: AuthorizationCompany[];
  /** CIFs the sign-in asked to link that are not checked yet (new authorizations only). */
  pendingCompanies?: string[];
  /** Events for the webhook not delivered yet, and the last delivery (authorizations with a webhookUrl only). */
  outbox?: EventOutbox;
}

export interface AuthorizationInput {
  init: AuthorizationInit;
  /** Tokens to hold from the start (as the install update would hand them over). */
  install?: InstallTokensRequest;
  /** Set by continueAsNew only. */
  carried?: LifecycleState;
}

const MAX_EVENTS = 20;
/** Without an expiry (opaque token, no expires_in) refresh on this rhythm. */
const DEFAULT_REFRESH_EVERY_MS = 30 * 24 * 3600 * 1000;
/** After a refresh that failed for a transient reason, try again this much later. */
const RETRY_FAILED_REFRESH_AFTER_MS = 60 * 60 * 1000;
/** A caller asking for a token gets a refresh if it expires within this margin. */
const NEAR_EXPIRY_MS = 5 * 60 * 1000;
/**
 * Before it, any answer to the revoke ended the authorization as REVOKED and dropped the
 * tokens, even a gateway's redirect that never reached the IdP; after it only ANAF's
 * confirmation does (see revokeUpdate's handler).
 */
export const PATCH_REVOKE_NEEDS_CONFIRMATION = 'oauth-revoke-needs-anaf-confirmation';

function anafActivities() {
  return proxyActivities<OAuthAnafActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '30 seconds',
    // Transient failures (network, 5xx, 429, gateway pages) back off up to ~15 minutes;
    // invalid_grant is non-retryable and ends in NEEDS_REAUTHORIZATION.
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '15 minutes', maximumAttempts: 8 },
    // Right after code exchanges: every ANAF call of the organization waits on a refresh.
    ...oauthPriority(ANAF_PRIORITY.TOKEN_REFRESH),
  });
}

/** Re-sealing runs on the orchestration queue: any worker holds the private keys, and it calls no ANAF. */
function resealActivities() {
  return proxyActivities<OAuthOrchestrationActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
  });
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * Expiry instants measured by the activity's clock, moved onto workflow time: the
 * schedule then depends on the token's lifetime, not on clock skew between hosts (and
 * holds under time-skipping tests).
 */
function onWorkflowClock(tokens: SealedTokens, now: number): SealedTokens {
  const shift = now - tokens.obtainedAt;
  return {
    ...tokens,
    obtainedAt: now,
    ...(tokens.accessTokenExpiresAt !== undefined ? { accessTokenExpiresAt: tokens.accessTokenExpiresAt + shift } : {}),
    ...(tokens.refreshTokenExpiresAt !== undefined ? { refreshTokenExpiresAt: tokens.refreshTokenExpiresAt + shift } : {}),
  };
}

/** The running authorization: its state and what its handlers share. One per workflow run. */
export interface Lifecycle {
  state: LifecycleState;
  anaf: ReturnType<typeof anafActivities>;
  refreshInFlight?: Promise<CurrentToken>;
  refreshWanted?: RefreshRequest;
  wake: boolean;
}

const now = () => Date.now();

export function record(lc: Lifecycle, event: string, detail?: string): void {
  const { state } = lc;
  state.updatedAt = now();
  state.events.push({ at: new Date(state.updatedAt).toISOString(), event, ...(detail ? { detail } : {}) });
  if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
}

function refreshTokenExpiringSoon({ state }: Lifecycle): boolean {
  const exp = state.tokens?.refreshTokenExpiresAt;
  return exp !== undefined && exp - now() <= state.init.settings.warnBeforeRefreshExpiryMs;
}

function nextRefreshAt({ state }: Lifecycle): number | undefined {
  const t = state.tokens;
  if (
    !t ||
    state.status === 'REVOKED' ||
    state.status === 'REVOCATION_UNCONFIRMED' ||
    state.status === 'NEEDS_REAUTHORIZATION' ||
    state.status === 'EXPIRED'
  ) {
    return undefined;
  }
  const planned =
    t.accessTokenExpiresAt !== undefined
      ? t.accessTokenExpiresAt - state.init.settings.refreshLeadMs
      : t.obtainedAt + DEFAULT_REFRESH_EVERY_MS;
  // Never refresh twice in a row without pause when the lead is longer than the token's life.
  const earliest = (state.lastRefreshAt ?? t.obtainedAt) + (state.consecutiveFailures > 0 ? RETRY_FAILED_REFRESH_AFTER_MS : 60_000);
  return Math.max(planned, earliest);
}

function publish(lc: Lifecycle): void {
  const { state } = lc;
  upsertSearchAttributes([
    { key: AnafTenant, value: state.init.tenant },
    { key: AnafService, value: 'oauth' },
    // A sign-in for many companies has no one CIF: its AnafAuthorizationId is set at start instead.
    ...(state.init.authorizationId ? [] : [{ key: AnafCif, value: state.init.cif }]),
    { key: AnafStage, value: state.status },
    {
      key: AnafNeedsAttention,
      value:
        state.status === 'NEEDS_REAUTHORIZATION' ||
        state.status === 'EXPIRED' ||
        state.status === 'REVOCATION_UNCONFIRMED' ||
        refreshTokenExpiringSoon(lc),
    },
  ]);
}

function setStatus(lc: Lifecycle, status: AuthorizationStatus): void {
  lc.state.status = status;
  lc.state.updatedAt = now();
  publish(lc);
}

export function view(lc: Lifecycle): AuthorizationView {
  const { state } = lc;
  const t = state.tokens;
  const next = nextRefreshAt(lc);
  return {
    tenant: state.init.tenant,
    cif: state.init.cif,
    scope: state.init.scope,
    status: state.status,
    clientId: state.init.clientId,
    credentialSetId: state.init.credentialSetId,
    createdAt: iso(state.createdAt)!,
    updatedAt: iso(state.updatedAt)!,
    ...(t?.accessTokenExpiresAt ? { accessTokenExpiresAt: iso(t.accessTokenExpiresAt) } : {}),
    ...(t?.refreshTokenExpiresAt ? { refreshTokenExpiresAt: iso(t.refreshTokenExpiresAt) } : {}),
    ...(state.lastRefreshAt ? { lastRefreshAt: iso(state.lastRefreshAt) } : {}),
    ...(next ? { nextRefreshAt: iso(next) } : {}),
    ...(state.lastError ? { lastError: state.lastError } : {}),
    refreshCount: state.refreshCount,
    refreshTokenExpiringSoon: refreshTokenExpiringSoon(lc),
    ...(state.revocation ? { revocation: { at: iso(state.revocation.at)!, outcome: state.revocation.outcome } } : {}),
    recentEvents: [...state.events],
    authorizationId: authorizationIdOf(state.init),
    scopes: scopesOf(state.init),
    ...(state.init.label ? { label: state.init.label } : {}),
    companies: [...(state.companies ?? [])],
    ...webhookView(lc),
  };
}

/** The token callers may use, or null when there is none usable. */
export function current({ state }: Lifecycle): CurrentToken | null {
  const t = state.tokens;
  if (!t || state.status === 'REVOKED' || state.status === 'REVOCATION_UNCONFIRMED' || state.status === 'NEEDS_REAUTHORIZATION')
    return null;
  return {
    tokenId: t.tokenId,
    sealedAccess: t.sealedAccess,
    ...(t.accessTokenExpiresAt ? { accessTokenExpiresAt: t.accessTokenExpiresAt } : {}),
  };
}

async function refresh(lc: Lifecycle, reason: RefreshRequest['reason']): Promise<CurrentToken> {
  const { state } = lc;
  const tokens = state.tokens;
  if (!tokens?.sealedRefresh) {
    setStatus(lc, 'NEEDS_REAUTHORIZATION');
    state.lastError = 'no refresh token: authorize again';
    record(lc, 'REFRESH_IMPOSSIBLE', state.lastError);
    emit(lc, 'authorization.needs_reauthorization', { reason: state.lastError });
    throw ApplicationFailure.create({ type: 'NeedsReauthorization', message: state.lastError });
  }
  setStatus(lc, 'REFRESHING');
  record(lc, 'REFRESH_STARTED', reason);
  try {
    const fresh = await lc.anaf.refreshAuthorizationTokens({
      credentialSetId: state.init.credentialSetId,
      sealedRefresh: tokens.sealedRefresh,
    });
    const rebased = onWorkflowClock(fresh, now());
    // An unrotated refresh token keeps the expiry we already hold on the workflow clock.
    if (rebased.sealedRefresh === tokens.sealedRefresh && tokens.refreshTokenExpiresAt !== undefined) {
      rebased.refreshTokenExpiresAt = tokens.refreshTokenExpiresAt;
    }
    state.tokens = rebased;
    state.lastRefreshAt = now();
    state.refreshCount += 1;
    state.consecutiveFailures = 0;
    delete state.lastError;
    setStatus(lc, 'ACTIVE');
    record(lc, 'REFRESHED');
    return current(lc)!;
  } catch (err) {
    state.lastError = failureMessage(err);
    state.lastRefreshAt = now();
    if (causeType(err) === 'OAuthInvalidGrant') {
      setStatus(lc, 'NEEDS_REAUTHORIZATION');
      record(lc, 'REFRESH_REJECTED', state.lastError);
      emit(lc, 'authorization.needs_reauthorization', { reason: state.lastError });
      throw ApplicationFailure.create({ type: 'NeedsReauthorization', message: state.lastError });
    }
    state.consecutiveFailures += 1;
    const expired = tokens.refreshTokenExpiresAt !== undefined && tokens.refreshTokenExpiresAt <= now();
    setStatus(lc, expired ? 'EXPIRED' : 'ACTIVE');
    record(lc, 'REFRESH_FAILED', state.lastError);
    throw ApplicationFailure.create({ type: 'RefreshFailed', message: state.lastError });
  }
}

/** Every refresh goes through here: concurrent askers share the one in flight. */
export function refreshOnce(lc: Lifecycle, reason: RefreshRequest['reason']): Promise<CurrentToken> {
  lc.refreshInFlight ??= refresh(lc, reason).finally(() => {
    lc.refreshInFlight = undefined;
    lc.wake = true;
  });
  return lc.refreshInFlight;
}

function install(lc: Lifecycle, req: InstallTokensRequest): AuthorizationView {
  const { state } = lc;
  state.tokens = onWorkflowClock(req.tokens, now());
  state.init = {
    ...state.init,
    credentialSetId: req.credentialSetId,
    clientId: req.clientId,
    ...(req.webhookUrl ? { webhookUrl: req.webhookUrl } : {}),
  };
  state.consecutiveFailures = 0;
  delete state.lastError;
  delete state.revocation;
  setStatus(lc, 'ACTIVE');
  record(lc, req.source === 'IMPORT' ? 'TOKENS_IMPORTED' : 'AUTHORIZED');
  emit(lc, 'authorization.active');
  // Imported tokens are proven by refreshing at once.
  if (req.source === 'IMPORT') lc.refreshWanted = { reason: 'FORCED' };
  lc.wake = true;
  return view(lc);
}

/** status, currentToken, install and refresh: how callers read and renew the tokens. */
function handleTokenRequests(lc: Lifecycle): void {
  const { state } = lc;
  setHandler(statusQuery, () => view(lc));
  setHandler(currentTokenQuery, () => current(lc));
  setHandler(installUpdate, (req) => install(lc, req));
  setHandler(
    refreshUpdate,
    async (req) => {
      const cur = current(lc);
      // Someone else already replaced the token the caller saw fail: hand out the new one.
      if (req.staleTokenId && cur && cur.tokenId !== req.staleTokenId && !lc.refreshInFlight) return cur;
      if (lc.refreshInFlight) return lc.refreshInFlight;
      if (req.reason === 'EXPIRED' && cur && cur.accessTokenExpiresAt !== undefined && cur.accessTokenExpiresAt - now() > NEAR_EXPIRY_MS) {
        return cur;
      }
      return refreshOnce(lc, req.reason);
    },
    {
      validator: (_req: RefreshRequest) => {
        if (!state.tokens) throw new Error('not authorized yet');
        if (state.status === 'REVOKED') throw new Error('authorization revoked');
        if (state.status === 'REVOCATION_UNCONFIRMED')
          throw new Error('authorization being revoked: ANAF has not confirmed the revocation yet');
        if (state.status === 'NEEDS_REAUTHORIZATION') throw new Error('authorization needs to be renewed by the user');
      },
    },
  );
}

async function revoke(lc: Lifecycle): Promise<AuthorizationView> {
  const { state } = lc;
  if (state.status === 'REVOKED') return view(lc);
  await lc.refreshInFlight?.catch(() => undefined);
  const tokens = state.tokens;
  let outcome = 'NO_TOKENS';
  if (tokens) {
    const result = await lc.anaf.revokeAuthorizationTokens({
      credentialSetId: state.init.credentialSetId,
      sealedAccess: tokens.sealedAccess,
      ...(tokens.sealedRefresh ? { sealedRefresh: tokens.sealedRefresh } : {}),
    });
    outcome = [result.refresh && `refresh token: ${result.refresh}`, result.access && `access token: ${result.access}`]
      .filter(Boolean)
      .join(', ');
    const confirmed = revocationConfirmed(result);
    if (!confirmed && patched(PATCH_REVOKE_NEEDS_CONFIRMATION)) {
      // ANAF did not say it revoked them (a gateway's redirect or page, an error, no answer):
      // they may still work there for months. Never used again here, but kept sealed, so the
      // next revoke (DELETE again) can still send them; an operator sees the flag meanwhile.
      state.revocation = { at: now(), outcome };
      setStatus(lc, 'REVOCATION_UNCONFIRMED');
      record(lc, 'REVOCATION_UNCONFIRMED', outcome);
      lc.wake = true;
      return view(lc);
    }
  }
  // Confirmed by ANAF (or, before the patch, whatever it answered): destroyed here too.
  delete state.tokens;
  state.revocation = { at: now(), outcome };
  setStatus(lc, 'REVOKED');
  record(lc, 'REVOKED', outcome);
  emit(lc, 'authorization.revoked');
  lc.wake = true;
  return view(lc);
}

/** revoke, and the re-seal sweep's resealTokens. */
function handleRevokeAndReseal(lc: Lifecycle): void {
  const { state } = lc;
  setHandler(revokeUpdate, () => revoke(lc));

  /**
   * The re-seal sweep's: tokens (including those kept for a revocation ANAF has not
   * confirmed) are sealed again to the newest key, so a retired key can be dropped within a
   * day. New handler, no patch: histories without this update never reach it, and the
   * validator's refusal (nothing to do) writes no event.
   */
  setHandler(
    resealUpdate,
    async (req) => {
      // No waiting for a refresh in flight: if one lands first, the check below keeps its tokens.
      const held = state.tokens;
      if (!held) return { resealed: 0 };
      const sealed = [held.sealedAccess, ...(held.sealedRefresh ? [held.sealedRefresh] : [])];
      const resealed = await resealActivities().resealTokenSecrets({ sealed });
      // A refresh or install meanwhile replaced them with tokens sealed to the newest key: keep those.
      if (state.tokens?.tokenId !== held.tokenId || state.tokens.sealedAccess !== held.sealedAccess) return { resealed: 0 };
      state.tokens = { ...state.tokens, sealedAccess: resealed[0]!, ...(held.sealedRefresh ? { sealedRefresh: resealed[1]! } : {}) };
      record(lc, 'TOKENS_RESEALED', req.keyId);
      return { resealed: sealed.length };
    },
    {
      validator: (req) => {
        const t = state.tokens;
        if (!t) throw new Error('no tokens held');
        if (sealedUnder(t.sealedAccess, req.keyId) && (!t.sealedRefresh || sealedUnder(t.sealedRefresh, req.keyId))) {
          throw new Error('already sealed to the newest key');
        }
      },
    },
  );
}

/** Refreshes when due, warns before the refresh token lapses, continues-as-new when the history grows. */
async function runLifecycle(lc: Lifecycle): Promise<never> {
  const { state } = lc;
  for (;;) {
    const due = nextRefreshAt(lc);
    const warnAt =
      state.tokens?.refreshTokenExpiresAt !== undefined
        ? state.tokens.refreshTokenExpiresAt - state.init.settings.warnBeforeRefreshExpiryMs
        : undefined;
    const warnTimer = warnAt !== undefined && warnAt > now() ? warnAt : undefined;
    // Authorizations with a webhook only (legacy histories: always undefined).
    const lapsingAt = nextLapsingAt(lc);
    const timers = [due, warnTimer, lapsingAt].filter((t): t is number => t !== undefined);
    const wakeAt = timers.length ? Math.min(...timers) : undefined;
    lc.wake = false;
    const woken = () => lc.wake || lc.refreshWanted !== undefined || workflowInfo().continueAsNewSuggested;
    const woke = wakeAt === undefined ? await condition(woken).then(() => true) : await condition(woken, Math.max(1, wakeAt - now()));

    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5_000) {
      await condition(() => !lc.refreshInFlight && allHandlersFinished());
      await continueAsNew<typeof oauthAuthorization>({ init: state.init, carried: state });
    }

    emitLapsing(lc);
    const wanted = lc.refreshWanted;
    lc.refreshWanted = undefined;
    const isDue = !woke && due !== undefined && due <= now();
    if ((wanted || isDue) && current(lc) !== null) {
      await refreshOnce(lc, wanted?.reason ?? 'EXPIRED').catch(() => undefined);
    } else if (!woke && (lapsingAt === undefined || (warnTimer !== undefined && warnTimer <= now()))) {
      // The warning timer fired (not only a lapsing webhook's): publish the flag for the Web UI.
      record(lc, 'REFRESH_TOKEN_EXPIRING_SOON');
      publish(lc);
    }
  }
}

/**
 * One authorization: the single owner of one ANAF token pair. Legacy ones are one per
 * (tenant, CIF, scope); those started by POST /v1/authorization-requests belong to a sign-in
 * and serve the companies linked to them (authorization-companies.ts). It refreshes the tokens
 * ahead of expiry, serializes every refresh (ANAF rotates refresh tokens, so two concurrent
 * refreshes could destroy the authorization), revokes on request, and continues-as-new to keep
 * its history short. Tokens are held sealed, never plaintext.
 */
export async function oauthAuthorization(input: AuthorizationInput): Promise<void> {
  const lc: Lifecycle = {
    anaf: anafActivities(),
    state: input.carried ?? {
      init: input.init,
      status: 'PENDING',
      createdAt: now(),
      updatedAt: now(),
      refreshCount: 0,
      consecutiveFailures: 0,
      events: [],
      ...(input.init.authorizationId ? { pendingCompanies: [...(input.init.companies ?? [])] } : {}),
    },
    wake: false,
  };
  handleTokenRequests(lc);
  handleRevokeAndReseal(lc);
  handleCompanies(lc);
  handleWebhookSetting(lc);

  if (input.install && !input.carried) install(lc, input.install);
  publish(lc);
  // Only sign-ins for many companies list some to link: gated on the new input, legacy histories never get here.
  if (lc.state.pendingCompanies?.length) void linkPendingCompanies(lc);
  // Waits without a command until an event is queued (only with a webhookUrl).
  void deliverQueuedEvents(lc);
  await runLifecycle(lc);
}
