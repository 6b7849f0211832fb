import {
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { EtransportAnafActivities, EtransportOrchestrationActivities } from '../../activities/etransport';
import type { WebhookActivities } from '../../activities/webhooks';
import { confirmationExpected, FOLLOW_UP_KINDS, uitExpiresAt } from '../../schemas/etransport-uit';
import { AnafOutcome, AnafUploadIndex } from '../../lib/temporal/search-attributes';
import { ANAF_FAILURE, failureMessage } from '../shared/anaf-failures';
import { readOptions, uploadOnceOptions, WEBHOOK_OPTIONS } from '../shared/lifecycle/activity-options';
import { followToFinal } from '../shared/lifecycle/follow';
import { isoNow, Ledger } from '../shared/lifecycle/ledger';
import { pollWithinDailyBudget } from '../shared/lifecycle/poll-status';
import { recordingRules } from '../shared/lifecycle/recording';
import { type Listing, restListingPolicy } from '../shared/lifecycle/reconcile';
import { registerResolveHandlers } from '../shared/lifecycle/resolve';
import { ANAF_UPLOAD_POLICY, uploadOnce } from '../shared/lifecycle/upload-once';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import {
  declarationQuery,
  followUpSignal,
  requestOperationUpdate,
  RESOLVE_REFUSALS,
  resolveDeclarationUpdate,
  resolveSignal,
} from './definitions';
import type {
  DeclarationInput,
  DeclarationOutcome,
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
 * still queued then is carried into the next run, never dropped. Each upload's machinery is the
 * shared lifecycle core (workflows/shared/lifecycle); this file is e-Transport's adapter and story.
 */

const T = { ...ANAF_FAILURE, NOT_READY: 'EtransportNotReady', STATUS_REFUSED: 'EtransportStatusRefused' } as const;
/** A declaration lives for days and many operations: it keeps more decisions than a one-upload lifecycle. */
const MAX_DECISIONS = 100;
/** Recorded as every service records (shared/lifecycle/recording.ts): coalesced attributes, first decision kept, safe re-sends shown. */
const UNIFORM_RECORDS = 'etransport-uniform-records';
/**
 * Runs that reached `operationsPerRun` before this patch waited for pending webhooks (days, at
 * worst) without serving follow-ups and then continued as new with an empty queue. Patched runs
 * keep serving and continue as new once idle. Deprecate once no unpatched run is open.
 */
const CONTINUE_WHEN_IDLE = 'etransport-continue-as-new-when-idle';
/** A lost upload is re-sent only a listing delay after the loss was noticed (as e-Factura's 'efactura-listing-delay-from-loss'). */
const DEADLINE_FROM_LOSS = 'etransport-listing-delay-from-loss';
/**
 * ANAF's lista shows valid notifications and vehicle changes, never a valid correction or
 * deletion ("Pentru notificarile valide nu se returneaza starile intermediare"): their absence
 * proves nothing, so a lost one goes to an operator instead of being sent again (a second
 * deletion comes back nok; a second correction files twice).
 */
const FOLLOW_UP_NOT_RESENT_BLINDLY = 'etransport-lost-follow-up-to-operator';
const UNLISTED_KINDS: ReadonlyArray<PreparedOperation['kind']> = ['CORRECTION', 'DELETION'];
/**
 * A resolve signal that arrives while nothing waits for a decision (the UIT active, an upload
 * polling) is dropped and recorded; before this patch it was kept and applied to the next lost
 * answer, however unrelated (as e-Factura's 'efactura-resolve-only-when-stuck').
 */
const RESOLVE_ONLY_WHEN_STUCK = 'etransport-resolve-only-when-stuck';
/**
 * An operator's decision accepted while lista was being read wins over what that round found
 * (as e-Factura's). Before this patch a round that found the upload adopted it (or re-sent it,
 * the delay passed) and left the decision pending: an ABANDON answered 200 was not applied, and
 * the leftover was taken by the next lost follow-up's reconcile or operator wait, however unrelated.
 */
const OPERATOR_WINS_OVER_LISTING = 'etransport-operator-wins-over-listing';

export async function etransportDeclaration(input: DeclarationInput): Promise<DeclarationView> {
  const declaration = new Declaration(input);
  const { state, ledger } = declaration;
  declaration.restoreCarried();
  declaration.registerHandlers();
  if (!input.carried) {
    ledger.started('etransport', input.tenant, input.cif);
    ledger.summarize('queued');
  }
  try {
    if (!input.carried) {
      // ---------------------------------------------------------------- the notification
      const record = declaration.newRecord(input.notification);
      state.operations.push(record);
      const uit = await declaration.runOperation(record, input.notification);
      if (record.outcome !== 'ACCEPTED') return await declaration.close(record.outcome === 'FAILED' ? 'FAILED' : 'REJECTED', record.errors);
      if (!uit) return await declaration.close('FAILED', ['ANAF accepted the notification but named no UIT']);
      state.uit = uit;
      state.outcome = 'ACCEPTED';
      declaration.setExpiry();
      ledger.set([{ key: AnafOutcome, value: 'ACCEPTED' }]);
      ledger.summarize(`UIT ${uit} valid until ${state.uitExpiresAt ?? '?'}`);
      ledger.setStage('ACTIVE');
      declaration.notify('etransport.declaration.accepted');
    }
    // ---------------------------------------------------------------- the UIT's life
    for (;;) {
      const ended = await declaration.serveNext();
      if (ended) return ended;
    }
  } catch (err) {
    if (isCancellation(err)) {
      state.outcome ??= 'FAILED';
      state.finishedAt = isoNow();
      ledger.setStage('DONE');
      ledger.flush();
    }
    throw err;
  }
}

/** One run of a declaration: its view, what it has queued, and what it does with them. */
class Declaration {
  readonly state: DeclarationView;
  readonly ledger: Ledger<DeclarationView, ResolveAction>;
  readonly queue: Array<{ record: OperationRecord; prepared: PreparedOperation }> = [];
  readonly requests: FollowUpRequest[] = [];
  readonly deliveries: Array<Promise<void>> = [];
  /** Webhook deliveries not yet settled (delivered or given up). */
  unsettled = 0;
  closing = false;
  /** This run is long enough: continue as new once idle and every webhook has settled. */
  continueWanted = false;
  readonly operationsAtStart: number;
  readonly anafQueue: string;
  readonly uploads: EtransportAnafActivities;
  readonly reads: EtransportAnafActivities;
  readonly local: EtransportOrchestrationActivities;
  readonly webhooks: WebhookActivities;

  constructor(readonly input: DeclarationInput) {
    this.anafQueue = anafTaskQueueFor(workflowInfo().taskQueue);
    this.uploads = proxyActivities<EtransportAnafActivities>(uploadOnceOptions(this.anafQueue, '3 minutes', 1));
    this.reads = proxyActivities<EtransportAnafActivities>(
      readOptions(this.anafQueue, {
        startToCloseTimeout: '2 minutes',
        maximumAttempts: 10,
        nonRetryableErrorTypes: [T.NOT_AUTHORIZED, T.UNAUTHORIZED, T.STATUS_REFUSED],
        priorityKey: 2,
      }),
    );
    this.local = proxyActivities<EtransportOrchestrationActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 } });
    this.webhooks = proxyActivities<WebhookActivities>(WEBHOOK_OPTIONS);
    const carried = input.carried;
    this.state = carried ? { ...carried, run: carried.run + 1 } : initialView(input);
    const state = this.state;
    this.ledger = new Ledger(state, {
      ...recordingRules(patched(UNIFORM_RECORDS), () => ({
        coalesceAttributes: false,
        trimFrom: 0,
        attentionWrites: 'on-change',
        recordSafeRetries: false,
      })),
      maxDecisions: MAX_DECISIONS,
      summary: (what) => `e-Transport for CIF ${input.cif}${state.uit ? ` (UIT ${state.uit})` : ''}: ${what}`,
      noAuthorization: (why) => `no usable e-Transport authorization for CIF ${input.cif}: ${why}`,
    });
    this.operationsAtStart = state.operations.length;
  }

  /** A decision about the declaration itself, not one operation. */
  decide(decision: DeclarationView['decisions'][number]['decision'], detail: string): void {
    this.ledger.decide(decision, detail, { operationId: '-' });
  }

  accepting(): boolean {
    return !this.closing && this.state.outcome === 'ACCEPTED' && this.state.uit !== undefined;
  }

  /** Webhooks do not hold the declaration up: delivered alongside, awaited before the workflow ends. */
  notify(event: string, extra: Record<string, unknown> = {}): void {
    const url = this.input.callbackUrl;
    if (!url) return;
    const state = this.state;
    const workflowId = workflowInfo().workflowId;
    const deliveryId = `${workflowId}/${event}/${state.operations.length}/${state.decisions.length}`;
    this.unsettled += 1;
    const payload = {
      id: workflowId,
      cif: this.input.cif,
      outcome: state.outcome,
      uit: state.uit,
      uitExpiresAt: state.uitExpiresAt,
      stage: state.stage,
      ...extra,
    };
    this.deliveries.push(
      this.webhooks.deliverWebhook({ url, event, deliveryId, payload }).then(
        (delivered) => {
          this.unsettled -= 1;
          state.webhook = { url, state: 'DELIVERED', lastEvent: event, attempts: delivered.attempt };
        },
        (err: unknown) => {
          this.unsettled -= 1;
          state.webhook = { url, state: 'FAILED', lastEvent: event, error: failureMessage(err) };
        },
      ),
    );
  }

  finishOp(op: OperationRecord, outcome: OperationOutcome, errors: string[] = []): void {
    op.outcome = outcome;
    op.stage = 'DONE';
    if (errors.length) op.errors = errors;
    op.finishedAt = isoNow();
    this.ledger.touch();
  }

  /** What the next run must still do: accepted operations not yet uploaded, signals not yet read. */
  pendingWork(): NonNullable<DeclarationInput['pending']> {
    return { queued: this.queue.map(({ record, prepared }) => ({ operationId: record.id, prepared })), requests: [...this.requests] };
  }

  newRecord(prepared: PreparedOperation): OperationRecord {
    return {
      id: `op-${this.state.operations.length + 1}`,
      kind: prepared.kind,
      document: prepared.document,
      ...(prepared.requestKey ? { requestKey: prepared.requestKey } : {}),
      ...(prepared.confirmationType ? { confirmationType: prepared.confirmationType } : {}),
      stage: 'QUEUED',
      attempts: [],
      statusChecks: 0,
      errors: [],
      requestedAt: isoNow(),
    };
  }

  enqueue(prepared: PreparedOperation): OperationRecord {
    const record = this.newRecord(prepared);
    this.state.operations.push(record);
    this.queue.push({ record, prepared });
    this.ledger.touch();
    return record;
  }

  followUpProblem(prepared: PreparedOperation): string | undefined {
    const state = this.state;
    if (this.closing) return `the declaration is closing (${state.outcome}): no more follow-up operations`;
    if (!this.accepting()) return `the UIT is not valid (${state.outcome ?? state.stage}): no follow-up operations`;
    if (!FOLLOW_UP_KINDS.includes(prepared.kind))
      return `a ${prepared.kind} is not a follow-up operation; send a correction, deletion, confirmation or vehicle change`;
    if (prepared.uit !== state.uit) return `the document refers to UIT ${prepared.uit ?? '(none)'}, this declaration's UIT is ${state.uit}`;
    return undefined;
  }

  /** Follow-ups accepted (Update: 202 with an operationId) or signalled before the previous run continued as new. */
  restoreCarried(): void {
    if (!this.input.carried) return;
    for (const { operationId, prepared } of this.input.pending?.queued ?? []) {
      const record = this.state.operations.find((o) => o.id === operationId && o.stage === 'QUEUED');
      if (record) this.queue.push({ record, prepared });
    }
    this.requests.push(...(this.input.pending?.requests ?? []));
    // Runs continued before follow-ups were carried over left their records QUEUED with nothing to upload.
    for (const op of this.state.operations) {
      if (op.stage === 'QUEUED' && !this.queue.some((q) => q.record === op)) {
        this.finishOp(op, 'FAILED', ['not sent: lost when the declaration continued as new; send the operation again']);
      }
    }
  }

  registerHandlers(): void {
    const state = this.state;
    setHandler(declarationQuery, () => state);
    setHandler(
      requestOperationUpdate,
      (prepared) => {
        const existing = prepared.requestKey ? state.operations.find((o) => o.requestKey === prepared.requestKey) : undefined;
        if (existing) return { operationId: existing.id, duplicate: true };
        return { operationId: this.enqueue(prepared).id, duplicate: false };
      },
      {
        validator: (prepared) => {
          if (prepared.requestKey && state.operations.some((o) => o.requestKey === prepared.requestKey)) return;
          const problem = this.followUpProblem(prepared);
          if (problem) throw new Error(problem);
        },
      },
    );
    setHandler(followUpSignal, (request) => {
      this.requests.push(request);
    });
    registerResolveHandlers({
      ledger: this.ledger,
      update: resolveDeclarationUpdate,
      signal: resolveSignal,
      what: 'declaration',
      finished: () => this.closing || state.stage === 'DONE',
      codes: { finished: RESOLVE_REFUSALS.FINISHED, notStuck: RESOLVE_REFUSALS.NOT_STUCK },
      abandonWhileWaitingForAuthorization: true,
      dropStraySignal: () => patched(RESOLVE_ONLY_WHEN_STUCK),
      recordDropped: (detail) => this.decide('RESOLVE_SIGNAL_DROPPED', detail),
    });
  }

  /** One operation from upload to outcome, on the lifecycle core. Returns the UIT ANAF named for it, if any. */
  async runOperation(op: OperationRecord, prepared: PreparedOperation): Promise<string | undefined> {
    const { ledger, state, input } = this;
    const { tenant, cif } = input;
    const at = environmentOf(input);
    const subject = ledger.subject(op, { operationId: op.id }, (stage) => {
      op.stage = stage;
    });
    const send = () =>
      uploadOnce(ledger, subject, {
        upload: () => this.uploads.uploadDeclaration({ tenant, cif, ...at, documentKey: prepared.document.key }),
        policy: ANAF_UPLOAD_POLICY,
        listing: this.listing(prepared),
      });
    const followed = await followToFinal(
      subject,
      {
        upload: send,
        poll: (uploadIndex) =>
          pollWithinDailyBudget(
            ledger,
            subject,
            {
              taskQueue: this.anafQueue,
              settings: input.settings,
              notReadyType: T.NOT_READY,
              statusRefusedType: T.STATUS_REFUSED,
              check: (options, index) =>
                proxyActivities<EtransportAnafActivities>(options).checkDeclarationStatus({ tenant, cif, ...at, uploadIndex: index }),
            },
            uploadIndex,
          ),
        indexed: ({ uploadIndex }) => {
          op.uploadIndex = uploadIndex;
          if (prepared.kind !== 'NOTIFICATION') return;
          state.uploadIndex = uploadIndex;
          ledger.set([{ key: AnafUploadIndex, value: uploadIndex }]);
        },
      },
      await send(),
    );
    if ('ended' in followed) {
      this.finishOp(
        op,
        followed.ended === 'REJECTED_AT_UPLOAD' ? 'REJECTED' : 'FAILED',
        followed.ended === 'CANCELLED' ? [] : followed.errors,
      );
      return undefined;
    }
    const { final, sent } = followed;
    if (final.state === 'ok') {
      this.finishOp(op, 'ACCEPTED');
      return sent.uit;
    }
    this.finishOp(op, 'REJECTED', final.errors.length ? final.errors : [`ANAF: ${final.state}`]);
    return undefined;
  }

  /** Where a lost upload shows up: ANAF's lista, compared by the document's identity and the indexes we know. */
  listing(prepared: PreparedOperation): Listing {
    const { input, state } = this;
    const delay = input.settings.listingDelayMs;
    return {
      find: async (sinceMs) => {
        const found = await this.reads.findUploadedDeclaration({
          tenant: input.tenant,
          cif: input.cif,
          ...environmentOf(input),
          kind: prepared.kind,
          identity: prepared.identity,
          ...(prepared.uit ? { uit: prepared.uit } : {}),
          knownIndexes: state.operations.map((o) => o.uploadIndex).filter((i): i is string => i !== undefined),
          sinceMs,
        });
        const m = found.match;
        const match = m && {
          uploadIndex: m.uploadIndex,
          ...(m.uit ? { uit: m.uit } : {}),
          detail: `ANAF lists our ${prepared.kind.toLowerCase()} as index ${m.uploadIndex}${m.uit ? ` (UIT ${m.uit})` : ''}`,
        };
        return { ...(match ? { match } : {}), compared: found.listed };
      },
      ...restListingPolicy(delay, 2_000, { listing: 'lista', compared: 'entries' }),
      delayFromLoss: () => patched(DEADLINE_FROM_LOSS),
      operatorWinsOverListing: () => patched(OPERATOR_WINS_OVER_LISTING),
      absenceProvesNothing: () =>
        UNLISTED_KINDS.includes(prepared.kind) && patched(FOLLOW_UP_NOT_RESENT_BLINDLY)
          ? `the answer to the ${prepared.kind.toLowerCase()} of UIT ${prepared.uit ?? state.uit} was lost and ANAF's lista never shows a valid ${prepared.kind.toLowerCase()} (only one with errors), so whether ANAF took it cannot be seen; not sent again. Check the UIT in ANAF's e-Transport application, then decide: ADOPT_INDEX if you know its index, REUPLOAD if ANAF did not take it, ABANDON otherwise`
          : undefined,
    };
  }

  async drainDeliveries(): Promise<void> {
    while (this.deliveries.length) await this.deliveries.shift();
  }

  async close(outcome: DeclarationOutcome, errors: string[] = []): Promise<DeclarationView> {
    const { state, ledger } = this;
    this.closing = true;
    state.outcome = outcome;
    if (errors.length) state.errors = errors;
    ledger.set([{ key: AnafOutcome, value: outcome }]);
    ledger.summarize(outcome);
    if (outcome !== 'FAILED') ledger.attention(undefined);
    this.notify(
      outcome === 'REJECTED' || outcome === 'FAILED' ? `etransport.declaration.${outcome.toLowerCase()}` : 'etransport.declaration.closed',
    );
    if (this.deliveries.length) {
      ledger.setStage('NOTIFYING');
      await this.drainDeliveries();
    }
    // Updates accepted before closing are answered; their operations are recorded as not sent.
    for (const { record } of this.queue.splice(0)) this.finishOp(record, 'FAILED', [`not sent: the declaration closed (${outcome})`]);
    // Updates are refused while closing (the validator says why); signals cannot be, so each is recorded.
    for (const request of this.requests.splice(0))
      this.decide('FOLLOW_UP_REFUSED', `follow-up signal (${request.type}) refused: the declaration closed (${outcome})`);
    // Awaited only when a handler still runs: the outcome and DONE then leave in one write when coalesced (no command either way).
    if (!allHandlersFinished()) await condition(allHandlersFinished);
    state.finishedAt = isoNow();
    ledger.setStage('DONE');
    ledger.flush();
    return state;
  }

  setExpiry(): void {
    const { transportDate, operationType } = this.state.identity;
    if (!transportDate) return;
    const expires = new Date(uitExpiresAt(transportDate, operationType)).toISOString();
    if (this.state.uitExpiresAt !== expires) {
      this.state.uitExpiresAt = expires;
      this.state.expiryWarned = false;
    }
  }

  /** One step of the UIT's life: a signalled follow-up, a queued operation, the expiry, or a wait. The view once it ends. */
  async serveNext(): Promise<DeclarationView | undefined> {
    const request = this.requests.shift();
    if (request) return void (await this.readFollowUpSignal(request));
    const next = this.queue.shift();
    if (next) return this.runQueued(next.record, next.prepared);
    return this.watchExpiry();
  }

  /** A follow-up signalled from the Web UI: prepared into a document, then queued like an Update's. */
  async readFollowUpSignal(request: FollowUpRequest): Promise<void> {
    const { state } = this;
    const prepared = await this.local.prepareFollowUp({
      tenant: this.input.tenant,
      declarantCif: state.identity.declarantCif,
      uit: state.uit!,
      ...(state.identity.refDeclarant ? { refDeclarant: state.identity.refDeclarant } : {}),
      request,
    });
    if ('invalid' in prepared) {
      // Nothing to upload: kept in the history so the operator sees why.
      this.decide('FOLLOW_UP_REFUSED', `follow-up signal refused (${prepared.invalid}): ${prepared.message}`);
      return;
    }
    if (prepared.requestKey && state.operations.some((o) => o.requestKey === prepared.requestKey)) return;
    const problem = this.followUpProblem(prepared);
    if (problem) {
      const record = this.newRecord(prepared);
      state.operations.push(record);
      this.finishOp(record, 'INVALID', [problem]);
      return;
    }
    this.enqueue(prepared);
  }

  /** A queued follow-up, uploaded; what its acceptance means for the UIT; continue-as-new when the run is long. */
  async runQueued(record: OperationRecord, prepared: PreparedOperation): Promise<DeclarationView | undefined> {
    const { state, ledger, input } = this;
    await this.runOperation(record, prepared);
    ledger.setStage(state.expiryWarned && !state.confirmed ? 'EXPIRING_UNCONFIRMED' : 'ACTIVE');
    if (record.outcome === 'ACCEPTED') {
      if (prepared.kind === 'DELETION') {
        this.notify('etransport.operation.finished', { operation: { id: record.id, kind: record.kind, outcome: record.outcome } });
        return this.close('DELETED');
      }
      if (prepared.kind === 'CONFIRMATION') {
        state.confirmed = true;
        if (state.stage === 'EXPIRING_UNCONFIRMED') ledger.setStage('ACTIVE');
        ledger.attention(undefined);
      }
      if (prepared.kind === 'CORRECTION') {
        state.identity = { ...state.identity, ...prepared.identity };
        this.setExpiry();
      }
    }
    this.notify('etransport.operation.finished', {
      operation: { id: record.id, kind: record.kind, outcome: record.outcome, errors: record.errors },
    });
    const longRun =
      state.operations.length - this.operationsAtStart >= input.settings.operationsPerRun || workflowInfo().continueAsNewSuggested;
    if (!this.continueWanted && longRun && !this.queue.length && !this.requests.length) {
      if (patched(CONTINUE_WHEN_IDLE)) {
        this.continueWanted = true;
      } else {
        // Unpatched runs: their history waits here. Nothing that arrives meanwhile is lost: it is carried over.
        this.decide('CONTINUED_AS_NEW', `after ${state.operations.length} operations (run ${state.run})`);
        await this.drainDeliveries();
        await condition(allHandlersFinished);
        ledger.flush();
        await continueAsNew<typeof etransportDeclaration>({ ...input, carried: state, pending: this.pendingWork() });
      }
    }
    return undefined;
  }

  /** Idle: warn before an unconfirmed UIT expires, close when it has, continue as new when wanted, else wait. */
  async watchExpiry(): Promise<DeclarationView | undefined> {
    const { state, ledger, input } = this;
    const expiresAt = state.uitExpiresAt ? Date.parse(state.uitExpiresAt) : Date.now();
    if (Date.now() >= expiresAt) {
      this.decide(
        'UIT_EXPIRED',
        `UIT ${state.uit} expired at ${state.uitExpiresAt}${state.confirmationExpected && !state.confirmed ? ' unconfirmed' : ''}`,
      );
      return this.close('EXPIRED');
    }
    const warnAt = expiresAt - input.settings.expiryWarningMs;
    const mustWarn = state.confirmationExpected && !state.confirmed && !state.expiryWarned;
    if (mustWarn && Date.now() >= warnAt) {
      state.expiryWarned = true;
      this.decide('EXPIRY_WARNING', `UIT ${state.uit} expires at ${state.uitExpiresAt} and is not confirmed`);
      ledger.setStage('EXPIRING_UNCONFIRMED');
      ledger.attention(`UIT ${state.uit} expires at ${state.uitExpiresAt} unconfirmed`);
      this.notify('etransport.uit.expiring');
      return undefined;
    }
    if (this.continueWanted && this.unsettled === 0) {
      await condition(allHandlersFinished);
      // Idle, webhooks settled: nothing in flight. Anything that still slipped in goes along (pendingWork).
      this.decide('CONTINUED_AS_NEW', `after ${state.operations.length} operations (run ${state.run})`);
      this.deliveries.length = 0;
      ledger.flush();
      await continueAsNew<typeof etransportDeclaration>({ ...input, carried: state, pending: this.pendingWork() });
    }
    const wakeAt = mustWarn ? Math.min(warnAt, expiresAt) : expiresAt;
    await condition(
      () => this.queue.length > 0 || this.requests.length > 0 || (this.continueWanted && this.unsettled === 0),
      Math.max(1, wakeAt - Date.now()),
    );
    return undefined;
  }
}

/**
 * The environment every ANAF call of this declaration goes to, fixed at start (issue 16 item 5):
 * nothing when the input has none (started before), so those histories' activity inputs are unchanged.
 */
function environmentOf(input: DeclarationInput): Pick<DeclarationInput, 'anafEnvironment'> {
  return input.anafEnvironment ? { anafEnvironment: input.anafEnvironment } : {};
}

function initialView(input: DeclarationInput): DeclarationView {
  return {
    tenant: input.tenant,
    cif: input.cif,
    ...environmentOf(input),
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
    updatedAt: isoNow(),
    run: 1,
  };
}
