import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BanciwsMessageView, BanciwsResolveAction } from './types';

// Apart from the workflow bodies, so the API imports them without workflow code.
export const banciwsMessageQuery = defineQuery<BanciwsMessageView>('banciwsMessage');
/** The operator's way out when an upload's fate cannot be proven (sendable from the Web UI). */
export const banciwsResolveSignal = defineSignal<[BanciwsResolveAction]>('resolve');

/** Workflow ids of inbox items: one per institution and id_portal, which is what deduplicates downloads. */
export function inboxItemKey(institutionId: string, idPortal: string): string {
  return `${institutionId}-${idPortal}`;
}
