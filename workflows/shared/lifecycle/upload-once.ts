import { isCancellation, patched, sleep } from '@temporalio/workflow';
import {
  ANAF_FAILURE,
  classifyUploadFailure,
  failureMessage,
  failureType,
  MAX_LOST_ANSWERS,
  MAX_SAFE_UPLOAD_RETRIES,
  MAX_TECHNICAL_RETRIES,
  REST_UPLOAD_FAILURES,
  retryDelayOf,
  safeRetryFallbackMs,
  technicalRetryDelayMs,
} from '../anaf-failures';
import type { Lifecycle, Subject } from './ledger';
import { nothingSent } from './types';
import { reconcile, type Listing } from './reconcile';
import { adoptedByOperator, waitForAuthorization, waitForOperator } from './waits';

/**
 * Upload once: the rule the product is built around. The upload activity runs at most once
 * per decision (no Temporal retries: a timed-out attempt may have reached ANAF). A failure is
 * classified: surely not sent → send again after the delay ANAF named (bounded); may have been
 * sent → reconcile through ANAF's listing, never re-send blindly; no authorization → wait for
 * one; ANAF's technical error → send again after a bounded delay; refused → the upload ends.
 * Every attempt goes to the record, every choice to the decisions. Workflow-safe: no I/O.
 */

/**
 * Patches of the core (every service that uploads through it): ANAF's technical error is
 * re-sent after a delay instead of ending the upload; a failure no rule classifies is
 * reconciled (it may have reached ANAF) instead of ending the upload FAILED.
 */
const PATCH_TECHNICAL_ERROR_RETRIED = 'upload-technical-error-retried';
const PATCH_UNCLASSIFIED_RECONCILES = 'upload-unclassified-failure-reconciles';
/**
 * Before it, the answer lost for the (MAX_LOST_ANSWERS+1)th time in a row went straight to an
 * operator, although that very upload may be in ANAF's listing (answers lost after processing);
 * after it, the listing is read as after every other loss: found → adopted; absent → the operator
 * (never a further re-send). The cluster chaos run left one of 1,000 waiting for an operator
 * whose fourth upload ANAF had filed.
 */
const PATCH_LISTING_BEFORE_OPERATOR = 'upload-listing-read-before-operator';

export type UploadAnswer = { accepted: true; uploadIndex: string; uit?: string } | { accepted: false; errors: string[] };
export interface Sent {
  uploadIndex: string;
  uit?: string;
}
/** How an upload ended without an index; the service turns it into its outcome. */
export type UploadEnd = { ended: 'REJECTED_AT_UPLOAD' | 'FAILED'; errors: string[] } | { ended: 'CANCELLED'; reason: string };
export type UploadResult = { sent: Sent } | UploadEnd;

/** Each service's upload policy. */
export interface UploadPolicy {
  /** Failures that surely did not reach ANAF: send again, at most maxSafeRetries times. */
  safeToRetry: ReadonlySet<string>;
  maxSafeRetries: number;
  /** The delay before the n-th safe re-send when ANAF named none. */
  safeRetryFallbackMs(n: number): number;
  /** Failures that mean: wait for the organization's authorization (none for BANCIWS). */
  authTypes: ReadonlySet<string>;
  /** Failures where ANAF refused the request itself (nothing filed): the upload ends REJECTED_AT_UPLOAD. */
  refusedTypes: ReadonlySet<string>;
  /** Beyond lost answers, timeouts and untyped failures, what else may have reached ANAF (e-Factura, patched). */
  alsoMaybeSent?(type: string | undefined): boolean;
  /** A failure type none of the sets names may have reached ANAF: reconcile it (REST; patched). BANCIWS ends such uploads FAILED. */
  reconcileUnclassified?: boolean;
  /** The attempt's result when ANAF answered the upload with a refusal. */
  refusedAttempt: string;
}

/** The REST upload policy (e-Factura, e-Transport): the decision table in anaf-failures.ts; a 400 or {eroare} is a refusal. */
export const ANAF_UPLOAD_POLICY: UploadPolicy = {
  ...REST_UPLOAD_FAILURES,
  maxSafeRetries: MAX_SAFE_UPLOAD_RETRIES,
  safeRetryFallbackMs,
  refusedAttempt: 'REJECTED_AT_UPLOAD',
  reconcileUnclassified: true,
};

export interface UploadSpec {
  upload(): Promise<UploadAnswer>;
  policy: UploadPolicy;
  listing: Listing;
}

/** Uploads until ANAF gives an index, or the upload ends (refused, failed, abandoned, cancelled). */
export async function uploadOnce(life: Lifecycle, subject: Subject, spec: UploadSpec): Promise<UploadResult> {
  const { policy, listing } = spec;
  const attempts = subject.record.attempts;
  let safeRetries = 0;
  let technicalRetries = 0;
  let lostInARow = 0;
  let authWaitSince: number | undefined;
  for (;;) {
    if (life.cancelRequested !== undefined && nothingSent(attempts)) return { ended: 'CANCELLED', reason: life.cancelRequested };
    life.setStage('UPLOADING');
    subject.mirrorStage?.('UPLOADING');
    const startedAt = Date.now();
    const at = new Date(startedAt).toISOString();
    const attempt = (result: string, extra: { uploadIndex?: string; error?: string }) =>
      attempts.push({ n: attempts.length + 1, startedAt: at, result, ...extra });
    try {
      const answer = await spec.upload();
      if (answer.accepted) {
        attempt('ACCEPTED', { uploadIndex: answer.uploadIndex });
        return { sent: { uploadIndex: answer.uploadIndex, ...(answer.uit ? { uit: answer.uit } : {}) } };
      }
      attempt(policy.refusedAttempt, { error: answer.errors.join('; ') });
      return { ended: 'REJECTED_AT_UPLOAD', errors: answer.errors };
    } catch (err) {
      if (isCancellation(err)) throw err;
      const type = failureType(err);
      const message = failureMessage(err);
      const failure = classifyUploadFailure(type, policy);
      if (failure === 'AUTH') {
        authWaitSince ??= startedAt;
        if ((await waitForAuthorization(life, authWaitSince, message)) === 'GAVE_UP') {
          life.takeAction();
          return { ended: 'FAILED', errors: [life.noAuthorization(message)] };
        }
        continue;
      }
      authWaitSince = undefined;
      if (failure === 'SAFE_TO_RETRY' && safeRetries < policy.maxSafeRetries) {
        // ANAF surely did not take it (not reached, 429, WAF page, daily limit): wait as told, then send again.
        safeRetries += 1;
        if (life.recordsSafeRetries) {
          attempt('NOT_SENT', { error: message });
          subject.decide('SAFE_RETRY', `${type}: the service never saw the upload; sending again`);
        }
        await sleep(retryDelayOf(err, policy.safeRetryFallbackMs(safeRetries)));
        continue;
      }
      if (failure === 'TECHNICAL' && technicalRetries < MAX_TECHNICAL_RETRIES && patched(PATCH_TECHNICAL_ERROR_RETRIED)) {
        // ANAF answered, and its answer is "a technical error occurred": not accepted, nothing filed.
        technicalRetries += 1;
        const delayMs = technicalRetryDelayMs(retryDelayOf(err, 60_000), technicalRetries);
        attempt('TECHNICAL_ERROR', { error: message });
        subject.decide(
          'TECHNICAL_ERROR_RETRY',
          `${message}; not accepted, sending again in ${Math.round(delayMs / 1000)} s (${technicalRetries} of ${MAX_TECHNICAL_RETRIES})`,
        );
        await sleep(delayMs);
        continue;
      }
      const alsoMaybeSent =
        (policy.alsoMaybeSent?.(type) ?? false) ||
        (failure === 'MAYBE_SENT' && policy.reconcileUnclassified === true && patched(PATCH_UNCLASSIFIED_RECONCILES));
      if (type === ANAF_FAILURE.ANSWER_LOST || type === ANAF_FAILURE.TIMEOUT || type === undefined || alsoMaybeSent) {
        // It may have reached ANAF. Anything we cannot classify counts as that, too.
        attempt('ANSWER_LOST', { error: message });
        lostInARow += 1;
        const next =
          lostInARow > MAX_LOST_ANSWERS
            ? await tooManyLost(life, subject, listing, startedAt, lostInARow)
            : await reconcile(life, subject, listing, startedAt);
        const reconciled = life.lastDecision();
        if (next.action === 'ADOPT_INDEX') {
          if (reconciled !== listing.adopted) subject.decide('OPERATOR_ADOPTED_INDEX', adoptedByOperator(next));
          return { sent: { uploadIndex: next.uploadIndex, ...(next.uit ? { uit: next.uit } : {}) } };
        }
        if (next.action === 'ABANDON') {
          subject.decide('OPERATOR_ABANDONED', next.note ?? 'abandoned by an operator');
          return { ended: 'FAILED', errors: ['abandoned by an operator while the upload was uncertain'] };
        }
        if (reconciled !== listing.reupload) subject.decide('OPERATOR_REUPLOAD', next.note ?? 'operator chose to upload again');
        continue;
      }
      // ANAF refused the request itself (400, {eroare}): nothing was filed. Or retries ran out, or (unpatched) a failure no rule covers.
      attempt('FAILED', { error: message });
      return { ended: failure === 'REFUSED' ? 'REJECTED_AT_UPLOAD' : 'FAILED', errors: [message] };
    }
  }
}

/**
 * Too many answers lost in a row: no further re-send without an operator. The last upload may
 * still be in ANAF's listing (patched): adopt it from there, and only when the listing proves it
 * absent hand the choice to an operator.
 */
function tooManyLost(life: Lifecycle, subject: Subject, listing: Listing, startedAt: number, lostInARow: number) {
  const why = `${lostInARow} uploads in a row lost their answer; decide: adopt an index, re-upload or abandon`;
  if (!patched(PATCH_LISTING_BEFORE_OPERATOR)) return waitForOperator(life, subject, why);
  const noReupload = `${why} (ANAF's listing does not show the last one)`;
  return reconcile(life, subject, { ...listing, absenceProvesNothing: () => listing.absenceProvesNothing?.() ?? noReupload }, startedAt);
}
