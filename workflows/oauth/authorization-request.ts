import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OAuthAnafActivities, OAuthOrchestrationActivities } from '../../activities/oauth';
import { AnafCif, AnafOutcome, AnafService, AnafStage, AnafTenant } from '../../lib/temporal/search-attributes';
import { ANAF_PRIORITY, oauthPriority } from '../shared/anaf-priorities';
import { causeType, failureMessage } from '../shared/anaf-failures';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import { authorizeUrlQuery, callbackUpdate, requestStatusQuery, signInLinkQuery } from './definitions';
import type {
  AuthorizationInit,
  AuthorizationRequestInit,
  AuthorizationRequestStatus,
  AuthorizationRequestView,
  CallbackResult,
} from './types';

function activities() {
  const anaf = proxyActivities<OAuthAnafActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    // ANAF's code is valid for 60 s: a few quick attempts, never a long backoff.
    startToCloseTimeout: '15 seconds',
    scheduleToCloseTimeout: '50 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 4 },
    // First on the ANAF queue: behind a saturated budget the code would expire in the queue.
    ...oauthPriority(ANAF_PRIORITY.CODE_EXCHANGE),
  });
  const local = proxyActivities<OAuthOrchestrationActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
  });
  // proxyActivities returns a Proxy: pick the functions, a spread would copy nothing.
  return { exchangeAuthorizationCode: anaf.exchangeAuthorizationCode, installAuthorizationTokens: local.installAuthorizationTokens };
}

/** Equal hex digests, in time that does not depend on where they differ. */
function sameDigest(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/** Does the callback carry this request's state? New requests compare hashes (the state is not kept), legacy ones the state. */
function stateMatches(init: AuthorizationRequestInit, input: { state?: string; stateHash?: string }): boolean {
  if (init.stateHash) return input.stateHash !== undefined && sameDigest(input.stateHash, init.stateHash);
  return input.state !== undefined && input.state === init.state;
}

/** The authorization the tokens go to: the organization's (legacy), or a new sign-in's with the companies to link. */
function authorizationInitOf(init: AuthorizationRequestInit): AuthorizationInit {
  const base = {
    tenant: init.tenant,
    cif: init.cif,
    scope: init.scope,
    credentialSetId: init.credentialSetId,
    clientId: init.clientId,
    settings: init.settings,
    // Only requests that asked for events (legacy activity inputs stay as they were).
    ...(init.webhookUrl ? { webhookUrl: init.webhookUrl } : {}),
  };
  if (!init.authorizationId) return base;
  return {
    ...base,
    authorizationId: init.authorizationId,
    scopes: init.scopes ?? [init.scope],
    companies: init.organizations ?? [],
    ...(init.label ? { label: init.label } : {}),
  };
}

/**
 * One authorization request: the browser goes to ANAF, ANAF sends it back to our
 * callback with a code and our `state`. This workflow waits for that callback (or
 * expires), exchanges the code within ANAF's 60 s, and hands the tokens to the
 * authorization's lifecycle workflow. A state is accepted once; the code arrives sealed.
 */
export async function oauthAuthorizationRequest(init: AuthorizationRequestInit): Promise<AuthorizationRequestView> {
  const { exchangeAuthorizationCode, installAuthorizationTokens } = activities();
  let status: AuthorizationRequestStatus = 'WAITING';
  let completedAt: string | undefined;
  let error: string | undefined;
  let claimed = false;

  const view = (): AuthorizationRequestView => ({
    id: init.requestId,
    cif: init.cif,
    scope: init.scope,
    status,
    url: init.authorizeUrl,
    shortUrl: init.shortUrl,
    createdAt: init.createdAt,
    expiresAt: init.expiresAt,
    ...(completedAt ? { completedAt } : {}),
    ...(error ? { error } : {}),
    ...(init.authorizationId
      ? {
          authorizationId: init.authorizationId,
          scopes: init.scopes ?? [init.scope],
          organizations: init.organizations ?? [],
          ...(init.label ? { label: init.label } : {}),
        }
      : {}),
  });

  function finish(next: AuthorizationRequestStatus, err?: string): void {
    status = next;
    completedAt = new Date(Date.now()).toISOString();
    if (err) error = err;
    upsertSearchAttributes([
      { key: AnafStage, value: next },
      { key: AnafOutcome, value: next },
    ]);
  }

  upsertSearchAttributes([
    { key: AnafTenant, value: init.tenant },
    { key: AnafService, value: 'oauth-request' },
    // A sign-in for many companies has no one CIF (new requests only: legacy ones upsert exactly as before).
    ...(init.authorizationId ? [] : [{ key: AnafCif, value: init.cif }]),
    { key: AnafStage, value: status },
  ]);

  setHandler(requestStatusQuery, view);
  setHandler(authorizeUrlQuery, () => (status === 'WAITING' ? init.authorizeUrl : null));
  setHandler(signInLinkQuery, () =>
    status === 'WAITING' && init.stateHash && init.signInUrl ? { url: init.signInUrl, stateHash: init.stateHash } : null,
  );

  setHandler(
    callbackUpdate,
    async (input): Promise<CallbackResult> => {
      claimed = true;
      if (input.error || !input.sealedCode) {
        const message = input.errorDescription ? `${input.error}: ${input.errorDescription}` : (input.error ?? 'no code in the callback');
        finish('DENIED', message);
        return { outcome: 'DENIED', message, ...(init.onFailureReturnUrl ? { returnUrl: init.onFailureReturnUrl } : {}) };
      }
      try {
        const tokens = await exchangeAuthorizationCode({ credentialSetId: init.credentialSetId, sealedCode: input.sealedCode });
        await installAuthorizationTokens({
          init: authorizationInitOf(init),
          request: {
            tokens,
            source: 'AUTHORIZATION',
            credentialSetId: init.credentialSetId,
            clientId: init.clientId,
            ...(init.webhookUrl ? { webhookUrl: init.webhookUrl } : {}),
          },
        });
        finish('COMPLETED');
        return {
          outcome: 'AUTHORIZED',
          message: init.authorizationId
            ? `Signed in (${(init.scopes ?? [init.scope]).join(', ')}); ${init.organizations?.length ?? 0} companies are being checked and linked`
            : `${init.scope} authorized for CIF ${init.cif}`,
          ...(init.onSuccessReturnUrl ? { returnUrl: init.onSuccessReturnUrl } : {}),
        };
      } catch (err) {
        const message = failureMessage(err);
        finish('FAILED', message);
        return {
          outcome: 'FAILED',
          message,
          ...(init.onFailureReturnUrl ? { returnUrl: init.onFailureReturnUrl } : {}),
          ...(causeType(err) === 'OAuthInvalidGrant' ? { codeRejected: true } : {}),
        };
      }
    },
    {
      // Rejected updates leave no trace in history: a forged or replayed state costs nothing.
      validator: (input) => {
        if (!stateMatches(init, input)) throw ApplicationFailure.create({ type: 'StateMismatch', message: 'state does not match' });
        if (claimed || status !== 'WAITING') {
          throw ApplicationFailure.create({ type: 'StateAlreadyUsed', message: `this authorization request is ${status}` });
        }
        if (Date.now() >= Date.parse(init.expiresAt)) {
          throw ApplicationFailure.create({ type: 'StateExpired', message: 'this authorization request has expired' });
        }
      },
    },
  );

  const remaining = Date.parse(init.expiresAt) - Date.now();
  const answered = await condition(() => claimed, Math.max(1, remaining));
  if (!answered) finish('EXPIRED', 'no callback before the request expired');
  await condition(() => status !== 'WAITING' && allHandlersFinished());
  return view();
}
