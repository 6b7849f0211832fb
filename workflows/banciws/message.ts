import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BanciwsActivities } from '../../activities/banciws';
import type { WebhookActivities } from '../../activities/webhooks';
import { AnafCif, AnafNeedsAttention, AnafOutcome, AnafService, AnafStage, AnafTenant, AnafUploadIndex } from '../search-attributes';
import { banciwsTaskQueueFor } from '../task-queues';
import { banciwsMessageQuery, banciwsResolveSignal } from './definitions';
import type { BanciwsDecision, BanciwsMessageInput, BanciwsMessageView, BanciwsOutcome, BanciwsResolveAction, BanciwsStage } from './types';

/**
 * One signed PDF's exchange with ANAF over BANCIWS: uploadMesaj (→ index_incarcare) →
 * stareMesaj until final → descarcare of ANAF's answer (a signed PDF, stored) → result
 * ANSWERED | REJECTED | FAILED, then the webhook.
 *
 * The upload runs at most once per decision (no Temporal retries). Calls the gateway
 * intercepted, or that never connected, are retried by the workflow; an answer lost after
 * sending sends the workflow to RECONCILING: ANAF's receipts (listaMesaje) are searched for
 * our document, its index adopted when found, and the PDF re-sent only once the listing
 * delay has passed without any receipt since the attempt. Every choice is in `decisions`.
 */

const T = {
  NOT_SENT: 'AnafNotSent',
  ANSWER_LOST: 'AnafAnswerLost',
  RATE_LIMITED: 'AnafRateLimited',
  GATEWAY: 'AnafGatewayRejected',
  SESSION_LOST: 'AnafGatewaySessionLost',
  DAILY_LIMIT: 'AnafDailyLimit',
  NOT_READY: 'BanciwsNotReady',
  TIMEOUT: 'Timeout',
} as const;

/** The request surely did not reach the service. */
const SAFE_TO_RESEND = new Set<string>([T.NOT_SENT, T.RATE_LIMITED, T.GATEWAY, T.SESSION_LOST, T.DAILY_LIMIT]);
const MAX_SAFE_RETRIES = 30;
const MAX_LOST_ANSWERS = 3;
const MAX_DECISIONS = 50;
const NON_RETRYABLE_READS = ['AnafCertificateRefused', 'BanciwsNotConfigured', 'BanciwsInvalidRequest', 'BanciwsNoRights', 'BanciwsListRefused', 'AnafUnauthorized'];

function failureType(err: unknown): string | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  if (err.cause instanceof ApplicationFailure) return err.cause.type ?? undefined;
  if (err.cause instanceof TimeoutFailure) return T.TIMEOUT;
  return undefined;
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function retryDelayOf(err: unknown, fallbackMs: number): number {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  const d = cause instanceof ApplicationFailure ? cause.nextRetryDelay : undefined;
  return typeof d === 'number' ? d : fallbackMs;
}

export async function banciwsMessage(input: BanciwsMessageInput): Promise<BanciwsMessageView> {
  const { settings } = input;
  const anafQueue = banciwsTaskQueueFor(workflowInfo().taskQueue);
  const uploads = proxyActivities<BanciwsActivities>({
    taskQueue: anafQueue,
    startToCloseTimeout: '4 minutes',
    heartbeatTimeout: '20 seconds',
    // Once: a retried upload whose answer was lost could file the report twice. The workflow retries what is safe.
    retry: { maximumAttempts: 1 },
  });
  const reads = proxyActivities<BanciwsActivities>({
    taskQueue: anafQueue,
    startToCloseTimeout: '4 minutes',
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 12, nonRetryableErrorTypes: NON_RETRYABLE_READS },
  });
  const status = proxyActivities<BanciwsActivities>({
    taskQueue: anafQueue,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '20 seconds',
    // Each retry is one stareMesaj; "processing" is benign: no history event per poll.
    retry: {
      initialInterval: Math.max(1_000, settings.firstPollDelayMs),
      backoffCoefficient: 1.5,
      maximumInterval: settings.maxPollIntervalMs,
      maximumAttempts: 500,
      nonRetryableErrorTypes: NON_RETRYABLE_READS,
    },
  });
  const webhooks = proxyActivities<WebhookActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '3 days',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
  });

  const now = () => new Date(Date.now()).toISOString();
  const ref = { tenant: input.tenant, institutionId: input.institutionId };
  const state: BanciwsMessageView = {
    tenant: input.tenant,
    institutionId: input.institutionId,
    cui: input.cui,
    stage: 'QUEUED',
    errors: [],
    statusChecks: 0,
    attempts: [],
    decisions: [],
    needsAttention: false,
    document: input.document,
    ...(input.fileName ? { fileName: input.fileName } : {}),
    ...(input.callbackUrl ? { webhook: { url: input.callbackUrl, state: 'PENDING' as const } } : {}),
    receivedAt: input.receivedAt,
    updatedAt: now(),
  };
  let pendingResolve: BanciwsResolveAction | undefined;
  setHandler(banciwsMessageQuery, () => state);
  setHandler(banciwsResolveSignal, (action) => {
    pendingResolve = action;
  });
  const takeResolve = () => {
    const a = pendingResolve;
    pendingResolve = undefined;
    return a;
  };

  const setStage = (stage: BanciwsStage) => {
    if (state.stage === stage) return;
    state.stage = stage;
    state.updatedAt = now();
    upsertSearchAttributes([{ key: AnafStage, value: stage }]);
  };
  const attention = (reason: string | undefined) => {
    state.needsAttention = reason !== undefined;
    if (reason) state.attentionReason = reason;
    else delete state.attentionReason;
    upsertSearchAttributes([{ key: AnafNeedsAttention, value: state.needsAttention }]);
  };
  const decide = (decision: BanciwsDecision['decision'], detail: string) => {
    state.decisions.push({ at: now(), decision, detail });
    if (state.decisions.length > MAX_DECISIONS) state.decisions.splice(1, state.decisions.length - MAX_DECISIONS);
    state.updatedAt = now();
  };
  const setIndex = (index: string) => {
    state.uploadIndex = index;
    upsertSearchAttributes([{ key: AnafUploadIndex, value: index }]);
    upsertMemo({ summary: `BANCIWS report of ${input.institutionId}: upload index ${index}` });
  };

  upsertSearchAttributes([
    { key: AnafTenant, value: input.tenant },
    { key: AnafService, value: 'banciws' },
    { key: AnafCif, value: input.cui },
    { key: AnafStage, value: 'QUEUED' },
  ]);

  async function finish(outcome: BanciwsOutcome, errors: string[] = [], code?: string): Promise<BanciwsMessageView> {
    state.outcome = outcome;
    if (errors.length) state.errors = errors;
    if (code) state.code = code;
    upsertSearchAttributes([{ key: AnafOutcome, value: outcome }]);
    upsertMemo({ summary: `BANCIWS report of ${input.institutionId}: ${outcome}${state.uploadIndex ? ` (index ${state.uploadIndex})` : ''}` });
    if (outcome !== 'FAILED') attention(undefined);
    if (input.callbackUrl) {
      setStage('NOTIFYING');
      try {
        const delivered = await webhooks.deliverWebhook({
          url: input.callbackUrl,
          event: 'banciws.message.finished',
          deliveryId: workflowInfo().workflowId,
          payload: { id: workflowInfo().workflowId, institutionId: input.institutionId, outcome, code: state.code, uploadIndex: state.uploadIndex, idPortal: state.idPortal, errors: state.errors },
        });
        state.webhook = { url: input.callbackUrl, state: 'DELIVERED', attempts: delivered.attempt };
      } catch (err) {
        state.webhook = { url: input.callbackUrl, state: 'FAILED', error: failureMessage(err) };
      }
    }
    state.finishedAt = now();
    setStage('DONE');
    return state;
  }

  async function waitForOperator(reason: string): Promise<BanciwsResolveAction> {
    setStage('NEEDS_OPERATOR');
    attention(reason);
    decide('WAITING_FOR_OPERATOR', reason);
    await condition(() => pendingResolve !== undefined);
    attention(undefined);
    return takeResolve()!;
  }

  /** After a lost answer: adopt the index ANAF's receipt names, or re-send once the listing proves no receipt came. */
  async function reconcile(attemptStartedAt: number): Promise<BanciwsResolveAction> {
    setStage('RECONCILING');
    const deadline = attemptStartedAt + settings.listingDelayMs;
    const checked: string[] = [];
    for (;;) {
      const operator = takeResolve();
      if (operator) return operator;
      let found;
      try {
        found = await reads.findBanciwsUpload({ ...ref, sha256: input.document.sha256, sinceMs: attemptStartedAt, checkedIds: checked });
      } catch (err) {
        if (isCancellation(err)) throw err;
        return waitForOperator(`could not search ANAF's receipts for the lost upload: ${failureMessage(err)}`);
      }
      checked.push(...found.newlyChecked);
      if (found.match) {
        decide('ADOPTED_RECEIPT_INDEX', `ANAF's receipt ${found.match.receiptId} acknowledges our document as index ${found.match.uploadIndex}`);
        return { action: 'ADOPT_INDEX', uploadIndex: found.match.uploadIndex };
      }
      if (Date.now() >= deadline) {
        decide('REUPLOAD_PROVEN_ABSENT', `no receipt for our document ${Math.round((Date.now() - attemptStartedAt) / 1000)} s after the attempt (${checked.length} receipts compared)`);
        return { action: 'REUPLOAD' };
      }
      await condition(() => pendingResolve !== undefined, Math.min(60_000, Math.max(1_000, deadline - Date.now())));
    }
  }

  /** Uploads until ANAF gives an index; undefined when the message is finished. */
  async function upload(): Promise<string | undefined> {
    let safeRetries = 0;
    let lostInARow = 0;
    for (;;) {
      setStage('UPLOADING');
      const startedAt = Date.now();
      const n = state.attempts.length + 1;
      const at = new Date(startedAt).toISOString();
      try {
        const answer = await uploads.uploadBanciwsMessage({ ...ref, pdfKey: input.document.key });
        if (answer.accepted) {
          state.attempts.push({ n, startedAt: at, result: 'ACCEPTED', uploadIndex: answer.uploadIndex });
          return answer.uploadIndex;
        }
        state.attempts.push({ n, startedAt: at, result: 'REFUSED', error: answer.errors.join('; ') });
        await finish('REJECTED', answer.errors, 'UPLOAD_REFUSED');
        return undefined;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const type = failureType(err);
        if (type !== undefined && SAFE_TO_RESEND.has(type) && safeRetries < MAX_SAFE_RETRIES) {
          safeRetries += 1;
          state.attempts.push({ n, startedAt: at, result: 'NOT_SENT', error: failureMessage(err) });
          decide('SAFE_RETRY', `${type}: the service never saw the upload; sending again`);
          await sleep(retryDelayOf(err, Math.min(10 * 60_000, 2_000 * 2 ** Math.min(safeRetries, 8))));
          continue;
        }
        if (type === T.ANSWER_LOST || type === T.TIMEOUT || type === undefined) {
          state.attempts.push({ n, startedAt: at, result: 'ANSWER_LOST', error: failureMessage(err) });
          lostInARow += 1;
          const next =
            lostInARow > MAX_LOST_ANSWERS
              ? await waitForOperator(`${lostInARow} uploads in a row lost their answer; decide: adopt an index, re-upload or abandon`)
              : await reconcile(startedAt);
          const last = state.decisions.at(-1)?.decision;
          if (next.action === 'ADOPT_INDEX') {
            if (last !== 'ADOPTED_RECEIPT_INDEX') decide('OPERATOR_ADOPTED_INDEX', `index ${next.uploadIndex}${next.note ? `: ${next.note}` : ''}`);
            return next.uploadIndex;
          }
          if (next.action === 'ABANDON') {
            decide('OPERATOR_ABANDONED', next.note ?? 'abandoned by an operator');
            await finish('FAILED', ['abandoned by an operator while the upload was uncertain']);
            return undefined;
          }
          if (last !== 'REUPLOAD_PROVEN_ABSENT') decide('OPERATOR_REUPLOAD', next.note ?? 'operator chose to upload again');
          continue;
        }
        state.attempts.push({ n, startedAt: at, result: 'FAILED', error: failureMessage(err) });
        await finish('FAILED', [failureMessage(err)]);
        return undefined;
      }
    }
  }

  try {
    const index = await upload();
    if (index === undefined) return state;
    setIndex(index);
    setStage('POLLING');
    await sleep(settings.firstPollDelayMs);
    let polled;
    try {
      polled = await status.checkBanciwsStatus({ ...ref, uploadIndex: index });
      state.statusChecks += polled.attempt;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      const attempt = cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempt?: number } | undefined)?.attempt : undefined;
      state.statusChecks += attempt ?? 1;
      return await finish('FAILED', [`stareMesaj for index ${index}: ${failureMessage(err)}`]);
    }
    if (polled.code !== 0) {
      const why = { 2: 'ANAF does not know this upload index for the institution', 3: 'signature or PDF errors', 4: 'ANAF calls the request malformed' }[polled.code];
      return await finish('REJECTED', polled.errors.length ? polled.errors : [why], `STATUS_${polled.code}`);
    }
    state.idPortal = polled.idPortal;
    setStage('DOWNLOADING');
    try {
      const answer = await reads.downloadBanciwsDocument({ ...ref, idPortal: polled.idPortal });
      state.answer = answer.pdf;
    } catch (err) {
      if (isCancellation(err)) throw err;
      return await finish('FAILED', [`could not download ANAF's answer ${polled.idPortal}: ${failureMessage(err)}`]);
    }
    return await finish('ANSWERED');
  } catch (err) {
    if (isCancellation(err)) {
      state.finishedAt = now();
      setStage('DONE');
    }
    throw err;
  }
}
