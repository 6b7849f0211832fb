import {
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EtransportAnafActivities, EtransportOrchestrationActivities } from '../../activities/etransport';
import type { WebhookActivities } from '../../activities/webhooks';
import { msUntilNextRomanianDay, romanianDay } from '../../lib/romanian-time';
import { confirmationExpected, FOLLOW_UP_KINDS, uitExpiresAt } from '../../schemas/etransport-uit';
import { AnafCif, AnafNeedsAttention, AnafOutcome, AnafService, AnafStage, AnafTenant, AnafUploadIndex } from '../search-attributes';
import {
  ANAF_FAILURE,
  attemptOf,
  AUTH_FAILURE_TYPES,
  AUTHORIZATION_WAIT_LIMIT_MS,
  authorizationBackoffMs,
  classifyUploadFailure,
  failureMessage,
  failureType,
  MAX_LOST_ANSWERS,
  MAX_SAFE_UPLOAD_RETRIES,
  retryDelayOf,
  safeRetryFallbackMs,
} from '../shared/anaf-failures';
import { anafTaskQueueFor } from '../task-queues';
import { declarationQuery, followUpSignal, requestOperationUpdate, resolveSignal } from './definitions';
import type {
  Decision,
  DeclarationInput,
  DeclarationOutcome,
  DeclarationStage,
  DeclarationView,
  FollowUpRequest,
  OperationOutcome,
  OperationRecord,
  PreparedOperation,
  ResolveAction,
} from './types';

/**
 * One e-Transport declaration, for as long as its UIT lives.
 *
 * The notification is uploaded once (a lost answer is reconciled through ANAF's lista,
 * never re-sent blindly), polled until final, and then — when ANAF gave a UIT — the
 * workflow stays open while the UIT is valid: corrections, deletions, confirmations and
 * vehicle changes arrive by Update (API) or signal (Web UI), each uploaded the same careful
 * way and recorded with its own outcome. It warns before an unconfirmed UIT expires and
 * closes when the UIT expires or is deleted. Long-lived, so it continues as new every
 * `operationsPerRun` operations — once idle and every webhook has settled, so the follow-ups
 * and expiry checks keep running while a slow receiver is retried (for up to days); whatever is
 * still queued then is carried into the next run, never dropped.
 */

const T = { ...ANAF_FAILURE, NOT_READY: 'EtransportNotReady', STATUS_REFUSED: 'EtransportStatusRefused' } as const;
const MAX_DECISIONS = 100;
/**
 * Runs that reached `operationsPerRun` before this patch waited for pending webhooks (days, at
 * worst) without serving follow-ups and then continued as new with an empty queue. Patched runs
 * keep serving and continue as new once idle. Deprecate once no unpatched run is open.
 */
const CONTINUE_WHEN_IDLE = 'etransport-continue-as-new-when-idle';

type Sent = { uploadIndex: string; uit?: string } | undefined;

export async function etransportDeclaration(input: DeclarationInput): Promise<DeclarationView> {
  const { settings } = input;
  const info = workflowInfo();
  const workflowId = info.workflowId;
  const anafQueue = anafTaskQueueFor(info.taskQueue);
  const uploads = proxyActivities<EtransportAnafActivities>({
    taskQueue: anafQueue,
    startToCloseTimeout: '3 minutes',
    heartbeatTimeout: '20 seconds',
    // Once: a retry of a timed-out upload could file the declaration twice. The workflow retries what is safe.
    retry: { maximumAttempts: 1 },
    priority: { priorityKey: 1 },
  });
  const reads = proxyActivities<EtransportAnafActivities>({
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
  const local = proxyActivities<EtransportOrchestrationActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 } });
  const webhooks = proxyActivities<WebhookActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '3 days',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
  });

  const now = () => new Date(Date.now()).toISOString();
  const carried = input.carried;
  const state: DeclarationView = carried
    ? { ...carried, run: carried.run + 1 }
    : {
        tenant: input.tenant,
        cif: input.cif,
        identity: input.notification.identity,
        stage: 'QUEUED',
        confirmed: false,
        confirmationExpected: confirmationExpected(input.notification.identity.operationType),
        expiryWarned: false,
        operations: [],
        errors: [],
        decisions: [],
        needsAttention: false,
        ...(input.callbackUrl ? { webhook: { url: input.callbackUrl, state: 'PENDING' as const } } : {}),
        receivedAt: input.receivedAt,
        updatedAt: now(),
        run: 1,
      };
  const queue: Array<{ record: OperationRecord; prepared: PreparedOperation }> = [];
  const requests: FollowUpRequest[] = [];
  const deliveries: Array<Promise<void>> = [];
  /** Webhook deliveries not yet settled (delivered or given up). */
  let unsettled = 0;
  let pendingResolve: ResolveAction | undefined;
  let closing = false;
  /** This run is long enough: continue as new once idle and every webhook has settled. */
  let continueWanted = false;
  const operationsAtStart = state.operations.length;

  const touch = () => {
    state.updatedAt = now();
  };
  const setStage = (stage: DeclarationStage) => {
    if (state.stage === stage) return;
    state.stage = stage;
    touch();
    upsertSearchAttributes([{ key: AnafStage, value: stage }]);
  };
  const attention = (reason: string | undefined) => {
    const flag = reason !== undefined;
    if (state.needsAttention === flag && state.attentionReason === reason) return;
    state.needsAttention = flag;
    if (reason) state.attentionReason = reason;
    else delete state.attentionReason;
    upsertSearchAttributes([{ key: AnafNeedsAttention, value: flag }]);
  };
  const decide = (operationId: string, decision: Decision['decision'], detail: string) => {
    state.decisions.push({ at: now(), operationId, decision, detail });
    if (state.decisions.length > MAX_DECISIONS) state.decisions.splice(0, state.decisions.length - MAX_DECISIONS);
    touch();
  };
  const summary = (what: string) => upsertMemo({ summary: `e-Transport for CIF ${input.cif}${state.uit ? ` (UIT ${state.uit})` : ''}: ${what}` });
  const accepting = () => !closing && state.outcome === 'ACCEPTED' && state.uit !== undefined;
  const takeResolve = (): ResolveAction | undefined => {
    const action = pendingResolve;
    pendingResolve = undefined;
    return action;
  };

  /** Webhooks do not hold the declaration up: delivered alongside, awaited before the workflow ends. */
  const notify = (event: string, extra: Record<string, unknown> = {}) => {
    const url = input.callbackUrl;
    if (!url) return;
    const deliveryId = `${workflowId}/${event}/${state.operations.length}/${state.decisions.length}`;
    unsettled += 1;
    deliveries.push(
      webhooks
        .deliverWebhook({
          url,
          event,
          deliveryId,
          payload: { id: workflowId, cif: input.cif, outcome: state.outcome, uit: state.uit, uitExpiresAt: state.uitExpiresAt, stage: state.stage, ...extra },
        })
        .then(
          (delivered) => {
            unsettled -= 1;
            state.webhook = { url, state: 'DELIVERED', lastEvent: event, attempts: delivered.attempt };
          },
          (err: unknown) => {
            unsettled -= 1;
            state.webhook = { url, state: 'FAILED', lastEvent: event, error: failureMessage(err) };
          },
        ),
    );
  };

  function finishOp(op: OperationRecord, outcome: OperationOutcome, errors: string[] = []): void {
    op.outcome = outcome;
    op.stage = 'DONE';
    if (errors.length) op.errors = errors;
    op.finishedAt = now();
    touch();
  }

  /** What the next run must still do: accepted operations not yet uploaded, signals not yet read. */
  function pendingWork(): NonNullable<DeclarationInput['pending']> {
    return { queued: queue.map(({ record, prepared }) => ({ operationId: record.id, prepared })), requests: [...requests] };
  }

  function newRecord(prepared: PreparedOperation): OperationRecord {
    return {
      id: `op-${state.operations.length + 1}`,
      kind: prepared.kind,
      document: prepared.document,
      ...(prepared.requestKey ? { requestKey: prepared.requestKey } : {}),
      ...(prepared.confirmationType ? { confirmationType: prepared.confirmationType } : {}),
      stage: 'QUEUED',
      attempts: [],
      statusChecks: 0,
      errors: [],
      requestedAt: now(),
    };
  }

  function enqueue(prepared: PreparedOperation): OperationRecord {
    const record = newRecord(prepared);
    state.operations.push(record);
    queue.push({ record, prepared });
    touch();
    return record;
  }

  function followUpProblem(prepared: PreparedOperation): string | undefined {
    if (closing) return `the declaration is closing (${state.outcome}): no more follow-up operations`;
    if (!accepting()) return `the UIT is not valid (${state.outcome ?? state.stage}): no follow-up operations`;
    if (!FOLLOW_UP_KINDS.includes(prepared.kind)) return `a ${prepared.kind} is not a follow-up operation; send a correction, deletion, confirmation or vehicle change`;
    if (prepared.uit !== state.uit) return `the document refers to UIT ${prepared.uit ?? '(none)'}, this declaration's UIT is ${state.uit}`;
    return undefined;
  }

  if (carried) {
    // Follow-ups accepted (Update: 202 with an operationId) or signalled before the previous run continued as new.
    for (const { operationId, prepared } of input.pending?.queued ?? []) {
      const record = state.operations.find((o) => o.id === operationId && o.stage === 'QUEUED');
      if (record) queue.push({ record, prepared });
    }
    requests.push(...(input.pending?.requests ?? []));
    // Runs continued before follow-ups were carried over left their records QUEUED with nothing to upload.
    for (const op of state.operations) {
      if (op.stage === 'QUEUED' && !queue.some((q) => q.record === op)) {
        finishOp(op, 'FAILED', ['not sent: lost when the declaration continued as new; send the operation again']);
      }
    }
  }

  setHandler(declarationQuery, () => state);
  setHandler(
    requestOperationUpdate,
    (prepared) => {
      const existing = prepared.requestKey ? state.operations.find((o) => o.requestKey === prepared.requestKey) : undefined;
      if (existing) return { operationId: existing.id, duplicate: true };
      return { operationId: enqueue(prepared).id, duplicate: false };
    },
    {
      validator: (prepared) => {
        if (prepared.requestKey && state.operations.some((o) => o.requestKey === prepared.requestKey)) return;
        const problem = followUpProblem(prepared);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(followUpSignal, (request) => {
    requests.push(request);
  });
  setHandler(resolveSignal, (action) => {
    pendingResolve = action;
  });

  if (!carried) {
    upsertSearchAttributes([
      { key: AnafTenant, value: input.tenant },
      { key: AnafService, value: 'etransport' },
      { key: AnafCif, value: input.cif },
      { key: AnafStage, value: 'QUEUED' },
    ]);
    summary('queued');
  }

  async function waitForAuthorization(since: number, why: string): Promise<'RETRY' | 'GAVE_UP'> {
    setStage('WAITING_FOR_AUTHORIZATION');
    attention(`no usable e-Transport authorization for CIF ${input.cif}: ${why}`);
    const waited = Date.now() - since;
    if (waited > AUTHORIZATION_WAIT_LIMIT_MS) return 'GAVE_UP';
    await condition(() => pendingResolve?.action === 'ABANDON', authorizationBackoffMs(waited));
    if (pendingResolve?.action === 'ABANDON') return 'GAVE_UP';
    attention(undefined);
    return 'RETRY';
  }

  async function waitForOperator(op: OperationRecord, reason: string): Promise<ResolveAction> {
    setStage('NEEDS_OPERATOR');
    op.stage = 'NEEDS_OPERATOR';
    attention(reason);
    decide(op.id, 'WAITING_FOR_OPERATOR', reason);
    await condition(() => pendingResolve !== undefined);
    attention(undefined);
    return takeResolve()!;
  }

  /** After a lost answer: is the upload in ANAF's lista? ADOPT it, or REUPLOAD once the listing delay proves it is not. */
  async function reconcile(op: OperationRecord, prepared: PreparedOperation, attemptStartedAt: number): Promise<ResolveAction> {
    setStage('RECONCILING');
    op.stage = 'RECONCILING';
    const deadline = attemptStartedAt + settings.listingDelayMs;
    const roundEvery = Math.min(5 * 60_000, Math.max(2_000, Math.floor(settings.listingDelayMs / 4)));
    for (;;) {
      const operator = takeResolve();
      if (operator) return operator;
      let found;
      try {
        found = await reads.findUploadedDeclaration({
          tenant: input.tenant,
          cif: input.cif,
          kind: prepared.kind,
          identity: prepared.identity,
          ...(prepared.uit ? { uit: prepared.uit } : {}),
          knownIndexes: state.operations.map((o) => o.uploadIndex).filter((i): i is string => i !== undefined),
          sinceMs: attemptStartedAt,
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        return waitForOperator(op, `could not check ANAF's lista for the lost upload: ${failureMessage(err)}`);
      }
      if (found.match) {
        decide(op.id, 'ADOPTED_LISTED_INDEX', `ANAF lists our ${prepared.kind.toLowerCase()} as index ${found.match.uploadIndex}${found.match.uit ? ` (UIT ${found.match.uit})` : ''}`);
        return { action: 'ADOPT_INDEX', uploadIndex: found.match.uploadIndex, ...(found.match.uit ? { uit: found.match.uit } : {}) };
      }
      if (Date.now() >= deadline) {
        decide(op.id, 'REUPLOAD_AFTER_LISTING_DELAY', `not in ANAF's lista ${Math.round((Date.now() - attemptStartedAt) / 1000)} s after the attempt (${found.listed} entries compared)`);
        return { action: 'REUPLOAD' };
      }
      await condition(() => pendingResolve !== undefined, Math.min(roundEvery, Math.max(1_000, deadline - Date.now())));
    }
  }

  /** Uploads until ANAF gives an index; undefined when the operation ended without one (its outcome is set). */
  async function send(op: OperationRecord, prepared: PreparedOperation): Promise<Sent> {
    let safeRetries = 0;
    let lostInARow = 0;
    let authWaitSince: number | undefined;
    for (;;) {
      setStage('UPLOADING');
      op.stage = 'UPLOADING';
      const startedAt = Date.now();
      const at = new Date(startedAt).toISOString();
      try {
        const answer = await uploads.uploadDeclaration({ tenant: input.tenant, cif: input.cif, documentKey: prepared.document.key });
        const n = op.attempts.length + 1;
        if (answer.accepted) {
          op.attempts.push({ n, startedAt: at, result: 'ACCEPTED', uploadIndex: answer.uploadIndex });
          return { uploadIndex: answer.uploadIndex, ...(answer.uit ? { uit: answer.uit } : {}) };
        }
        op.attempts.push({ n, startedAt: at, result: 'REJECTED_AT_UPLOAD', error: answer.errors.join('; ') });
        finishOp(op, 'REJECTED', answer.errors);
        return undefined;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const type = failureType(err);
        const kind = classifyUploadFailure(type);
        if (kind === 'AUTH') {
          authWaitSince ??= startedAt;
          if ((await waitForAuthorization(authWaitSince, failureMessage(err))) === 'GAVE_UP') {
            takeResolve();
            finishOp(op, 'FAILED', [`no usable e-Transport authorization for CIF ${input.cif}: ${failureMessage(err)}`]);
            return undefined;
          }
          continue;
        }
        authWaitSince = undefined;
        if (kind === 'SAFE_TO_RETRY' && safeRetries < MAX_SAFE_UPLOAD_RETRIES) {
          safeRetries += 1;
          await sleep(retryDelayOf(err, safeRetryFallbackMs(safeRetries)));
          continue;
        }
        const n = op.attempts.length + 1;
        if (kind === 'MAYBE_SENT') {
          op.attempts.push({ n, startedAt: at, result: 'ANSWER_LOST', error: failureMessage(err) });
          lostInARow += 1;
          const next =
            lostInARow > MAX_LOST_ANSWERS
              ? await waitForOperator(op, `${lostInARow} uploads in a row lost their answer; decide: adopt an index, re-upload or abandon`)
              : await reconcile(op, prepared, startedAt);
          const reconciled = state.decisions.at(-1)?.decision;
          if (next.action === 'ADOPT_INDEX') {
            if (reconciled !== 'ADOPTED_LISTED_INDEX') decide(op.id, 'OPERATOR_ADOPTED_INDEX', `index ${next.uploadIndex}${next.note ? `: ${next.note}` : ''}`);
            return { uploadIndex: next.uploadIndex, ...(next.uit ? { uit: next.uit } : {}) };
          }
          if (next.action === 'ABANDON') {
            decide(op.id, 'OPERATOR_ABANDONED', next.note ?? 'abandoned by an operator');
            finishOp(op, 'FAILED', ['abandoned by an operator while the upload was uncertain']);
            return undefined;
          }
          if (reconciled !== 'REUPLOAD_AFTER_LISTING_DELAY') decide(op.id, 'OPERATOR_REUPLOAD', next.note ?? 'operator chose to upload again');
          continue;
        }
        op.attempts.push({ n, startedAt: at, result: 'FAILED', error: failureMessage(err) });
        finishOp(op, type === T.BAD_REQUEST || type === T.ANAF_ERROR ? 'REJECTED' : 'FAILED', [failureMessage(err)]);
        return undefined;
      }
    }
  }

  /** stareMesaj until final, within ANAF's 100 checks per index per day. */
  async function poll(op: OperationRecord, index: string): Promise<{ state: string; errors: string[] } | ResolveAction> {
    setStage('POLLING');
    op.stage = 'POLLING';
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
      const status = proxyActivities<EtransportAnafActivities>({
        taskQueue: anafQueue,
        startToCloseTimeout: '1 minute',
        heartbeatTimeout: '20 seconds',
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
        const answer = await status.checkDeclarationStatus({ tenant: input.tenant, cif: input.cif, uploadIndex: index });
        op.statusChecks += answer.attempt;
        op.anafState = answer.state;
        touch();
        return answer;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const type = failureType(err);
        const attempt = attemptOf(err);
        op.statusChecks += attempt ?? 1;
        usedToday += attempt ?? remaining;
        touch();
        if (type === T.NOT_READY) {
          op.anafState = 'in prelucrare';
          continue;
        }
        if (type === T.DAILY_LIMIT) {
          usedToday = settings.dailyStatusBudget;
          continue;
        }
        if (type !== undefined && AUTH_FAILURE_TYPES.has(type)) {
          if ((await waitForAuthorization(Date.now(), failureMessage(err))) === 'GAVE_UP') return { action: 'ABANDON', note: 'no usable authorization while polling' };
          setStage('POLLING');
          continue;
        }
        return waitForOperator(op, `ANAF cannot tell the status of upload ${index}: ${failureMessage(err)}`);
      }
    }
  }

  /** One operation from upload to outcome. Returns the UIT ANAF named for it, if any. */
  async function run(op: OperationRecord, prepared: PreparedOperation): Promise<string | undefined> {
    let sent = await send(op, prepared);
    for (;;) {
      if (!sent) return undefined;
      op.uploadIndex = sent.uploadIndex;
      if (prepared.kind === 'NOTIFICATION') {
        state.uploadIndex = sent.uploadIndex;
        upsertSearchAttributes([{ key: AnafUploadIndex, value: sent.uploadIndex }]);
      }
      const polled = await poll(op, sent.uploadIndex);
      if ('action' in polled) {
        if (polled.action === 'ADOPT_INDEX') {
          decide(op.id, 'OPERATOR_ADOPTED_INDEX', `index ${polled.uploadIndex}${polled.note ? `: ${polled.note}` : ''}`);
          sent = { uploadIndex: polled.uploadIndex, ...(polled.uit ? { uit: polled.uit } : sent.uit ? { uit: sent.uit } : {}) };
          continue;
        }
        if (polled.action === 'REUPLOAD') {
          decide(op.id, 'OPERATOR_REUPLOAD', polled.note ?? 'operator chose to upload again');
          sent = await send(op, prepared);
          continue;
        }
        decide(op.id, 'OPERATOR_ABANDONED', polled.note ?? 'abandoned by an operator');
        finishOp(op, 'FAILED', [polled.note ?? 'abandoned by an operator']);
        return undefined;
      }
      if (polled.state === 'ok') {
        finishOp(op, 'ACCEPTED');
        return sent.uit;
      }
      finishOp(op, 'REJECTED', polled.errors.length ? polled.errors : [`ANAF: ${polled.state}`]);
      return undefined;
    }
  }

  async function drainDeliveries(): Promise<void> {
    while (deliveries.length) await deliveries.shift();
  }

  async function close(outcome: DeclarationOutcome, errors: string[] = []): Promise<DeclarationView> {
    closing = true;
    state.outcome = outcome;
    if (errors.length) state.errors = errors;
    upsertSearchAttributes([{ key: AnafOutcome, value: outcome }]);
    summary(outcome);
    if (outcome !== 'FAILED') attention(undefined);
    notify(outcome === 'REJECTED' || outcome === 'FAILED' ? `etransport.declaration.${outcome.toLowerCase()}` : 'etransport.declaration.closed');
    if (deliveries.length) {
      setStage('NOTIFYING');
      await drainDeliveries();
    }
    // Updates accepted before closing are answered; their operations are recorded as not sent.
    for (const { record } of queue.splice(0)) finishOp(record, 'FAILED', [`not sent: the declaration closed (${outcome})`]);
    // Updates are refused while closing (the validator says why); signals cannot be, so each is recorded.
    for (const request of requests.splice(0)) decide('-', 'FOLLOW_UP_REFUSED', `follow-up signal (${request.type}) refused: the declaration closed (${outcome})`);
    await condition(allHandlersFinished);
    state.finishedAt = now();
    setStage('DONE');
    return state;
  }

  function setExpiry(): void {
    const { transportDate, operationType } = state.identity;
    if (!transportDate) return;
    const expires = uitExpiresAt(transportDate, operationType);
    if (state.uitExpiresAt !== new Date(expires).toISOString()) {
      state.uitExpiresAt = new Date(expires).toISOString();
      state.expiryWarned = false;
    }
  }

  try {
    // ---------------------------------------------------------------- the notification
    if (!carried) {
      const record = newRecord(input.notification);
      state.operations.push(record);
      const uit = await run(record, input.notification);
      if (record.outcome !== 'ACCEPTED') return await close(record.outcome === 'FAILED' ? 'FAILED' : 'REJECTED', record.errors);
      if (!uit) return await close('FAILED', ['ANAF accepted the notification but named no UIT']);
      state.uit = uit;
      state.outcome = 'ACCEPTED';
      setExpiry();
      upsertSearchAttributes([{ key: AnafOutcome, value: 'ACCEPTED' }]);
      summary(`UIT ${uit} valid until ${state.uitExpiresAt ?? '?'}`);
      setStage('ACTIVE');
      notify('etransport.declaration.accepted');
    }

    // ---------------------------------------------------------------- the UIT's life
    for (;;) {
      const request = requests.shift();
      if (request) {
        const prepared = await local.prepareFollowUp({
          tenant: input.tenant,
          declarantCif: state.identity.declarantCif,
          uit: state.uit!,
          ...(state.identity.refDeclarant ? { refDeclarant: state.identity.refDeclarant } : {}),
          request,
        });
        if ('invalid' in prepared) {
          // Nothing to upload: kept in the history so the operator sees why.
          decide('-', 'FOLLOW_UP_REFUSED', `follow-up signal refused (${prepared.invalid}): ${prepared.message}`);
          continue;
        }
        if (prepared.requestKey && state.operations.some((o) => o.requestKey === prepared.requestKey)) continue;
        const problem = followUpProblem(prepared);
        if (problem) {
          finishOp(enqueueRecordOnly(prepared), 'INVALID', [problem]);
          continue;
        }
        enqueue(prepared);
        continue;
      }
      const next = queue.shift();
      if (next) {
        const { record, prepared } = next;
        await run(record, prepared);
        setStage(state.expiryWarned && !state.confirmed ? 'EXPIRING_UNCONFIRMED' : 'ACTIVE');
        if (record.outcome === 'ACCEPTED') {
          if (prepared.kind === 'DELETION') {
            notify('etransport.operation.finished', { operation: { id: record.id, kind: record.kind, outcome: record.outcome } });
            return await close('DELETED');
          }
          if (prepared.kind === 'CONFIRMATION') {
            state.confirmed = true;
            if (state.stage === 'EXPIRING_UNCONFIRMED') setStage('ACTIVE');
            attention(undefined);
          }
          if (prepared.kind === 'CORRECTION') {
            state.identity = { ...state.identity, ...prepared.identity };
            setExpiry();
          }
        }
        notify('etransport.operation.finished', { operation: { id: record.id, kind: record.kind, outcome: record.outcome, errors: record.errors } });
        if (!continueWanted && (state.operations.length - operationsAtStart >= settings.operationsPerRun || workflowInfo().continueAsNewSuggested) && !queue.length && !requests.length) {
          if (patched(CONTINUE_WHEN_IDLE)) {
            continueWanted = true;
          } else {
            // Unpatched runs: their history waits here. Nothing that arrives meanwhile is lost: it is carried over.
            decide('-', 'CONTINUED_AS_NEW', `after ${state.operations.length} operations (run ${state.run})`);
            await drainDeliveries();
            await condition(allHandlersFinished);
            await continueAsNew<typeof etransportDeclaration>({ ...input, carried: state, pending: pendingWork() });
          }
        }
        continue;
      }
      const expiresAt = state.uitExpiresAt ? Date.parse(state.uitExpiresAt) : Date.now();
      if (Date.now() >= expiresAt) {
        decide('-', 'UIT_EXPIRED', `UIT ${state.uit} expired at ${state.uitExpiresAt}${state.confirmationExpected && !state.confirmed ? ' unconfirmed' : ''}`);
        return await close('EXPIRED');
      }
      const warnAt = expiresAt - settings.expiryWarningMs;
      const mustWarn = state.confirmationExpected && !state.confirmed && !state.expiryWarned;
      if (mustWarn && Date.now() >= warnAt) {
        state.expiryWarned = true;
        decide('-', 'EXPIRY_WARNING', `UIT ${state.uit} expires at ${state.uitExpiresAt} and is not confirmed`);
        setStage('EXPIRING_UNCONFIRMED');
        attention(`UIT ${state.uit} expires at ${state.uitExpiresAt} unconfirmed`);
        notify('etransport.uit.expiring');
        continue;
      }
      if (continueWanted && unsettled === 0) {
        await condition(allHandlersFinished);
        // Idle, webhooks settled: nothing in flight. Anything that still slipped in goes along (pendingWork).
        decide('-', 'CONTINUED_AS_NEW', `after ${state.operations.length} operations (run ${state.run})`);
        deliveries.length = 0;
        await continueAsNew<typeof etransportDeclaration>({ ...input, carried: state, pending: pendingWork() });
      }
      const wakeAt = mustWarn ? Math.min(warnAt, expiresAt) : expiresAt;
      await condition(() => queue.length > 0 || requests.length > 0 || (continueWanted && unsettled === 0), Math.max(1, wakeAt - Date.now()));
    }
  } catch (err) {
    if (isCancellation(err)) {
      state.outcome ??= 'FAILED';
      state.finishedAt = now();
      setStage('DONE');
    }
    throw err;
  }

  function enqueueRecordOnly(prepared: PreparedOperation): OperationRecord {
    const record = newRecord(prepared);
    state.operations.push(record);
    return record;
  }
}
