import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { EfacturaReadActivities, MessagesRequest } from '../../activities/efactura/reads';
import type { MessagePage, SignatureAnswer, ValidationAnswer, ValidationStandard } from '../../activities/efactura/types';
import type { SignaturePair } from './signature';
import type { BlobRef } from '../../lib/storage/blob-store';
import { AnafCif, AnafOutcome, AnafService, AnafStage, AnafTenant } from '../../lib/temporal/search-attributes';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';

/**
 * API reads of ANAF (listing, validation, PDF) as short workflows: the call runs on the
 * ANAF task queue and so spends the one shared budget, instead of the API calling ANAF
 * behind the workers' back. Reads are idempotent, so Temporal may retry them freely.
 */

function reads() {
  return proxyActivities<EfacturaReadActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumAttempts: 4,
      nonRetryableErrorTypes: ['NotAuthorized', 'AnafUnauthorized', 'AnafDailyLimit'],
    },
  });
}

function tag(tenant: string, cif: string): void {
  upsertSearchAttributes([
    { key: AnafTenant, value: tenant },
    { key: AnafService, value: 'efactura-read' },
    { key: AnafCif, value: cif },
  ]);
}

function done(outcome: string): void {
  upsertSearchAttributes([
    { key: AnafStage, value: 'DONE' },
    { key: AnafOutcome, value: outcome },
  ]);
}

export async function efacturaMessages(input: MessagesRequest): Promise<MessagePage> {
  tag(input.tenant, input.cif);
  const page = await reads().listMessagesPage(input);
  done('OK');
  return page;
}

/** ANAF's verdict on its signature over a stored invoice (the API's POST /v1/efactura/signature/verify). */
export async function efacturaSignature(input: SignaturePair): Promise<SignatureAnswer & { checkedAt: string }> {
  tag(input.tenant, input.cif);
  const answer = await reads().checkAnswerSignature(input);
  done(answer.valid ? 'VALID' : 'INVALID');
  return answer;
}

export interface DocumentCheck {
  tenant: string;
  cif: string;
  standard: ValidationStandard;
  documentKey: string;
}

export async function efacturaValidation(input: DocumentCheck): Promise<ValidationAnswer> {
  tag(input.tenant, input.cif);
  const answer = await reads().validateInvoice(input);
  done(answer.valid ? 'VALID' : 'INVALID');
  return answer;
}

export async function efacturaPdf(
  input: DocumentCheck & { validate: boolean },
): Promise<{ ok: true; pdf: BlobRef } | { ok: false; messages: string[] }> {
  tag(input.tenant, input.cif);
  const answer = await reads().renderInvoicePdf(input);
  done(answer.ok ? 'RENDERED' : 'INVALID');
  return answer;
}
