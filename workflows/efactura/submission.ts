import { condition, isCancellation, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { EfacturaAnafActivities } from '../../activities/efactura';
import type { WebhookActivities } from '../../activities/webhooks';
import { AnafOutcome } from '../../lib/temporal/search-attributes';
import { ANAF_FAILURE } from '../shared/anaf-failures';
import { readOptions, uploadOnceOptions, WEBHOOK_OPTIONS } from '../shared/lifecycle/activity-options';
import { downloadAnswer, finishLifecycle } from '../shared/lifecycle/finish';
import { followToFinal, type Followed } from '../shared/lifecycle/follow';
import { isoNow, Ledger } from '../shared/lifecycle/ledger';
import { pollWithinDailyBudget } from '../shared/lifecycle/poll-status';
import { recordingRules } from '../shared/lifecycle/recording';
import { type Listing, restListingPolicy } from '../shared/lifecycle/reconcile';
import { registerResolveHandlers } from '../shared/lifecycle/resolve';
import { initialLifecycleView, nothingSent } from '../shared/lifecycle/types';
import { ANAF_UPLOAD_POLICY, uploadOnce, type UploadEnd, type UploadPolicy } from '../shared/lifecycle/upload-once';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import { checkSignature } from './signature';
import { cancelSubmissionUpdate, RESOLVE_REFUSALS, resolveSignal, resolveSubmissionUpdate, submissionQuery } from './definitions';
import type { ResolveAction, SubmissionInput, SubmissionOutcome, SubmissionView } from './types';

/**
 * One invoice's life at ANAF: upload → stareMesaj → descarcare → result (+ webhook).
 *
 * The rule it is built around: an upload whose answer was lost is never sent again
 * blindly. The upload activity runs at most once per decision (no Temporal retries: a
 * timed-out attempt may have reached ANAF); a lost answer sends the workflow to
 * RECONCILING, which looks for the invoice in ANAF's listing until ANAF's listing delay
 * has passed, and only then uploads again. ANAF's own duplicate answer links to the
 * earlier index. Every such choice is written to `decisions`. The machinery is the shared
 * lifecycle core (workflows/shared/lifecycle); this file is e-Factura's adapter and story.
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
/** Recorded as every service records (shared/lifecycle/recording.ts); for e-Factura: safe re-sends shown. */
const PATCH_UNIFORM_RECORDS = 'efactura-uniform-records';
/** A lost upload is re-sent only a listing delay after the loss was noticed, not after the attempt started. */
const PATCH_DEADLINE_FROM_LOSS = 'efactura-listing-delay-from-loss';
/** ANAF's signature over an accepted invoice is checked through ANAF (signature.ts), beside the finish, never blocking it. */
const PATCH_SIGNATURE_CHECKED = 'efactura-answer-signature-checked';
const MAX_DECISIONS = 50;

/** e-Factura's upload policy: the REST one, and an answer we cannot read came from ANAF (patched). */
const UPLOAD_POLICY: UploadPolicy = {
  ...ANAF_UPLOAD_POLICY,
  // An answer we cannot read came from ANAF, so the upload reached it: as good as lost.
  alsoMaybeSent: (type) => type === T.INVALID_ANSWER && patched(PATCH_INVALID_UPLOAD_ANSWER),
};

type SubmissionLedger = Ledger<SubmissionView, ResolveAction>;

export async function efacturaSubmission(input: SubmissionInput): Promise<SubmissionView> {
  // First: the patch markers are matched in the order they were recorded (this one before the activity options').
  const recording = recordingRules(patched(PATCH_UNIFORM_RECORDS), () => ({
    coalesceAttributes: patched(PATCH_COALESCED_ATTRIBUTES),
    trimFrom: 1,
    attentionWrites: 'on-change',
    recordSafeRetries: false,
  }));
  const anafQueue = anafTaskQueueFor(workflowInfo().taskQueue);
  const uploads = proxyActivities<EfacturaAnafActivities>(uploadOnceOptions(anafQueue, '3 minutes', 1));
  const reads = proxyActivities<EfacturaAnafActivities>(
    readOptions(anafQueue, {
      startToCloseTimeout: '2 minutes',
      maximumAttempts: 10,
      nonRetryableErrorTypes: [T.NOT_AUTHORIZED, T.UNAUTHORIZED, T.STATUS_REFUSED],
      priorityKey: 2,
    }),
  );
  const webhooks = proxyActivities<WebhookActivities>(WEBHOOK_OPTIONS);
  const ledger: SubmissionLedger = new Ledger(initialView(input), {
    ...recording,
    maxDecisions: MAX_DECISIONS,
    summary: (what) => `e-Factura ${input.standard} for CIF ${input.cif}: ${what}`,
    noAuthorization: (why) => `no usable e-Factura authorization for CIF ${input.cif}: ${why}`,
  });
  const state = ledger.view;
  const invoice = ledger.subject(state);
  registerHandlers(ledger);

  const { tenant, cif, standard } = input;
  const at = environmentOf(input);
  const send = () =>
    uploadOnce(ledger, invoice, {
      upload: () => uploads.uploadInvoice({ tenant, cif, ...at, params: { cif, standard, ...input.flags }, invoiceKey: input.invoice.key }),
      policy: UPLOAD_POLICY,
      listing: invoiceListing(input, reads),
    });
  const follow = async (from: Parameters<typeof followToFinal>[2]) =>
    followToFinal(
      invoice,
      {
        upload: send,
        poll: (uploadIndex) =>
          pollWithinDailyBudget(
            ledger,
            invoice,
            {
              taskQueue: anafQueue,
              settings: input.settings,
              notReadyType: T.NOT_READY,
              statusRefusedType: T.STATUS_REFUSED,
              check: (options, index) =>
                proxyActivities<EfacturaAnafActivities>(options).checkUploadStatus({ tenant, cif, ...at, uploadIndex: index }),
            },
            uploadIndex,
          ),
        indexed: ({ uploadIndex }) => {
          state.uploadIndex = uploadIndex;
          ledger.indexed(uploadIndex);
        },
      },
      from,
    );
  const finish = (outcome: SubmissionOutcome, errors: string[] = []) => finishSubmission(ledger, input, webhooks, outcome, errors);

  ledger.started('efactura', tenant, cif);
  ledger.summarize('queued');
  try {
    let followed: Followed<{ state: string; downloadId?: string }> = await follow(await send());
    let duplicateLinked = false;
    for (;;) {
      if ('ended' in followed) return await endWithoutAnswer(ledger, followed, finish);
      const { final, sent } = followed;
      if (final.state === 'XML cu erori nepreluat de sistem' || !final.downloadId)
        return await finish('REJECTED', [`ANAF: ${final.state}`]);
      const downloadId = (state.downloadId = final.downloadId);
      const downloaded = await downloadAnswer(ledger, downloadId, () => reads.downloadAnswer({ tenant, cif, ...at, downloadId }));
      if ('failed' in downloaded) return await finish('FAILED', [downloaded.failed]);
      const { answer } = downloaded;
      state.files = {
        ...state.files,
        zip: answer.zip,
        ...(answer.signedInvoice ? { signedInvoice: answer.signedInvoice } : {}),
        ...(answer.signature ? { signature: answer.signature } : {}),
        ...(answer.errorXml ? { errorXml: answer.errorXml } : {}),
      };
      if (answer.kind === 'ok') {
        if (!answer.signedInvoice || !answer.signature || !patched(PATCH_SIGNATURE_CHECKED)) return await finish('ACCEPTED');
        // The outcome, its webhook and DONE do not wait for the check; the result records it when it comes.
        const checking = checkSignature({ tenant, cif, documentKey: answer.signedInvoice.key, signatureKey: answer.signature.key });
        const view = await finish('ACCEPTED');
        Object.assign(view, await checking);
        return view;
      }
      const index = sent.uploadIndex;
      if (answer.duplicateOfIndex && answer.duplicateOfIndex !== index && !duplicateLinked) {
        // ANAF already holds this invoice under an earlier index: that upload's result is ours.
        duplicateLinked = true;
        ledger.decide(
          'LINKED_TO_EARLIER_UPLOAD',
          `ANAF answered that index ${index} repeats index ${answer.duplicateOfIndex}; following that one`,
        );
        state.duplicateUploadIndex = index;
        state.errors = answer.errors;
        followed = await follow({ sent: { uploadIndex: answer.duplicateOfIndex } });
        continue;
      }
      return await finish('REJECTED', answer.errors);
    }
  } catch (err) {
    if (isCancellation(err)) {
      // Temporal-level cancellation (Web UI / CLI): record it; an upload may have happened.
      state.outcome = 'CANCELLED';
      ledger.set([{ key: AnafOutcome, value: 'CANCELLED' }]);
      state.finishedAt = isoNow();
      ledger.setStage('DONE');
      ledger.flush();
    }
    throw err;
  }
}

function initialView(input: SubmissionInput): SubmissionView {
  const { tenant, cif, standard, flags, identity } = input;
  return {
    tenant,
    cif,
    standard,
    flags,
    identity,
    ...environmentOf(input),
    ...initialLifecycleView(input),
    files: { invoice: input.invoice },
  };
}

/**
 * The environment every ANAF call of this submission goes to, fixed at start (issue 16 item 5):
 * nothing when the input has none (started before), so those histories' activity inputs are unchanged.
 */
function environmentOf(input: SubmissionInput): Pick<SubmissionInput, 'anafEnvironment'> {
  return input.anafEnvironment ? { anafEnvironment: input.anafEnvironment } : {};
}

/** Where a lost upload shows up: ANAF's message listing, compared by the invoice's identity. */
function invoiceListing(input: SubmissionInput, reads: EfacturaAnafActivities): Listing {
  const delay = input.settings.listingDelayMs;
  return {
    find: async (sinceMs, checked) => {
      const found = await reads.findUploadedInvoice({
        tenant: input.tenant,
        cif: input.cif,
        ...environmentOf(input),
        standard: input.standard,
        identity: input.identity,
        sinceMs,
        checkedMessageIds: checked,
      });
      const match = found.match && {
        uploadIndex: found.match.uploadIndex,
        detail: `ANAF lists our invoice as index ${found.match.uploadIndex} (message ${found.match.messageId})`,
      };
      return { ...(match ? { match } : {}), newlyChecked: found.newlyChecked, more: found.more };
    },
    ...restListingPolicy(delay, 5_000, { listing: 'listing', compared: 'candidates' }),
    delayFromLoss: () => patched(PATCH_DEADLINE_FROM_LOSS),
    operatorWinsOverListing: () => patched(PATCH_RESOLVE_WHEN_STUCK),
  };
}

/** The upload ended without an index: refused, failed, abandoned or cancelled before it was sent. */
async function endWithoutAnswer(
  ledger: SubmissionLedger,
  end: UploadEnd,
  finish: (o: SubmissionOutcome, e?: string[]) => Promise<SubmissionView>,
): Promise<SubmissionView> {
  if (end.ended === 'CANCELLED') {
    ledger.decide('CANCELLED', end.reason);
    return finish('CANCELLED');
  }
  return finish(end.ended, end.errors);
}

function finishSubmission(
  ledger: SubmissionLedger,
  input: SubmissionInput,
  webhooks: WebhookActivities,
  outcome: SubmissionOutcome,
  errors: string[],
): Promise<SubmissionView> {
  const state = ledger.view;
  const id = workflowInfo().workflowId;
  return finishLifecycle(
    ledger,
    outcome,
    errors,
    input.callbackUrl && state.webhook
      ? {
          activities: webhooks,
          url: input.callbackUrl,
          event: 'efactura.submission.finished',
          deliveryId: id,
          payload: () => ({
            id,
            cif: input.cif,
            outcome,
            uploadIndex: state.uploadIndex,
            downloadId: state.downloadId,
            errors: state.errors,
          }),
        }
      : undefined,
  );
}

/** The query, the caller's cancel and the operator's resolve (Update, or signal from the Web UI). */
function registerHandlers(ledger: SubmissionLedger): void {
  const state = ledger.view;
  setHandler(submissionQuery, () => state);
  setHandler(
    cancelSubmissionUpdate,
    async ({ reason }) => {
      ledger.cancelRequested = reason ?? 'cancelled by the caller';
      await condition(() => state.stage === 'DONE');
      return state;
    },
    {
      validator: (_request) => {
        if (!nothingSent(state.attempts) || !(state.stage === 'QUEUED' || state.stage === 'WAITING_FOR_AUTHORIZATION')) {
          throw new Error(`too late to cancel: the invoice is ${state.stage === 'DONE' ? 'finished' : 'already being sent to ANAF'}`);
        }
      },
    },
  );
  registerResolveHandlers({
    ledger,
    update: resolveSubmissionUpdate,
    signal: resolveSignal,
    what: 'submission',
    finished: () => state.stage === 'DONE' || state.outcome !== undefined,
    codes: { finished: RESOLVE_REFUSALS.FINISHED, notStuck: RESOLVE_REFUSALS.NOT_STUCK },
    abandonWhileWaitingForAuthorization: true,
    dropStraySignal: () => patched(PATCH_RESOLVE_WHEN_STUCK),
    // State only (the view's decisions, no attribute or memo write): no command, so histories from before it replay.
    recordDropped: (detail) => ledger.decide('RESOLVE_SIGNAL_DROPPED', detail),
  });
}
