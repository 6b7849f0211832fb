import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { EfacturaReadActivities } from '../../activities/efactura/reads';
import type { SignatureCheck } from '../../schemas/efactura-types';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';

/**
 * ANAF's signature over an accepted or received invoice, checked through ANAF's signature
 * validation (issue 14 item 10). The check must never hold up or fail a lifecycle: a few
 * retried attempts within bounded time, and whatever fails is recorded as the result.
 */
export interface SignaturePair {
  tenant: string;
  cif: string;
  documentKey: string;
  signatureKey: string;
}

function signatureReads() {
  return proxyActivities<EfacturaReadActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '5 minutes',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumAttempts: 3,
      nonRetryableErrorTypes: ['NotAuthorized', 'AnafUnauthorized'],
    },
  });
}

export async function checkSignature(pair: SignaturePair): Promise<SignatureCheck> {
  try {
    const answer = await signatureReads().checkAnswerSignature(pair);
    return { signatureValid: answer.valid, signatureCheckedAt: answer.checkedAt, signatureMessage: answer.message };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
    return {
      signatureCheckError: cause ?? (err instanceof Error ? err.message : String(err)),
      signatureCheckedAt: new Date(Date.now()).toISOString(),
    };
  }
}
