import { isCancellation, patched, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { BanciwsActivities } from '../../activities/banciws';
import type { WebhookActivities } from '../../activities/webhooks';
import { ANAF_FAILURE, attemptOf, failureMessage } from '../shared/anaf-failures';
import { readOptions, uploadOnceOptions, WEBHOOK_OPTIONS } from '../shared/lifecycle/activity-options';
import { downloadAnswer, finishLifecycle } from '../shared/lifecycle/finish';
import { isoNow, Ledger } from '../shared/lifecycle/ledger';
import { recordingRules } from '../shared/lifecycle/recording';
import type { Listing } from '../shared/lifecycle/reconcile';
import { registerResolveHandlers } from '../shared/lifecycle/resolve';
import { initialLifecycleView } from '../shared/lifecycle/types';
import { uploadOnce, type UploadPolicy } from '../shared/lifecycle/upload-once';
import { banciwsTaskQueueFor } from '../../lib/temporal/task-queues';
import { BANCIWS_RESOLVE_REFUSALS, banciwsMessageQuery, banciwsResolveSignal, banciwsResolveUpdate } from './definitions';
import type { BanciwsMessageInput, BanciwsMessageView, BanciwsOutcome, BanciwsResolveAction, ReceiptCandidate } from './types';
import { withUploadTurn } from './upload-turns';

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
 * Uploads of one institution go one at a time (upload-turns.ts): ANAF's receipts name an
 * index and a minute, not our document, so only a receipt nothing else of ours can own is ours.
 * The machinery is the shared lifecycle core (workflows/shared/lifecycle); this file is
 * BANCIWS's adapter and story.
 */

const MAX_DECISIONS = 50;
/**
 * Patches (workflow.patched) for changes in what the workflow does, so histories recorded
 * before them replay. Deprecate once no unpatched run is open.
 * UPLOAD_TURNS: the upload and its reconciliation hold the institution's upload turn; a lost
 * answer is matched on the receipts' Index_incarcare (several candidates: the operator).
 * DELAY_FROM_LOSS: the listing delay counts from when the loss was noticed, not the attempt's
 * start (a 20 s heartbeat timeout used to leave one listing round before a re-send).
 */
const PATCH_UPLOAD_TURNS = 'banciws-upload-turns';
const PATCH_DELAY_FROM_LOSS = 'banciws-listing-delay-from-loss';
/** Recorded as every service records (shared/lifecycle/recording.ts): coalesced attributes, attention written on change. */
const PATCH_UNIFORM_RECORDS = 'banciws-uniform-records';
/** A resolve signal arriving while nothing waits for a decision is dropped and recorded; before, it was kept for the next lost answer. */
const PATCH_RESOLVE_ONLY_WHEN_STUCK = 'banciws-resolve-only-when-stuck';
/** A lone receipt whose Data_mesaj cannot be read (it may predate the attempt) goes to an operator instead of being adopted. */
const PATCH_UNDATED_RECEIPT_TO_OPERATOR = 'banciws-undated-receipt-to-operator';
/**
 * An operator's decision accepted while listaMesaje was being read wins over what that round
 * found (as e-Factura's); before, the receipt was adopted (or the PDF re-sent) and the decision
 * left pending, never applied.
 */
const PATCH_OPERATOR_WINS_OVER_LISTING = 'banciws-operator-wins-over-listing';
/** The BANCIWS gateway dropped the session before it read the request: surely not sent. */
const SESSION_LOST = 'AnafGatewaySessionLost';
const NON_RETRYABLE_READS = [
  'AnafCertificateRefused',
  'BanciwsNotConfigured',
  'BanciwsInvalidRequest',
  'BanciwsNoRights',
  'BanciwsListRefused',
  'AnafUnauthorized',
];

/**
 * BANCIWS's upload policy: the gateway losing the session is also "surely not sent"; no
 * authorization to wait for (a client certificate) and no refusal types (anything else ends the
 * message FAILED).
 */
const UPLOAD_POLICY: UploadPolicy = {
  safeToRetry: new Set<string>([
    ANAF_FAILURE.NOT_SENT,
    ANAF_FAILURE.RATE_LIMITED,
    ANAF_FAILURE.GATEWAY,
    SESSION_LOST,
    ANAF_FAILURE.DAILY_LIMIT,
  ]),
  maxSafeRetries: 30,
  safeRetryFallbackMs: (n) => Math.min(10 * 60_000, 2_000 * 2 ** Math.min(n, 8)),
  authTypes: new Set(),
  refusedTypes: new Set(),
  refusedAttempt: 'REFUSED',
};

const STATUS_CODE_MEANS: Record<number, string> = {
  2: 'ANAF does not know this upload index for the institution',
  3: 'signature or PDF errors',
  4: 'ANAF calls the request malformed',
};

export async function banciwsMessage(input: BanciwsMessageInput): Promise<BanciwsMessageView> {
  const { settings } = input;
  const anafQueue = banciwsTaskQueueFor(workflowInfo().taskQueue);
  const uploads = proxyActivities<BanciwsActivities>(uploadOnceOptions(anafQueue, '4 minutes'));
  const reads = proxyActivities<BanciwsActivities>(
    readOptions(anafQueue, { startToCloseTimeout: '4 minutes', maximumAttempts: 12, nonRetryableErrorTypes: NON_RETRYABLE_READS }),
  );
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
  const webhooks = proxyActivities<WebhookActivities>(WEBHOOK_OPTIONS);

  const ref = { tenant: input.tenant, institutionId: input.institutionId };
  const ledger = new Ledger<BanciwsMessageView, BanciwsResolveAction>(initialView(input), {
    ...recordingRules(patched(PATCH_UNIFORM_RECORDS), () => ({
      coalesceAttributes: false,
      trimFrom: 1,
      attentionWrites: 'always',
      recordSafeRetries: true,
    })),
    maxDecisions: MAX_DECISIONS,
    summary: (what) => `BANCIWS report of ${input.institutionId}: ${what}`,
  });
  const state = ledger.view;
  setHandler(banciwsMessageQuery, () => state);
  registerResolveHandlers({
    ledger,
    update: banciwsResolveUpdate,
    signal: banciwsResolveSignal,
    what: 'exchange',
    finished: () => state.stage === 'DONE' || state.outcome !== undefined,
    codes: { finished: BANCIWS_RESOLVE_REFUSALS.FINISHED, notStuck: BANCIWS_RESOLVE_REFUSALS.NOT_STUCK },
    abandonWhileWaitingForAuthorization: false,
    dropStraySignal: () => patched(PATCH_RESOLVE_ONLY_WHEN_STUCK),
    recordDropped: (detail) => ledger.decide('RESOLVE_SIGNAL_DROPPED', detail),
  });
  const finish = (outcome: BanciwsOutcome, errors: string[] = [], code?: string) => {
    if (code) state.code = code;
    const id = workflowInfo().workflowId;
    return finishLifecycle(
      ledger,
      outcome,
      errors,
      input.callbackUrl
        ? {
            activities: webhooks,
            url: input.callbackUrl,
            event: 'banciws.message.finished',
            deliveryId: id,
            payload: () => ({
              id,
              institutionId: input.institutionId,
              outcome,
              code: state.code,
              uploadIndex: state.uploadIndex,
              idPortal: state.idPortal,
              errors: state.errors,
            }),
          }
        : undefined,
    );
  };

  ledger.started('banciws', input.tenant, input.cui);
  try {
    const upload = (listing: Listing) =>
      uploadOnce(ledger, ledger.subject(state), {
        upload: () => uploads.uploadBanciwsMessage({ ...ref, pdfKey: input.document.key }),
        policy: UPLOAD_POLICY,
        listing,
      });
    const uploaded = patched(PATCH_UPLOAD_TURNS)
      ? await withUploadTurn(
          ref,
          (owned) => upload(receiptListing(input, reads, state, owned)),
          (r) => ('sent' in r ? r.sent.uploadIndex : undefined),
        )
      : await upload(receiptListing(input, reads, state));
    if (!('sent' in uploaded)) {
      if (uploaded.ended === 'REJECTED_AT_UPLOAD') return await finish('REJECTED', uploaded.errors, 'UPLOAD_REFUSED');
      return await finish('FAILED', uploaded.ended === 'FAILED' ? uploaded.errors : []);
    }
    const index = uploaded.sent.uploadIndex;
    state.uploadIndex = index;
    ledger.indexed(index);
    ledger.setStage('POLLING');
    await sleep(settings.firstPollDelayMs);
    let polled;
    try {
      polled = await status.checkBanciwsStatus({ ...ref, uploadIndex: index });
      state.statusChecks += polled.attempt;
    } catch (err) {
      if (isCancellation(err)) throw err;
      state.statusChecks += attemptOf(err) ?? 1;
      return await finish('FAILED', [`stareMesaj for index ${index}: ${failureMessage(err)}`]);
    }
    if (polled.code !== 0)
      return await finish('REJECTED', polled.errors.length ? polled.errors : [STATUS_CODE_MEANS[polled.code]!], `STATUS_${polled.code}`);
    const idPortal = (state.idPortal = polled.idPortal);
    const downloaded = await downloadAnswer(ledger, idPortal, () => reads.downloadBanciwsDocument({ ...ref, idPortal }));
    if ('failed' in downloaded) return await finish('FAILED', [downloaded.failed]);
    state.answer = downloaded.answer.pdf;
    return await finish('ANSWERED');
  } catch (err) {
    if (isCancellation(err)) {
      state.finishedAt = isoNow();
      ledger.setStage('DONE');
      ledger.flush();
    }
    throw err;
  }
}

function initialView(input: BanciwsMessageInput): BanciwsMessageView {
  const { tenant, institutionId, cui, document } = input;
  return { tenant, institutionId, cui, ...initialLifecycleView(input), document, ...(input.fileName ? { fileName: input.fileName } : {}) };
}

/**
 * Where a lost upload shows up: ANAF's receipts (listaMesaje). With the upload turn (`owned`:
 * the indexes our other reports of the institution own), a receipt dated from the attempt on
 * naming an index none of them owns is ours when it is the only one; several go to an operator,
 * listed in the view (`receiptCandidates`) and the decision. Runs from before the turn adopt
 * what the activity calls a match.
 */
function receiptListing(input: BanciwsMessageInput, reads: BanciwsActivities, state: BanciwsMessageView, owned?: string[]): Listing {
  const ref = { tenant: input.tenant, institutionId: input.institutionId };
  return {
    find: async (sinceMs, checked) => {
      if (!owned) {
        const found = await reads.findBanciwsUpload({ ...ref, sha256: input.document.sha256, sinceMs, checkedIds: checked });
        const match = found.match && {
          uploadIndex: found.match.uploadIndex,
          detail: `ANAF's receipt ${found.match.receiptId} acknowledges our document as index ${found.match.uploadIndex}`,
        };
        return { ...(match ? { match } : {}), newlyChecked: found.newlyChecked };
      }
      const found = await reads.findBanciwsUpload({ ...ref, sinceMs, ownedIndexes: owned });
      const [only, ...more] = found.candidates;
      const undatedToOperator = patched(PATCH_UNDATED_RECEIPT_TO_OPERATOR);
      if (only?.indexIncarcare && more.length === 0 && !(only.undated && undatedToOperator)) {
        return {
          match: {
            uploadIndex: only.indexIncarcare,
            detail: `ANAF's receipt ${only.idPortal} (${only.dataMesaj}, "${only.denumire}") is the only one since the attempt, and index ${only.indexIncarcare} is no other report's`,
          },
          compared: found.receipts,
        };
      }
      if (only) {
        state.receiptCandidates = found.candidates;
        return { ambiguous: ambiguousReceipts(found.candidates), compared: found.receipts };
      }
      return { compared: found.receipts };
    },
    listingDelayMs: input.settings.listingDelayMs,
    roundEveryMs: 60_000,
    adopted: 'ADOPTED_RECEIPT_INDEX',
    reupload: 'REUPLOAD_PROVEN_ABSENT',
    absentDetail: (seconds, compared) => `no receipt of ours ${seconds} s after the attempt (${compared} receipts listed since it)`,
    unreadable: "could not search ANAF's receipts for the lost upload",
    delayFromLoss: () => patched(PATCH_DELAY_FROM_LOSS),
    operatorWinsOverListing: () => patched(PATCH_OPERATOR_WINS_OVER_LISTING),
  };
}

/** Said to the operator: which receipts could be ours, and how to adopt one. */
function ambiguousReceipts(candidates: ReceiptCandidate[]): string {
  const listed = candidates
    .map(
      (c) =>
        `${c.indexIncarcare ? `index ${c.indexIncarcare}` : 'no index'} (receipt ${c.idPortal}, ${c.dataMesaj}${c.undated ? ', a date that cannot be read' : ''}, "${c.denumire}")`,
    )
    .join('; ');
  const what = candidates.length === 1 ? 'one receipt' : `${candidates.length} receipts`;
  const undated = candidates.filter((c) => c.undated).map((c) => c.idPortal);
  // Why an undated receipt is here at all: without its minute it cannot be ruled out, so it is offered again to every lost answer while ANAF lists it.
  const why = undated.length
    ? ` Receipt${undated.length > 1 ? 's' : ''} ${undated.join(', ')}: ANAF's Data_mesaj is no calendar minute, so it may predate the attempt and cannot be ruled out; while ANAF lists it, every lost answer of this institution comes to an operator (nothing is sent again).`
    : '';
  return `ANAF lists ${what} since the lost upload${undated.length ? ' (or undated)' : ''} that none of our other reports owns: ${listed}; adopt ours (resolve ADOPT_INDEX), re-upload or abandon.${why}`;
}
