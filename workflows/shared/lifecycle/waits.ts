import { condition } from '@temporalio/workflow';
import { AUTHORIZATION_WAIT_LIMIT_MS, authorizationBackoffMs } from '../anaf-failures';
import type { Lifecycle, OperatorAction, Subject } from './ledger';

/**
 * The two ways a lifecycle waits for a person: for the organization to be authorized again
 * (it looks again with a growing back-off, for up to AUTHORIZATION_WAIT_LIMIT_MS), and for an
 * operator's decision (nothing else moves until it comes). Workflow-safe: no I/O.
 */

export type AuthorizationWait = 'RETRY' | 'CANCELLED' | 'GAVE_UP';

/** Until the organization may be authorized again (or the caller cancels / an operator abandons / we give up). */
export async function waitForAuthorization(life: Lifecycle, since: number, why: string): Promise<AuthorizationWait> {
  life.setStage('WAITING_FOR_AUTHORIZATION');
  life.attention(life.noAuthorization(why));
  const waited = Date.now() - since;
  if (waited > AUTHORIZATION_WAIT_LIMIT_MS) return 'GAVE_UP';
  await condition(() => life.cancelRequested !== undefined || life.pending?.action === 'ABANDON', authorizationBackoffMs(waited));
  if (life.cancelRequested !== undefined) return 'CANCELLED';
  if (life.pending?.action === 'ABANDON') return 'GAVE_UP';
  life.attention(undefined);
  return 'RETRY';
}

/** The operator decides; nothing else moves until then. */
export async function waitForOperator(life: Lifecycle, subject: Subject, reason: string): Promise<OperatorAction> {
  life.setStage('NEEDS_OPERATOR');
  subject.mirrorStage?.('NEEDS_OPERATOR');
  life.attention(reason);
  subject.decide('WAITING_FOR_OPERATOR', reason);
  await condition(() => life.pending !== undefined);
  life.attention(undefined);
  return life.takeAction()!;
}

/** The decision detail when an operator named the index. */
export function adoptedByOperator(action: { uploadIndex: string; note?: string }): string {
  return `index ${action.uploadIndex}${action.note ? `: ${action.note}` : ''}`;
}
