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
/**
 * The operator's way out of an upload whose answer was lost and could not be reconciled. Its
 * validator refuses it, with one of RESOLVE_REFUSALS as the failure type, unless the declaration
 * waits for a decision: NEEDS_OPERATOR or RECONCILING (any action), WAITING_FOR_AUTHORIZATION
 * (ABANDON only). Answers the view.
 */
export const resolveDeclarationUpdate = defineUpdate<DeclarationView, [ResolveAction]>('resolveDeclaration');
/**
 * The same decision as a signal (Web UI, CLI, histories recorded before the update existed).
 * A signal cannot be refused: one sent while nothing waits for a decision is dropped (recorded).
 */
export const resolveSignal = defineSignal<[ResolveAction]>('resolve');

/** Failure types of a refused resolve: the API answers them as 409 with the type as code. */
export const RESOLVE_REFUSALS = {
  FINISHED: 'DECLARATION_FINISHED',
  NOT_STUCK: 'DECLARATION_NOT_STUCK',
  ACTION_NOT_ALLOWED: 'RESOLVE_ACTION_NOT_ALLOWED',
  ALREADY_PENDING: 'RESOLVE_ALREADY_PENDING',
} as const;
