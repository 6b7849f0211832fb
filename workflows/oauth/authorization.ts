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
import { sealedUnder } from '../../lib/sealed-secret-format';
import { AnafCif, AnafNeedsAttention, AnafService, AnafStage, AnafTenant } from '../search-attributes';
import { causeType, failureMessage } from '../shared/anaf-failures';
import { ANAF_PRIORITY, oauthPriority } from '../shared/anaf-priorities';
import { anafTaskQueueFor } from '../task-queues';
import { revocationConfirmed } from './revocation';
import { currentTokenQuery, installUpdate, refreshUpdate, resealUpdate, revokeUpdate, statusQuery } from './definitions';
import type {
  AuthorizationEvent,
  AuthorizationInit,
  AuthorizationStatus,
  AuthorizationView,
  CurrentToken,
  InstallTokensRequest,
  RefreshRequest,
  SealedTokens,
} from './types';


interface LifecycleState {
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

/**
 * One per (tenant, CIF, scope): the single owner of an authorization's tokens. It
 * refreshes them ahead of expiry, serializes every refresh (ANAF rotates refresh tokens,
 * so two concurrent refreshes could destroy the authorization), revokes on request, and
 * continues-as-new to keep its history short. Tokens are held sealed, never plaintext.
 */
export async function oauthAuthorization(input: AuthorizationInput): Promise<void> {
  const now = () => Date.now();
  const { refreshAuthorizationTokens, revokeAuthorizationTokens } = anafActivities();
  const state: LifecycleState = input.carried ?? {
    init: input.init,
    status: 'PENDING',
    createdAt: now(),
    updatedAt: now(),
    refreshCount: 0,
    consecutiveFailures: 0,
    events: [],
  };
  let refreshInFlight: Promise<CurrentToken> | undefined;
  let refreshWanted: RefreshRequest | undefined;
  let wake = false;

  function record(event: string, detail?: string): void {
    state.updatedAt = now();
    state.events.push({ at: new Date(state.updatedAt).toISOString(), event, ...(detail ? { detail } : {}) });
    if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
  }

  function refreshTokenExpiringSoon(): boolean {
    const exp = state.tokens?.refreshTokenExpiresAt;
    return exp !== undefined && exp - now() <= state.init.settings.warnBeforeRefreshExpiryMs;
  }

  function nextRefreshAt(): number | undefined {
    const t = state.tokens;
    if (!t || state.status === 'REVOKED' || state.status === 'REVOCATION_UNCONFIRMED' || state.status === 'NEEDS_REAUTHORIZATION' || state.status === 'EXPIRED') {
      return undefined;
    }
    const planned = t.accessTokenExpiresAt !== undefined ? t.accessTokenExpiresAt - state.init.settings.refreshLeadMs : t.obtainedAt + DEFAULT_REFRESH_EVERY_MS;
    // Never refresh twice in a row without pause when the lead is longer than the token's life.
    const earliest = (state.lastRefreshAt ?? t.obtainedAt) + (state.consecutiveFailures > 0 ? RETRY_FAILED_REFRESH_AFTER_MS : 60_000);
    return Math.max(planned, earliest);
  }

  function publish(): void {
    upsertSearchAttributes([
      { key: AnafTenant, value: state.init.tenant },
      { key: AnafService, value: 'oauth' },
      { key: AnafCif, value: state.init.cif },
      { key: AnafStage, value: state.status },
      {
        key: AnafNeedsAttention,
        value: state.status === 'NEEDS_REAUTHORIZATION' || state.status === 'EXPIRED' || state.status === 'REVOCATION_UNCONFIRMED' || refreshTokenExpiringSoon(),
      },
    ]);
  }

  function setStatus(status: AuthorizationStatus): void {
    state.status = status;
    state.updatedAt = now();
    publish();
  }

  function view(): AuthorizationView {
    const t = state.tokens;
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
      ...(nextRefreshAt() ? { nextRefreshAt: iso(nextRefreshAt()) } : {}),
      ...(state.lastError ? { lastError: state.lastError } : {}),
      refreshCount: state.refreshCount,
      refreshTokenExpiringSoon: refreshTokenExpiringSoon(),
      ...(state.revocation ? { revocation: { at: iso(state.revocation.at)!, outcome: state.revocation.outcome } } : {}),
      recentEvents: [...state.events],
    };
  }

  function current(): CurrentToken | null {
    const t = state.tokens;
    if (!t || state.status === 'REVOKED' || state.status === 'REVOCATION_UNCONFIRMED' || state.status === 'NEEDS_REAUTHORIZATION') return null;
    return { tokenId: t.tokenId, sealedAccess: t.sealedAccess, ...(t.accessTokenExpiresAt ? { accessTokenExpiresAt: t.accessTokenExpiresAt } : {}) };
  }

  async function refresh(reason: RefreshRequest['reason']): Promise<CurrentToken> {
    const tokens = state.tokens;
    if (!tokens?.sealedRefresh) {
      setStatus('NEEDS_REAUTHORIZATION');
      state.lastError = 'no refresh token: authorize again';
      record('REFRESH_IMPOSSIBLE', state.lastError);
      throw ApplicationFailure.create({ type: 'NeedsReauthorization', message: state.lastError });
    }
    setStatus('REFRESHING');
    record('REFRESH_STARTED', reason);
    try {
      const fresh = await refreshAuthorizationTokens({ credentialSetId: state.init.credentialSetId, sealedRefresh: tokens.sealedRefresh });
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
      setStatus('ACTIVE');
      record('REFRESHED');
      return current()!;
    } catch (err) {
      state.lastError = failureMessage(err);
      state.lastRefreshAt = now();
      if (causeType(err) === 'OAuthInvalidGrant') {
        setStatus('NEEDS_REAUTHORIZATION');
        record('REFRESH_REJECTED', state.lastError);
        throw ApplicationFailure.create({ type: 'NeedsReauthorization', message: state.lastError });
      }
      state.consecutiveFailures += 1;
      const expired = tokens.refreshTokenExpiresAt !== undefined && tokens.refreshTokenExpiresAt <= now();
      setStatus(expired ? 'EXPIRED' : 'ACTIVE');
      record('REFRESH_FAILED', state.lastError);
      throw ApplicationFailure.create({ type: 'RefreshFailed', message: state.lastError });
    }
  }

  /** Every refresh goes through here: concurrent askers share the one in flight. */
  function refreshOnce(reason: RefreshRequest['reason']): Promise<CurrentToken> {
    refreshInFlight ??= refresh(reason).finally(() => {
      refreshInFlight = undefined;
      wake = true;
    });
    return refreshInFlight;
  }

  setHandler(statusQuery, view);
  setHandler(currentTokenQuery, current);

  function install(req: InstallTokensRequest): AuthorizationView {
    state.tokens = onWorkflowClock(req.tokens, now());
    state.init = { ...state.init, credentialSetId: req.credentialSetId, clientId: req.clientId };
    state.consecutiveFailures = 0;
    delete state.lastError;
    delete state.revocation;
    setStatus('ACTIVE');
    record(req.source === 'IMPORT' ? 'TOKENS_IMPORTED' : 'AUTHORIZED');
    // Imported tokens are proven by refreshing at once.
    if (req.source === 'IMPORT') refreshWanted = { reason: 'FORCED' };
    wake = true;
    return view();
  }

  setHandler(installUpdate, install);

  setHandler(
    refreshUpdate,
    async (req) => {
      const cur = current();
      // Someone else already replaced the token the caller saw fail: hand out the new one.
      if (req.staleTokenId && cur && cur.tokenId !== req.staleTokenId && !refreshInFlight) return cur;
      if (refreshInFlight) return refreshInFlight;
      if (req.reason === 'EXPIRED' && cur && cur.accessTokenExpiresAt !== undefined && cur.accessTokenExpiresAt - now() > NEAR_EXPIRY_MS) {
        return cur;
      }
      return refreshOnce(req.reason);
    },
    {
      validator: (_req: RefreshRequest) => {
        if (!state.tokens) throw new Error('not authorized yet');
        if (state.status === 'REVOKED') throw new Error('authorization revoked');
        if (state.status === 'REVOCATION_UNCONFIRMED') throw new Error('authorization being revoked: ANAF has not confirmed the revocation yet');
        if (state.status === 'NEEDS_REAUTHORIZATION') throw new Error('authorization needs to be renewed by the user');
      },
    },
  );

  setHandler(revokeUpdate, async () => {
    if (state.status === 'REVOKED') return view();
    await refreshInFlight?.catch(() => undefined);
    const tokens = state.tokens;
    let outcome = 'NO_TOKENS';
    if (tokens) {
      const result = await revokeAuthorizationTokens({
        credentialSetId: state.init.credentialSetId,
        sealedAccess: tokens.sealedAccess,
        ...(tokens.sealedRefresh ? { sealedRefresh: tokens.sealedRefresh } : {}),
      });
      outcome = [result.refresh && `refresh token: ${result.refresh}`, result.access && `access token: ${result.access}`].filter(Boolean).join(', ');
      const confirmed = revocationConfirmed(result);
      if (!confirmed && patched(PATCH_REVOKE_NEEDS_CONFIRMATION)) {
        // ANAF did not say it revoked them (a gateway's redirect or page, an error, no answer):
        // they may still work there for months. Never used again here, but kept sealed, so the
        // next revoke (DELETE again) can still send them; an operator sees the flag meanwhile.
        state.revocation = { at: now(), outcome };
        setStatus('REVOCATION_UNCONFIRMED');
        record('REVOCATION_UNCONFIRMED', outcome);
        wake = true;
        return view();
      }
    }
    // Confirmed by ANAF (or, before the patch, whatever it answered): destroyed here too.
    delete state.tokens;
    state.revocation = { at: now(), outcome };
    setStatus('REVOKED');
    record('REVOKED', outcome);
    wake = true;
    return view();
  });

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
      record('TOKENS_RESEALED', req.keyId);
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

  if (input.install && !input.carried) install(input.install);
  publish();

  for (;;) {
    const due = nextRefreshAt();
    const warnAt = state.tokens?.refreshTokenExpiresAt !== undefined ? state.tokens.refreshTokenExpiresAt - state.init.settings.warnBeforeRefreshExpiryMs : undefined;
    const timers = [due, warnAt !== undefined && warnAt > now() ? warnAt : undefined].filter((t): t is number => t !== undefined);
    const wakeAt = timers.length ? Math.min(...timers) : undefined;
    wake = false;
    const woke =
      wakeAt === undefined
        ? await condition(() => wake || refreshWanted !== undefined || workflowInfo().continueAsNewSuggested).then(() => true)
        : await condition(() => wake || refreshWanted !== undefined || workflowInfo().continueAsNewSuggested, Math.max(1, wakeAt - now()));

    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5_000) {
      await condition(() => !refreshInFlight && allHandlersFinished());
      await continueAsNew<typeof oauthAuthorization>({ init: state.init, carried: state });
    }

    const wanted = refreshWanted;
    refreshWanted = undefined;
    const isDue = !woke && due !== undefined && due <= now();
    if ((wanted || isDue) && current() !== null) {
      await refreshOnce(wanted?.reason ?? 'EXPIRED').catch(() => undefined);
    } else if (!woke) {
      // The warning timer fired: publish the flag for the Web UI.
      record('REFRESH_TOKEN_EXPIRING_SOON');
      publish();
    }
  }
}
