import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { EtransportAnafActivities } from '../../activities/etransport';
import type { CarrierTransport } from '../../activities/etransport/anaf-etransport-client';
import type { ListedDeclaration } from '../../schemas/etransport-declaration';
import { AnafCif, AnafService, AnafTenant } from '../../lib/temporal/search-attributes';
import { ANAF_FAILURE } from '../shared/anaf-failures';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import type { LookupInput } from './types';

/**
 * One read from e-Transport for the API (lista or info): a short workflow, so the call
 * goes through the rate-limited ANAF queue with the organization's ETRANSPORT token like
 * every other ANAF call, and leaves a trace an operator can find.
 */
export async function etransportLookup(input: LookupInput): Promise<{ lista?: ListedDeclaration[]; info?: CarrierTransport[] }> {
  const reads = proxyActivities<EtransportAnafActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '1 minute',
    retry: {
      maximumAttempts: 3,
      initialInterval: '1 second',
      nonRetryableErrorTypes: [ANAF_FAILURE.NOT_AUTHORIZED, ANAF_FAILURE.UNAUTHORIZED, ANAF_FAILURE.DAILY_LIMIT, ANAF_FAILURE.RATE_LIMITED],
    },
  });
  upsertSearchAttributes([
    { key: AnafTenant, value: input.tenant },
    { key: AnafService, value: 'etransport' },
    { key: AnafCif, value: input.cif },
  ]);
  if (input.kind === 'lista') return { lista: await reads.listDeclarations({ tenant: input.tenant, cif: input.cif, days: input.days }) };
  return { info: await reads.carrierTransports({ tenant: input.tenant, cif: input.cif, query: input.query }) };
}
