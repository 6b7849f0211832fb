import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ResolveAction, SubmissionView } from './types';

// Apart from the workflow body, so the API can import them without workflow code.

export const submissionQuery = defineQuery<SubmissionView>('submission');
/** Accepted only before the upload started (the validator refuses later); answers the final view. */
export const cancelSubmissionUpdate = defineUpdate<SubmissionView, [{ reason?: string }]>('cancel');
/**
 * The operator's way out of a stuck case (an upload whose answer was lost and could not be
 * reconciled, an index ANAF does not know). Its validator refuses it, with one of
 * RESOLVE_REFUSALS as the failure type, unless the submission is stuck: NEEDS_OPERATOR or
 * RECONCILING (any action), WAITING_FOR_AUTHORIZATION (ABANDON only). Answers the view.
 */
export const resolveSubmissionUpdate = defineUpdate<SubmissionView, [ResolveAction]>('resolveSubmission');
/**
 * The same decision as a signal (Web UI, and histories recorded before the update existed).
 * A signal cannot be refused: one sent while the submission is not stuck is dropped and recorded
 * (RESOLVE_SIGNAL_DROPPED in `decisions`).
 */
export const resolveSignal = defineSignal<[ResolveAction]>('resolve');

/** Failure types of a refused resolve: the API answers them as 409 with the type as code. */
export const RESOLVE_REFUSALS = {
  FINISHED: 'SUBMISSION_FINISHED',
  NOT_STUCK: 'SUBMISSION_NOT_STUCK',
  ACTION_NOT_ALLOWED: 'RESOLVE_ACTION_NOT_ALLOWED',
  ALREADY_PENDING: 'RESOLVE_ALREADY_PENDING',
} as const;
