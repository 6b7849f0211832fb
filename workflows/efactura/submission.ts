import {
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { EfacturaAnafActivities } from '../../activities/efactura';
import type { WebhookActivities } from '../../activities/webhooks';
import { msUntilNextRomanianDay, romanianDay } from '../../lib/romanian-time';
import { AnafCif, AnafNeedsAttention, AnafOutcome, AnafService, AnafStage, AnafTenant, AnafUploadIndex } from '../search-attributes';
import { attributeWriter } from '../shared/attribute-writer';
import {
  ANAF_FAILURE,
  attemptOf,
  AUTH_FAILURE_TYPES,
  AUTHORIZATION_WAIT_LIMIT_MS,
  authorizationBackoffMs,
  failureMessage,
  failureType,
  MAX_LOST_ANSWERS,
  MAX_SAFE_UPLOAD_RETRIES,
  retryDelayOf,
  safeRetryFallbackMs,
  UPLOAD_SAFE_TO_RETRY,
} from '../shared/anaf-failures';
import { anafTaskQueueFor } from '../task-queues';
import { cancelSubmissionUpdate, RESOLVE_REFUSALS, resolveSignal, resolveSubmissionUpdate, submissionQuery } from './definitions';
import type { Decision, ResolveAction, SubmissionInput, SubmissionOutcome, SubmissionStage, SubmissionView } from './types';

/**
 * One invoice's life at ANAF: upload → stareMesaj → descarcare → result (+ webhook).
 *
 * The rule it is built around: an upload whose answer was lost is never sent again
 * blindly. The upload activity runs at most once per decision (no Temporal retries: a
 * timed-out attempt may have reached ANAF); a lost answer sends the workflow to
 * RECONCILING, which looks for the invoice in ANAF's listing until ANAF's listing delay
 * has passed, and only then uploads again. ANAF's own duplicate answer links to the
 * earlier index. Every such choice is written to `decisions`.
 */

/** Failure types, as the activities throw them (see activities/anaf/failures.ts, activities/efactura). */
const T = {
  ...ANAF_FAILURE,
  NOT_READY: 'EfacturaNotReady',
  STATUS_REFUSED: 'EfacturaStatusRefused',
  /** ANAF answered, but not in a shape we know (activities/efactura/anaf-efactura-client.ts). */
  INVALID_ANSWER: 'EfacturaInvalidAnswer',
} as const;
/**
 * Patches (workflow.patched) for changes in what the workflow does, so histories recorded
 * before them replay: an unparseable upload answer is reconciled instead of failing; a
 * resolve arriving when the submission is not stuck is ignored instead of kept for later.
 */
const PATCH_INVALID_UPLOAD_ANSWER = 'efactura-invalid-upload-answer-reconciles';
const PATCH_RESOLVE_WHEN_STUCK = 'efactura-resolve-only-when-stuck';
/** Search attributes and memo written once per workflow task (workflows/shared/attribute-writer.ts). */
const PATCH_COALESCED_ATTRIBUTES = 'efactura-coalesced-attributes';
/** A lost upload is re-sent only a listing delay after the loss was noticed, not after the attempt started. */
const PATCH_DEADLINE_FROM_LOSS = 'efactura-listing-delay-from-loss';
const MAX_DECISIONS = 50;
const AUTH_TYPES = AUTH_FAILURE_TYPES;

export async function efacturaSubmission(input: SubmissionInput): Promise<SubmissionView> {
  const { settings } = input;
  const attributes = attributeWriter(patched(PATCH_COALESCED_ATTRIBUTES));
  const anafQueue = anafTaskQueueFor(workflowInfo().taskQueue);
  const uploads = proxyActivities<EfacturaAnafActivities>({
    taskQueue: anafQueue,
    startToCloseTimeout: '3 minutes',
    heartbeatTimeout: '20 seconds',
    // Once: a retry of a timed-out upload could file the invoice twice. The workflow retries what is safe.
    retry: { maximumAttempts: 1 },
    priority: { priorityKey: 1 },
  });
  const reads = proxyActivities<EfacturaAnafActivities>({
    taskQueue: anafQueue,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      maximumAttempts: 10,
      nonRetryableErrorTypes: [T.NOT_AUTHORIZED, T.UNAUTHORIZED, T.STATUS_REFUSED],
    },
    priority: { priorityKey: 2 },
  });
  const webhooks = proxyActivities<WebhookActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '3 days',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
  });

  const now = () => new Date(Date.now()).toISOString();
  const state: SubmissionView = {
    tenant: input.tenant,
    cif: input.cif,
    standard: input.standard,
    flags: input.flags,
    identity: input.identity,
    stage: 'QUEUED',
    attempts: [],
    statusChecks: 0,
    errors: [],
    decisions: [],
    files: { invoice: input.invoice },
    needsAttention: false,
    ...(input.callbackUrl ? { webhook: { url: input.callbackUrl, state: 'PENDING' as const } } : {}),
    receivedAt: input.receivedAt,
    updatedAt: now(),
  };
  let cancelRequested: string | undefined;
  let pendingResolve: ResolveAction | undefined;

  const touch = () => {
    state.updatedAt = now();
  };
  const setStage = (stage: SubmissionStage) => {
    if (state.stage === stage) return;
    state.stage = stage;
    touch();
    attributes.set([{ key: AnafStage, value: stage }]);
  };
  const attention = (reason: string | undefined) => {
    const flag = reason !== undefined;
    if (state.needsAttention === flag && state.attentionReason === reason) return;
    state.needsAttention = flag;
    if (reason) state.attentionReason = reason;
    else delete state.attentionReason;
    attributes.set([{ key: AnafNeedsAttention, value: flag }]);
  };
  const decide = (decision: Decision['decision'], detail: string) => {
    state.decisions.push({ at: now(), decision, detail });
    if (state.decisions.length > MAX_DECISIONS) state.decisions.splice(1, state.decisions.length - MAX_DECISIONS);
    touch();
  };
  const setIndex = (index: string) => {
    state.uploadIndex = index;
    attributes.set([{ key: AnafUploadIndex, value: index }]);
    attributes.memo({ summary: `e-Factura ${input.standard} for CIF ${input.cif}: upload index ${index}` });
  };

  setHandler(submissionQuery, () => state);
  setHandler(
    cancelSubmissionUpdate,
    async ({ reason }) => {
      cancelRequested = reason ?? 'cancelled by the caller';
      await condition(() => state.stage === 'DONE');
      return state;
    },
    {
      validator: (_request) => {
        if (state.attempts.length > 0 || !(state.stage === 'QUEUED' || state.stage === 'WAITING_FOR_AUTHORIZATION')) {
          throw new Error(`too late to cancel: the invoice is ${state.stage === 'DONE' ? 'finished' : 'already being sent to ANAF'}`);
        }
      },
    },
  );
  /** Why an operator's decision cannot be taken now; undefined when the submission is stuck and waits for one. */
  const resolveRefusal = (action: ResolveAction): { type: string; message: string } | undefined => {
    if (state.stage === 'DONE' || state.outcome !== undefined) return { type: RESOLVE_REFUSALS.FINISHED, message: 'The submission has already ended' };
    if (pendingResolve !== undefined) {
      return { type: RESOLVE_REFUSALS.ALREADY_PENDING, message: `An operator decision (${pendingResolve.action}) is already waiting to be applied` };
    }
    if (state.stage === 'NEEDS_OPERATOR' || state.stage === 'RECONCILING') return undefined;
    if (state.stage === 'WAITING_FOR_AUTHORIZATION') {
      return action.action === 'ABANDON'
        ? undefined
        : { type: RESOLVE_REFUSALS.ACTION_NOT_ALLOWED, message: 'While it waits for an authorization the submission can only be abandoned' };
    }
    return {
      type: RESOLVE_REFUSALS.NOT_STUCK,
      message: `The submission is not stuck (stage ${state.stage}); resolve applies in NEEDS_OPERATOR, RECONCILING or WAITING_FOR_AUTHORIZATION`,
    };
  };
  setHandler(
    resolveSubmissionUpdate,
    (action) => {
      pendingResolve = action;
      touch();
      return state;
    },
    {
      validator: (action) => {
        const refusal = resolveRefusal(action);
        if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
      },
    },
  );
  setHandler(resolveSignal, (action) => {
    const refusal = resolveRefusal(action);
    if (refusal && patched(PATCH_RESOLVE_WHEN_STUCK)) {
      // A signal cannot be refused; kept, it would be applied at some later, unrelated moment.
      log.warn('e-Factura resolve signal ignored', { action: action.action, reason: refusal.message });
      return;
    }
    pendingResolve = action;
  });
  const takeResolve = (): ResolveAction | undefined => {
    const action = pendingResolve;
    pendingResolve = undefined;
    return action;
  };

  attributes.set([
    { key: AnafTenant, value: input.tenant },
    { key: AnafService, value: 'efactura' },
    { key: AnafCif, value: input.cif },
    { key: AnafStage, value: 'QUEUED' },
  ]);
  attributes.memo({ summary: `e-Factura ${input.standard} for CIF ${input.cif}: queued` });

  async function finish(outcome: SubmissionOutcome, errors: string[] = []): Promise<SubmissionView> {
    state.outcome = outcome;
    if (errors.length) state.errors = errors;
    attributes.set([{ key: AnafOutcome, value: outcome }]);
    attributes.memo({
      summary: `e-Factura ${input.standard} for CIF ${input.cif}: ${outcome}${state.uploadIndex ? ` (index ${state.uploadIndex})` : ''}`,
    });
    if (outcome !== 'FAILED') attention(undefined);
    if (input.callbackUrl && state.webhook) {
      setStage('NOTIFYING');
      try {
        const delivered = await webhooks.deliverWebhook({
          url: input.callbackUrl,
          event: 'efactura.submission.finished',
          deliveryId: workflowInfo().workflowId,
          payload: {
            id: workflowInfo().workflowId,
            cif: input.cif,
            outcome,
            uploadIndex: state.uploadIndex,
            downloadId: state.downloadId,
            errors: state.errors,
          },
        });
        state.webhook = { url: input.callbackUrl, state: 'DELIVERED', attempts: delivered.attempt };
      } catch (err) {
        state.webhook = { url: input.callbackUrl, state: 'FAILED', error: failureMessage(err) };
      }
    }
    state.finishedAt = now();
    setStage('DONE');
    attributes.flush();
    return state;
  }

  /** Until the organization is authorized again (or the caller cancels / we give up). */
  async function waitForAuthorization(since: number, why: string): Promise<'RETRY' | 'CANCELLED' | 'GAVE_UP'> {
    setStage('WAITING_FOR_AUTHORIZATION');
    attention(`no usable e-Factura authorization for CIF ${input.cif}: ${why}`);
    const waited = Date.now() - since;
    if (waited > AUTHORIZATION_WAIT_LIMIT_MS) return 'GAVE_UP';
    const backoff = authorizationBackoffMs(waited);
    await condition(() => cancelRequested !== undefined || pendingResolve?.action === 'ABANDON', backoff);
    if (cancelRequested !== undefined) return 'CANCELLED';
    if (pendingResolve?.action === 'ABANDON') return 'GAVE_UP';
    attention(undefined);
    return 'RETRY';
  }

  /** The operator decides; nothing else moves until then. */
  async function waitForOperator(reason: string): Promise<ResolveAction> {
    setStage('NEEDS_OPERATOR');
    attention(reason);
    decide('WAITING_FOR_OPERATOR', reason);
    await condition(() => pendingResolve !== undefined);
    attention(undefined);
    return takeResolve()!;
  }

  /** After a lost answer: did that upload reach ANAF? ADOPT its index, or REUPLOAD once the listing proves it did not. */
  async function reconcile(attemptStartedAt: number): Promise<ResolveAction> {
    setStage('RECONCILING');
    // The upload may have reached ANAF at any moment until we gave up on its answer (a heartbeat
    // timeout can come well after the attempt started), so the listing delay counts from now.
    const deadline = (patched(PATCH_DEADLINE_FROM_LOSS) ? Date.now() : attemptStartedAt) + settings.listingDelayMs;
    const checked: string[] = [];
    const roundEvery = Math.min(5 * 60_000, Math.max(5_000, Math.floor(settings.listingDelayMs / 4)));
    for (;;) {
      const operator = takeResolve();
      if (operator) return operator;
      let found;
      try {
        found = await reads.findUploadedInvoice({
          tenant: input.tenant,
          cif: input.cif,
          standard: input.standard,
          identity: input.identity,
          sinceMs: attemptStartedAt,
          checkedMessageIds: checked,
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        return waitForOperator(`could not check ANAF's listing for the lost upload: ${failureMessage(err)}`);
      }
      checked.push(...found.newlyChecked);
      // A decision the operator took while the listing was being read wins over what it found.
      if (pendingResolve !== undefined && patched(PATCH_RESOLVE_WHEN_STUCK)) return takeResolve()!;
      if (found.match) {
        decide('ADOPTED_LISTED_INDEX', `ANAF lists our invoice as index ${found.match.uploadIndex} (message ${found.match.messageId})`);
        return { action: 'ADOPT_INDEX', uploadIndex: found.match.uploadIndex };
      }
      if (found.more) continue;
      if (Date.now() >= deadline) {
        decide(
          'REUPLOAD_AFTER_LISTING_DELAY',
          `not in ANAF's listing ${Math.round((Date.now() - attemptStartedAt) / 1000)} s after the attempt (${checked.length} candidates compared)`,
        );
        return { action: 'REUPLOAD' };
      }
      await condition(() => pendingResolve !== undefined, Math.min(roundEvery, Math.max(1_000, deadline - Date.now())));
    }
  }

  /** Uploads until ANAF gives an index (or a final answer). Returns undefined when the submission is finished. */
  async function upload(): Promise<string | undefined> {
    let safeRetries = 0;
    let lostInARow = 0;
    let authWaitSince: number | undefined;
    for (;;) {
      if (cancelRequested !== undefined && state.attempts.length === 0) {
        decide('CANCELLED', cancelRequested);
        await finish('CANCELLED');
        return undefined;
      }
      setStage('UPLOADING');
      const startedAt = Date.now();
      try {
        const answer = await uploads.uploadInvoice({
          tenant: input.tenant,
          cif: input.cif,
          params: { cif: input.cif, standard: input.standard, ...input.flags },
          invoiceKey: input.invoice.key,
        });
        const n = state.attempts.length + 1;
        if (answer.accepted) {
          state.attempts.push({ n, startedAt: new Date(startedAt).toISOString(), result: 'ACCEPTED', uploadIndex: answer.uploadIndex });
          return answer.uploadIndex;
        }
        state.attempts.push({ n, startedAt: new Date(startedAt).toISOString(), result: 'REJECTED_AT_UPLOAD', error: answer.errors.join('; ') });
        await finish('REJECTED_AT_UPLOAD', answer.errors);
        return undefined;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const type = failureType(err);
        if (type !== undefined && AUTH_TYPES.has(type)) {
          authWaitSince ??= startedAt;
          const next = await waitForAuthorization(authWaitSince, failureMessage(err));
          if (next === 'CANCELLED') continue;
          if (next === 'GAVE_UP') {
            takeResolve();
            await finish('FAILED', [`no usable e-Factura authorization for CIF ${input.cif}: ${failureMessage(err)}`]);
            return undefined;
          }
          continue;
        }
        authWaitSince = undefined;
        if (type !== undefined && UPLOAD_SAFE_TO_RETRY.has(type) && safeRetries < MAX_SAFE_UPLOAD_RETRIES) {
          // ANAF surely did not take it (not reached, 429, WAF page, daily limit): wait as told, then send again.
          safeRetries += 1;
          await sleep(retryDelayOf(err, safeRetryFallbackMs(safeRetries)));
          continue;
        }
        const n = state.attempts.length + 1;
        const at = new Date(startedAt).toISOString();
        // An answer we cannot read came from ANAF, so the upload reached it: as good as lost.
        const unreadable = type === T.INVALID_ANSWER && patched(PATCH_INVALID_UPLOAD_ANSWER);
        if (type === T.ANSWER_LOST || type === T.TIMEOUT || type === undefined || unreadable) {
          // It may have reached ANAF. Anything we cannot classify counts as that, too.
          state.attempts.push({ n, startedAt: at, result: 'ANSWER_LOST', error: failureMessage(err) });
          lostInARow += 1;
          const next: ResolveAction =
            lostInARow > MAX_LOST_ANSWERS
              ? await waitForOperator(`${lostInARow} uploads in a row lost their answer; decide: adopt an index, re-upload or abandon`)
              : await reconcile(startedAt);
          const reconciled = state.decisions.at(-1)?.decision;
          if (next.action === 'ADOPT_INDEX') {
            if (reconciled !== 'ADOPTED_LISTED_INDEX') decide('OPERATOR_ADOPTED_INDEX', `index ${next.uploadIndex}${next.note ? `: ${next.note}` : ''}`);
            return next.uploadIndex;
          }
          if (next.action === 'ABANDON') {
            decide('OPERATOR_ABANDONED', next.note ?? 'abandoned by an operator');
            await finish('FAILED', ['abandoned by an operator while the upload was uncertain']);
            return undefined;
          }
          if (reconciled !== 'REUPLOAD_AFTER_LISTING_DELAY') decide('OPERATOR_REUPLOAD', next.note ?? 'operator chose to upload again');
          continue;
        }
        // ANAF refused the request itself (400, {eroare}): nothing was filed.
        state.attempts.push({ n, startedAt: at, result: 'FAILED', error: failureMessage(err) });
        if (type === T.BAD_REQUEST || type === 'AnafError') {
          await finish('REJECTED_AT_UPLOAD', [failureMessage(err)]);
        } else {
          await finish('FAILED', [failureMessage(err)]);
        }
        return undefined;
      }
    }
  }

  /** stareMesaj until final, within ANAF's 100 checks per message per day. */
  async function poll(index: string): Promise<{ state: string; downloadId?: string } | ResolveAction> {
    setStage('POLLING');
    await sleep(settings.firstPollDelayMs);
    let day = romanianDay(Date.now());
    let usedToday = 0;
    for (;;) {
      const today = romanianDay(Date.now());
      if (today !== day) {
        day = today;
        usedToday = 0;
      }
      const remaining = settings.dailyStatusBudget - usedToday;
      if (remaining <= 0) {
        await sleep(msUntilNextRomanianDay(Date.now()) + 60_000);
        continue;
      }
      const status = proxyActivities<EfacturaAnafActivities>({
        taskQueue: anafQueue,
        startToCloseTimeout: '1 minute',
        heartbeatTimeout: '20 seconds',
        // Each retry is one stareMesaj; no history event per poll. Polls yield to uploads and downloads.
        retry: {
          initialInterval: settings.firstPollDelayMs,
          backoffCoefficient: 1.5,
          maximumInterval: settings.maxPollIntervalMs,
          maximumAttempts: remaining,
          nonRetryableErrorTypes: [T.NOT_AUTHORIZED, T.UNAUTHORIZED, T.STATUS_REFUSED],
        },
        priority: { priorityKey: 4 },
      });
      try {
        const answer = await status.checkUploadStatus({ tenant: input.tenant, cif: input.cif, uploadIndex: index });
        state.statusChecks += answer.attempt;
        state.anafState = answer.state;
        touch();
        return answer;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const type = failureType(err);
        const attempt = attemptOf(err);
        state.statusChecks += attempt ?? 1;
        usedToday += attempt ?? remaining;
        touch();
        if (type === T.NOT_READY) {
          state.anafState = 'in prelucrare';
          continue;
        }
        if (type === T.DAILY_LIMIT) {
          usedToday = settings.dailyStatusBudget;
          continue;
        }
        if (type !== undefined && AUTH_TYPES.has(type)) {
          const next = await waitForAuthorization(Date.now(), failureMessage(err));
          if (next === 'GAVE_UP') return { action: 'ABANDON', note: 'no usable authorization while polling' };
          setStage('POLLING');
          continue;
        }
        return waitForOperator(`ANAF cannot tell the status of upload ${index}: ${failureMessage(err)}`);
      }
    }
  }

  try {
    let index = await upload();
    if (index === undefined) return state;
    setIndex(index);
    let duplicateLinked = false;
    for (;;) {
      const polled = await poll(index);
      if ('action' in polled) {
        if (polled.action === 'ADOPT_INDEX') {
          decide('OPERATOR_ADOPTED_INDEX', `index ${polled.uploadIndex}${polled.note ? `: ${polled.note}` : ''}`);
          index = polled.uploadIndex;
          setIndex(index);
          continue;
        }
        if (polled.action === 'REUPLOAD') {
          decide('OPERATOR_REUPLOAD', polled.note ?? 'operator chose to upload again');
          const again = await upload();
          if (again === undefined) return state;
          index = again;
          setIndex(index);
          continue;
        }
        decide('OPERATOR_ABANDONED', polled.note ?? 'abandoned by an operator');
        return await finish('FAILED', [polled.note ?? 'abandoned by an operator']);
      }
      if (polled.state === 'XML cu erori nepreluat de sistem' || !polled.downloadId) {
        return await finish('REJECTED', [`ANAF: ${polled.state}`]);
      }
      setStage('DOWNLOADING');
      state.downloadId = polled.downloadId;
      let answer;
      try {
        answer = await reads.downloadAnswer({ tenant: input.tenant, cif: input.cif, downloadId: polled.downloadId });
      } catch (err) {
        if (isCancellation(err)) throw err;
        return await finish('FAILED', [`could not download ANAF's answer ${polled.downloadId}: ${failureMessage(err)}`]);
      }
      state.files = {
        ...state.files,
        zip: answer.zip,
        ...(answer.signedInvoice ? { signedInvoice: answer.signedInvoice } : {}),
        ...(answer.signature ? { signature: answer.signature } : {}),
        ...(answer.errorXml ? { errorXml: answer.errorXml } : {}),
      };
      if (answer.kind === 'ok') return await finish('ACCEPTED');
      if (answer.duplicateOfIndex && answer.duplicateOfIndex !== index && !duplicateLinked) {
        // ANAF already holds this invoice under an earlier index: that upload's result is ours.
        duplicateLinked = true;
        decide('LINKED_TO_EARLIER_UPLOAD', `ANAF answered that index ${index} repeats index ${answer.duplicateOfIndex}; following that one`);
        state.duplicateUploadIndex = index;
        state.errors = answer.errors;
        index = answer.duplicateOfIndex;
        setIndex(index);
        continue;
      }
      return await finish('REJECTED', answer.errors);
    }
  } catch (err) {
    if (isCancellation(err)) {
      // Temporal-level cancellation (Web UI / CLI): record it; an upload may have happened.
      state.outcome = 'CANCELLED';
      attributes.set([{ key: AnafOutcome, value: 'CANCELLED' }]);
      state.finishedAt = now();
      setStage('DONE');
      attributes.flush();
    }
    throw err;
  }
}
