import { ApplicationFailure } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { resendDelayMs, UPDATE_SENDS, updateDroppedUnprocessed } from '../../lib/temporal/update-failures';
import { OpenedTokenMemo } from '../../lib/crypto/opened-token-memo';
import type { TokenSealer } from '../../lib/crypto/token-seal';
import { currentTokenQuery, refreshUpdate } from '../../workflows/oauth/definitions';
import { linksIn, servingAuthorizationIn } from '../../services/clients/authorization-links';
import { OrganizationMemos } from '../../services/clients/organization-memo';
import type { AuthorizationKey, CurrentToken, RefreshRequest } from '../../workflows/oauth/types';
import { FAILURE_TYPES } from '../anaf/failures';
import { refusalInAnswer, refusalInFailure, reportCifRefused } from './call-refusals';

/** What a call made with a token reports back, so the provider can decide on one forced refresh. */
export type TokenCallResult<T> = { ok: true; value: T } | { ok: false; unauthorized: true; status: number };

const NEAR_EXPIRY_MS = 5 * 60 * 1000;
/** ANAF-call activities reuse a token this long: ANAF itself rejects a revoked one, which ends in NOT_AUTHORIZED as before. */
export const ANAF_CALL_TOKEN_CACHE_MS = 10_000;
/** How old a cached token may be to stand in while the authorization workflow cannot be asked. */
const STALE_TOKEN_MAX_AGE_MS = 5 * 60 * 1000;

function nearExpiry(token: CurrentToken): boolean {
  return token.accessTokenExpiresAt !== undefined && token.accessTokenExpiresAt - Date.now() < NEAR_EXPIRY_MS;
}

/**
 * Where a call's token comes from: the authorization workflow serving (tenant, CIF, scope). The
 * CIF and scope are for messages; several CIFs may share one workflow (one sign-in, many companies).
 */
export interface TokenSource extends AuthorizationKey {
  workflowId: string;
}

function notAuthorized(key: AuthorizationKey, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FAILURE_TYPES.NOT_AUTHORIZED,
    message: `No usable ${key.scope} authorization for CIF ${key.cif}: ${why}`,
    nonRetryable: true,
  });
}

/**
 * How activities get an access token at call time: ask the authorization's lifecycle
 * workflow (a query: no history event), open the sealed token in memory, and only when
 * it is about to expire or ANAF rejected it ask the workflow to refresh (an update, which
 * the workflow serializes — fifty callers at once still cause one refresh at ANAF).
 */
export class TokenProvider {
  constructor(
    private readonly client: Client,
    sealer: TokenSealer,
    /**
     * cacheMs: how long an activity worker reuses the workflow's answer (0: ask every time, e.g. right after a revoke).
     * organizations: the worker's shared reader of organizations' memos (its own, with cacheMs, when not given).
     */
    private readonly options: { cacheMs: number; organizations?: OrganizationMemos } = { cacheMs: 0 },
  ) {
    this.organizations = options.organizations ?? new OrganizationMemos(client, options.cacheMs);
    this.opened = new OpenedTokenMemo(sealer);
  }

  /** Access tokens opened once per sealed string, not once per call (lib/crypto/opened-token-memo.ts). */
  private readonly opened: OpenedTokenMemo;

  private handle(src: TokenSource) {
    return this.client.workflow.getHandle(src.workflowId);
  }

  /** The organizations' links, cached like the token (the routing rarely changes); stale while Temporal is away, as a cached token. */
  private readonly organizations: OrganizationMemos;

  /**
   * Which authorization serves (tenant, CIF, scope): the one the organization links for that scope
   * (PUT /v1/organizations/{cif}/authorizations/{scope}), else the legacy per-organization one.
   */
  async source(key: AuthorizationKey): Promise<TokenSource> {
    return { ...key, workflowId: servingAuthorizationIn(await this.linksOf(key), key).workflowId };
  }

  private async linksOf(key: AuthorizationKey) {
    try {
      return linksIn(await this.organizations.of(key.tenant, key.cif));
    } catch (err) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.NOT_SENT,
        message: `could not read which authorization serves CIF ${key.cif} for ${key.scope}: ${(err as Error)?.message ?? String(err)}`,
      });
    }
  }

  /**
   * The last answer of each authorization's query, for a few seconds: a busy worker would
   * otherwise ask the authorization workflow once per ANAF call. A token ANAF rejects is
   * refreshed through the workflow as always, and the refresh replaces the cached answer.
   */
  private readonly recent = new Map<string, { token: CurrentToken; at: number }>();

  /** One query in flight per authorization in this process: fifty activities whose cache ran out ask once. */
  private readonly querying = new Map<string, Promise<CurrentToken>>();

  private async current(key: TokenSource): Promise<CurrentToken> {
    const id = key.workflowId;
    const cached = this.recent.get(id);
    if (cached && Date.now() - cached.at < this.options.cacheMs && !nearExpiry(cached.token)) return cached.token;
    let pending = this.querying.get(id);
    if (!pending) {
      pending = this.query(key).finally(() => this.querying.delete(id));
      this.querying.set(id, pending);
    }
    try {
      const token = await pending;
      this.recent.set(id, { token, at: Date.now() });
      return token;
    } catch (err) {
      // Temporal slow or away (a restart, or the query queued behind thousands of workflow tasks): a
      // token this worker read minutes ago and far from expiry still works at ANAF, which rejects a
      // revoked one (→ NOT_AUTHORIZED as always). Only for callers that accept a cached answer at all.
      const usable = cached && this.options.cacheMs > 0 && Date.now() - cached.at < STALE_TOKEN_MAX_AGE_MS && !nearExpiry(cached.token);
      if (usable && err instanceof ApplicationFailure && err.type === FAILURE_TYPES.NOT_SENT) return cached.token;
      throw err;
    }
  }

  private async query(key: TokenSource): Promise<CurrentToken> {
    let token: CurrentToken | null;
    try {
      token = await this.handle(key).query(currentTokenQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notAuthorized(key, 'never authorized');
      // Temporal unreachable or restarting: nothing has gone to ANAF yet, so any call may simply be retried.
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.NOT_SENT,
        message: `could not read the ${key.scope} token of CIF ${key.cif}: ${(err as Error)?.message ?? String(err)}`,
      });
    }
    if (!token) throw notAuthorized(key, 'revoked or needs re-authorization');
    if (nearExpiry(token)) {
      return this.refresh(key, { staleTokenId: token.tokenId, reason: 'EXPIRED' });
    }
    return token;
  }

  /**
   * One refresh update in flight per authorization and stale token in this process: the
   * activities of one worker that all saw the same token rejected share one answer.
   */
  private readonly inflight = new Map<string, Promise<CurrentToken>>();

  private refresh(key: TokenSource, req: RefreshRequest): Promise<CurrentToken> {
    const id = `${key.workflowId}|${req.reason}|${req.staleTokenId ?? ''}`;
    const existing = this.inflight.get(id);
    if (existing) return existing;
    const pending = this.refreshOnce(key, req)
      .then((token) => {
        this.recent.set(key.workflowId, { token, at: Date.now() });
        return token;
      })
      .finally(() => this.inflight.delete(id));
    this.inflight.set(id, pending);
    return pending;
  }

  private async refreshOnce(key: TokenSource, req: RefreshRequest): Promise<CurrentToken> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.handle(key).executeUpdate(refreshUpdate, { args: [req] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notAuthorized(key, 'never authorized');
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause;
          if (updateDroppedUnprocessed(err) && attempt < UPDATE_SENDS) {
            await new Promise((r) => setTimeout(r, resendDelayMs(attempt)));
            continue;
          }
          const type = cause instanceof ApplicationFailure ? cause.type : undefined;
          if (type === 'NeedsReauthorization' || /revoked|renewed by the user|not authorized/.test(cause?.message ?? '')) {
            throw notAuthorized(key, cause?.message ?? 'refresh refused');
          }
          throw ApplicationFailure.create({ type: 'TokenRefreshFailed', message: cause?.message ?? err.message });
        }
        throw err;
      }
    }
  }

  async accessToken(key: AuthorizationKey): Promise<{ tokenId: string; token: string }> {
    const cur = await this.current(await this.source(key));
    return { tokenId: cur.tokenId, token: this.opened.open(cur.sealedAccess) };
  }

  /** A forced refresh (API "refresh now"). */
  async forceRefresh(key: AuthorizationKey): Promise<void> {
    await this.refresh(await this.source(key), { reason: 'FORCED' });
  }

  /**
   * Runs `call` with the current token; if ANAF answers 401/403, first asks again which
   * authorization serves the CIF (the cached link may predate a relink or an unlink): a new one
   * is used as is (never refreshing the old one, someone else's sign-in); the same one gets one
   * forced refresh (unless someone already replaced that token), then exactly one more try.
   * ANAF's "no rights in SPV for this CIF" in the outcome is reported to the authorization that served it.
   */
  async withToken<T>(key: AuthorizationKey, call: (token: string) => Promise<TokenCallResult<T>>): Promise<TokenCallResult<T>> {
    let served: TokenSource | undefined;
    try {
      const result = await this.routed(key, call, (src) => (served = src));
      if (result.ok) this.tellRefusal(served, refusalInAnswer(result.value));
      return result;
    } catch (err) {
      this.tellRefusal(served, refusalInFailure(err));
      throw err;
    }
  }

  private async routed<T>(
    key: AuthorizationKey,
    call: (token: string) => Promise<TokenCallResult<T>>,
    serving: (src: TokenSource) => void,
  ): Promise<TokenCallResult<T>> {
    const src = await this.source(key);
    const first = await this.current(src);
    serving(src);
    const result = await call(this.opened.open(first.sealedAccess));
    if (result.ok) return result;
    // ANAF refused the token: the company may have been linked to another sign-in meanwhile.
    this.organizations.forget(key.tenant, key.cif);
    const now = await this.source(key);
    serving(now);
    if (now.workflowId !== src.workflowId) return this.withTokenFrom(now, call);
    return this.retryRefreshed(src, first, call);
  }

  /**
   * ANAF refused the CIF for the authorization whose token made the call: tell it (it pushes
   * authorization.cif_refused), beside the call and never failing it — the call ends as it would anyway.
   */
  private tellRefusal(served: TokenSource | undefined, reason: string | undefined): void {
    if (served && reason !== undefined) void reportCifRefused(this.client, served, reason);
  }

  /** withToken with the token of one given authorization (checking that it covers a CIF before linking it). */
  async withTokenFrom<T>(key: TokenSource, call: (token: string) => Promise<TokenCallResult<T>>): Promise<TokenCallResult<T>> {
    const first = await this.current(key);
    const result = await call(this.opened.open(first.sealedAccess));
    if (result.ok) return result;
    return this.retryRefreshed(key, first, call);
  }

  private async retryRefreshed<T>(
    key: TokenSource,
    rejected: CurrentToken,
    call: (token: string) => Promise<TokenCallResult<T>>,
  ): Promise<TokenCallResult<T>> {
    const fresh = await this.refresh(key, { staleTokenId: rejected.tokenId, reason: 'REJECTED' });
    return call(this.opened.open(fresh.sealedAccess));
  }
}
