import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BanciwsMessageView, BanciwsResolveAction } from './types';

// Apart from the workflow bodies, so the API imports them without workflow code.
export const banciwsMessageQuery = defineQuery<BanciwsMessageView>('banciwsMessage');
/**
 * The operator's way out when an upload's fate cannot be proven. Its validator refuses it, with
 * one of BANCIWS_RESOLVE_REFUSALS as the failure type, unless the exchange waits for a decision
 * (NEEDS_OPERATOR or RECONCILING). Answers the view.
 */
export const banciwsResolveUpdate = defineUpdate<BanciwsMessageView, [BanciwsResolveAction]>('resolveBanciwsMessage');
/**
 * The same decision as a signal (Web UI, histories recorded before the update existed). A signal
 * cannot be refused: one sent while nothing waits for a decision is dropped (recorded).
 */
export const banciwsResolveSignal = defineSignal<[BanciwsResolveAction]>('resolve');

/** Failure types of a refused resolve: the API answers them as 409 with the type as code. */
export const BANCIWS_RESOLVE_REFUSALS = {
  FINISHED: 'EXCHANGE_FINISHED',
  NOT_STUCK: 'EXCHANGE_NOT_STUCK',
  ALREADY_PENDING: 'RESOLVE_ALREADY_PENDING',
} as const;

/** Workflow ids of inbox items: one per institution and id_portal, which is what deduplicates downloads. */
export function inboxItemKey(institutionId: string, idPortal: string): string {
  return `${institutionId}-${idPortal}`;
}
