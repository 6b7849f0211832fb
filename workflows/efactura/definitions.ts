import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ResolveAction, SubmissionView } from './types';

// Apart from the workflow body, so the API can import them without workflow code.

export const submissionQuery = defineQuery<SubmissionView>('submission');
/** Accepted only before the upload started (the validator refuses later); answers the final view. */
export const cancelSubmissionUpdate = defineUpdate<SubmissionView, [{ reason?: string }]>('cancel');
/**
 * The operator's way out of a stuck case (an upload whose answer was lost and could not be
 * reconciled, an index ANAF does not know): a signal, so it can be sent from the Web UI.
 */
export const resolveSignal = defineSignal<[ResolveAction]>('resolve');
