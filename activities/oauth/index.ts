import { ApplicationFailure, Context, log } from '@temporalio/activity';
import {
  type Client,
  type WorkflowHandle,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { AppConfig } from '../../lib/config/config';
import { anafTokenRefreshes } from '../../lib/observability/metrics';
import { sealTokens } from '../../lib/crypto/sealed-tokens';
import type { TokenSealer } from '../../lib/crypto/token-seal';
import type {
  AuthorizationKey,
  AuthorizationInit,
  AuthorizationView,
  InstallTokensRequest,
  SealedTokens,
} from '../../workflows/oauth/types';
import type { oauthAuthorization } from '../../workflows/oauth/authorization';
import { CLIENT_REGISTRY_WORKFLOW_ID, resealClientSecretsUpdate } from '../../workflows/oauth/client-registry';
import { installUpdate, refreshUpdate, resealUpdate, statusQuery } from '../../workflows/oauth/definitions';
import { forgetCompanyUpdate } from '../../workflows/oauth/definitions';
import { type OAuthScope, workflowIdOfAuthorization, workflowIdOfInit } from '../../workflows/oauth/types';
import { authorizationLinksQuery, LINK_CHANGED, linkAuthorizationUpdate, organizationWorkflowId } from '../../workflows/organization';
import { AnafAuthorizationId } from '../../lib/temporal/search-attributes';
import { linksIn } from '../../services/clients/authorization-links';
import { describeOrganization } from '../../services/clients/organization-memo';
import { type CoverageAnswer, coverageCall } from './cif-coverage';
import { detectProblem, failureForError, failureForProblem } from '../anaf/failures';
import { anafFetch } from '../anaf/http';
import { AnafOAuthClient, type TokenAnswer } from './anaf-oauth-client';
import { CredentialSetLookup } from './credential-sets';
import type { RevokeOutcome } from './revoke-answer';
import { TokenProvider } from './token-provider';

export interface OAuthActivityDeps {
  config: Pick<AppConfig, 'anaf' | 'oauth' | 'temporal'>;
  sealer: TokenSealer;
  /** For handing tokens to the lifecycle workflow; only the orchestration worker needs it. */
  client?: Client;
}

/** Calls that reach ANAF: they run on the rate-limited ANAF task queue. */
export function createOAuthAnafActivities(deps: OAuthActivityDeps) {
  const client = new AnafOAuthClient(deps.config.anaf.oauthBaseUrl);
  const { sealer } = deps;
  const credentialSets = new CredentialSetLookup(deps.config, sealer, deps.client);

  const seal = (answer: TokenAnswer, previous?: { sealedRefresh: string; refreshToken: string }) => sealTokens(sealer, answer, previous);

  return {
    async exchangeAuthorizationCode(input: { credentialSetId: string; sealedCode: string }): Promise<SealedTokens> {
      const code = sealer.open(input.sealedCode);
      return seal(await credentialSets.withSet(input.credentialSetId, (set) => client.exchangeCode(set, code)));
    },

    async refreshAuthorizationTokens(input: { credentialSetId: string; sealedRefresh: string }): Promise<SealedTokens> {
      const refreshToken = sealer.open(input.sealedRefresh);
      let answer: TokenAnswer;
      try {
        answer = await credentialSets.withSet(input.credentialSetId, (set) => client.refresh(set, refreshToken));
      } catch (err) {
        const failure = err instanceof ApplicationFailure && err.type ? err.type : err instanceof Error ? err.name : 'unknown';
        anafTokenRefreshes.inc({ result: 'failed', failure });
        throw err;
      }
      anafTokenRefreshes.inc({ result: 'ok', failure: '' });
      return seal(answer, { sealedRefresh: input.sealedRefresh, refreshToken });
    },

    async revokeAuthorizationTokens(input: {
      credentialSetId: string;
      sealedAccess?: string;
      sealedRefresh?: string;
    }): Promise<{ refresh?: RevokeOutcome; access?: RevokeOutcome }> {
      // Read afresh: a revocation is rare, and one made with a secret rotated meanwhile would stay unconfirmed.
      const set = await credentialSets.open(input.credentialSetId, { fresh: true });
      // The refresh token first: revoking it is what stops new access tokens. Then the access
      // token too: whether ANAF ends it with its refresh token is not documented.
      const refresh = input.sealedRefresh ? await client.revoke(set, sealer.open(input.sealedRefresh), 'refresh_token') : undefined;
      const access = input.sealedAccess ? await client.revoke(set, sealer.open(input.sealedAccess), 'access_token') : undefined;
      return { ...(refresh ? { refresh } : {}), ...(access ? { access } : {}) };
    },

    /**
     * Does this authorization's token have rights in SPV for the CIF? One read-only listing call
     * (cif-coverage.ts); a token ANAF rejects is refreshed once through its workflow, as always.
     */
    async checkCifCoverage(input: { authorizationWorkflowId: string; scope: OAuthScope; cif: string }): Promise<CoverageAnswer> {
      if (!deps.client) throw new Error('checkCifCoverage needs a Temporal client');
      const provider = new TokenProvider(deps.client, sealer);
      const tenant = input.authorizationWorkflowId.split('/')[0]!;
      const result = await provider.withTokenFrom(
        { tenant, cif: input.cif, scope: input.scope, workflowId: input.authorizationWorkflowId },
        (token) => coverageCall(deps.config.anaf.apiBaseUrl, input.scope, input.cif, token),
      );
      return result.ok ? result.value : { covered: false, reason: `ANAF rejected the token (HTTP ${result.status}) even after a refresh` };
    },

    /** ANAF's TestOauth "hello" with the authorization's current token: proves it works end to end. */
    async testAuthorization(input: { key: AuthorizationKey; name: string }): Promise<{ status: number; body: string }> {
      if (!deps.client) throw new Error('testAuthorization needs a Temporal client');
      const provider = new TokenProvider(deps.client, sealer);
      const url = new URL('/TestOauth/jaxrs/hello', deps.config.anaf.apiBaseUrl);
      url.searchParams.set('name', input.name);
      const result = await provider.withToken(input.key, async (token) => {
        let res;
        try {
          res = await anafFetch({ method: 'GET', url: url.toString(), headers: { authorization: `Bearer ${token}` }, timeoutMs: 20_000 });
        } catch (err) {
          throw failureForError(err, { operation: 'TestOauth hello', idempotent: true });
        }
        const problem = detectProblem(res);
        if (problem?.kind === 'UNAUTHORIZED') return { ok: false as const, unauthorized: true as const, status: res.status };
        if (problem) throw failureForProblem(problem, { operation: 'TestOauth hello', idempotent: true });
        return { ok: true as const, value: { status: res.status, body: res.text().slice(0, 2_000) } };
      });
      return result.ok ? result.value : { status: result.status, body: 'ANAF rejected the token twice (after one forced refresh)' };
    },
  };
}

/** Link (tenant, CIF, scope) to `authorizationId`; with `expectedAuthorizationId`, only if that one (null: none) serves it now. */
export interface LinkOrganizationInput {
  tenant: string;
  cif: string;
  scope: OAuthScope;
  authorizationId: string;
  expectedAuthorizationId?: string | null;
}

export interface SweepSummary {
  checked: number;
  byStatus: Record<string, number>;
  /** Late or stuck authorizations whose refresh the sweep started. */
  nudged: number;
  nudgeFailures: number;
  needsAttention: number;
  /** Authorizations whose tokens were sealed again to the newest key (so older keys can be retired). */
  resealed?: number;
  resealFailures?: number;
}

/** An authorization is late when its planned refresh is this far overdue, stuck when REFRESHING this long. */
const LATE_AFTER_MS = 60 * 60 * 1000;

/** The validator's refusal when there is nothing to re-seal (workflows/oauth/authorization.ts). */
const NOTHING_TO_RESEAL = /already sealed to the newest key|no tokens held/;

/** Temporal-side OAuth activities: they talk to our own workflows, not to ANAF. */
export function createOAuthOrchestrationActivities(deps: OAuthActivityDeps) {
  const { sealer } = deps;

  /** Every held token sealed to the newest key, so a retired key (or TOKEN_ENCRYPTION_KEYS) can go within a day. */
  async function resealToNewestKey(handle: WorkflowHandle, summary: SweepSummary, update = resealUpdate): Promise<void> {
    try {
      const { resealed } = await handle.executeUpdate(update, { args: [{ keyId: sealer.newestKeyId }] });
      if (resealed > 0) summary.resealed = (summary.resealed ?? 0) + 1;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      if (err instanceof Error && NOTHING_TO_RESEAL.test(`${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`)) return;
      summary.resealFailures = (summary.resealFailures ?? 0) + 1;
      log.warn('re-seal failed', { workflowId: handle.workflowId, error: err instanceof Error ? err.name : 'unknown' });
    }
  }

  return {
    /** Opens each sealed secret and seals it to the newest key; the plaintext never leaves this function. */
    async resealTokenSecrets(input: { sealed: string[] }): Promise<string[]> {
      return input.sealed.map((s) => sealer.reseal(s));
    },

    async sweepAuthorizations(): Promise<SweepSummary> {
      const client = deps.client;
      if (!client) throw new Error('sweepAuthorizations needs a Temporal client');
      const summary: SweepSummary = {
        checked: 0,
        byStatus: {},
        nudged: 0,
        nudgeFailures: 0,
        needsAttention: 0,
        resealed: 0,
        resealFailures: 0,
      };
      const now = Date.now();
      for await (const wf of client.workflow.list({ query: `AnafService = 'oauth' AND ExecutionStatus = 'Running'` })) {
        Context.current().heartbeat(summary.checked);
        const handle = client.workflow.getHandle(wf.workflowId);
        let view: AuthorizationView;
        try {
          view = await handle.query(statusQuery);
        } catch {
          continue;
        }
        summary.checked += 1;
        summary.byStatus[view.status] = (summary.byStatus[view.status] ?? 0) + 1;
        await resealToNewestKey(handle, summary);
        const attention = view.status === 'NEEDS_REAUTHORIZATION' || view.status === 'EXPIRED' || view.status === 'REVOCATION_UNCONFIRMED';
        if (attention || view.refreshTokenExpiringSoon) summary.needsAttention += 1;
        const late = view.status === 'ACTIVE' && view.nextRefreshAt !== undefined && Date.parse(view.nextRefreshAt) < now - LATE_AFTER_MS;
        const stuck = view.status === 'REFRESHING' && Date.parse(view.updatedAt) < now - LATE_AFTER_MS;
        if (!late && !stuck) continue;
        try {
          await handle.executeUpdate(refreshUpdate, { args: [{ reason: 'SWEEP' }] });
          summary.nudged += 1;
        } catch {
          summary.nudgeFailures += 1;
        }
      }
      // The client secrets operators added through the API are sealed with the same keys.
      await resealToNewestKey(client.workflow.getHandle(CLIENT_REGISTRY_WORKFLOW_ID), summary, resealClientSecretsUpdate);
      return summary;
    },

    /**
     * The organization's link for a scope now names this authorization (an update its workflow
     * serializes); the authorization that served it before forgets the company. Idempotent.
     */
    async linkOrganizationAuthorization(
      input: LinkOrganizationInput,
    ): Promise<{ previousAuthorizationId?: string; /** null: unlinked meanwhile. */ linkedNow?: string | null }> {
      const client = deps.client;
      if (!client) throw new Error('linkOrganizationAuthorization needs a Temporal client');
      const org = client.workflow.getHandle(organizationWorkflowId(input.tenant, input.cif));
      const request = {
        scope: input.scope,
        authorizationId: input.authorizationId,
        ...(input.expectedAuthorizationId !== undefined ? { expectedAuthorizationId: input.expectedAuthorizationId } : {}),
      };
      let linked: { previousAuthorizationId?: string };
      try {
        linked = await org.executeUpdate(linkAuthorizationUpdate, { args: [request] });
      } catch (err) {
        if (
          err instanceof WorkflowNotFoundError ||
          (err instanceof WorkflowUpdateFailedError && /deleted/.test(err.cause?.message ?? ''))
        ) {
          throw ApplicationFailure.create({
            type: 'OrganizationNotFound',
            message: `no organization with CIF ${input.cif}`,
            nonRetryable: true,
          });
        }
        if (err instanceof WorkflowUpdateFailedError && (err.cause as { type?: string } | undefined)?.type === LINK_CHANGED) {
          throw ApplicationFailure.create({ type: LINK_CHANGED, message: err.cause?.message ?? 'the link changed', nonRetryable: true });
        }
        throw err;
      }
      const previous = linked.previousAuthorizationId && workflowIdOfAuthorization(input.tenant, linked.previousAuthorizationId);
      if (previous) {
        // Best effort: only its list of companies is stale otherwise, never the routing.
        await client.workflow
          .getHandle(previous)
          .executeUpdate(forgetCompanyUpdate, { args: [{ cif: input.cif, scope: input.scope }] })
          .catch((err: unknown) =>
            log.warn('previous authorization did not forget the company', { error: err instanceof Error ? err.name : 'unknown' }),
          );
      }
      // Read again: a link that landed since ours made this authorization forget the company
      // (maybe before its workflow lists it); the caller lists it only if it is still ours.
      const linkedNow = (await org.query(authorizationLinksQuery))[input.scope];
      return { ...linked, linkedNow: linkedNow ?? null };
    },

    /**
     * The organization's link for a scope now, read again by a sign-in that was told to forget the
     * company while its own link was under way (from the memo, as the routing reads it). A
     * deleted organization (ended, or gone) links nothing.
     */
    async readOrganizationLink(input: {
      tenant: string;
      cif: string;
      scope: OAuthScope;
    }): Promise<{ linkedNow: string | null; organizationDeleted?: true }> {
      if (!deps.client) throw new Error('readOrganizationLink needs a Temporal client');
      const organization = await describeOrganization(deps.client, input.tenant, input.cif);
      if (!organization?.running) return { linkedNow: null, organizationDeleted: true };
      return { linkedNow: linksIn(organization.memo)[input.scope] ?? null };
    },

    /**
     * Hands fresh tokens to the authorization's lifecycle workflow, starting it if this is
     * the first authorization for (tenant, CIF, scope): Update-with-Start, so the caller
     * learns at once whether the lifecycle accepted them.
     */
    async installAuthorizationTokens(input: { init: AuthorizationInit; request: InstallTokensRequest }): Promise<AuthorizationView> {
      const client = deps.client;
      if (!client) throw new Error('installAuthorizationTokens needs a Temporal client');
      const startOp = new WithStartWorkflowOperation<typeof oauthAuthorization>('oauthAuthorization', {
        workflowId: workflowIdOfInit(input.init),
        taskQueue: deps.config.temporal.taskQueue,
        args: [{ init: input.init }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // New sign-ins only: a legacy start stays exactly as before.
        ...(input.init.authorizationId ? { typedSearchAttributes: [{ key: AnafAuthorizationId, value: input.init.authorizationId }] } : {}),
      });
      return client.workflow.executeUpdateWithStart(installUpdate, { args: [input.request], startWorkflowOperation: startOp });
    },
  };
}

export type OAuthAnafActivities = ReturnType<typeof createOAuthAnafActivities>;
export type OAuthOrchestrationActivities = ReturnType<typeof createOAuthOrchestrationActivities>;
