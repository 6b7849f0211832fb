import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DeclarationView, FollowUpRequest, PreparedOperation, ResolveAction } from './types';

// Apart from the workflow body, so the API can import them without workflow code.

export const declarationQuery = defineQuery<DeclarationView>('declaration');
/**
 * A follow-up operation (correction, deletion, confirmation, vehicle change) whose document
 * the API has checked and stored. The validator refuses it unless the UIT is valid and the
 * document names it; the answer is the operation's id at once (the upload runs after).
 */
export const requestOperationUpdate = defineUpdate<{ operationId: string; duplicate: boolean }, [PreparedOperation]>('requestOperation');
/** The same from the Web UI: JSON (`{"type":"DELETION"}`, …) or `{"type":"XML","xml":"…"}`. */
export const followUpSignal = defineSignal<[FollowUpRequest]>('followUp');
/** The operator's way out of an upload whose answer was lost and could not be reconciled. */
export const resolveSignal = defineSignal<[ResolveAction]>('resolve');
