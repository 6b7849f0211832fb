import { randomUUID } from 'node:crypto';
import type { WorkflowStartOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { AnafCif, AnafService, AnafTenant } from '../lib/temporal/search-attributes';
import type { ApiContext } from './context';
import { anafReadError } from './errors';

/**
 * Runs a short read workflow (ANAF listing, validation, PDF) and waits for its answer.
 * The read goes through the workers' ANAF task queue, so it spends the shared budget.
 * ANAF's refusals become 4xx with a code; ANAF being unreachable becomes 502.
 */
export async function runAnafRead<W extends Workflow>(
  ctx: ApiContext,
  tenant: string,
  cif: string,
  workflow: string,
  args: Parameters<W>,
): Promise<Awaited<ReturnType<W>>> {
  try {
    return (await ctx.client.workflow.execute<W>(workflow, {
      workflowId: `${tenant}/efactura-read/${randomUUID()}`,
      taskQueue: ctx.config.temporal.taskQueue,
      args,
      workflowExecutionTimeout: '3 minutes',
      typedSearchAttributes: [
        { key: AnafTenant, value: tenant },
        { key: AnafService, value: 'efactura-read' },
        { key: AnafCif, value: cif },
      ],
    } as unknown as WorkflowStartOptions<W>)) as Awaited<ReturnType<W>>;
  } catch (err) {
    throw anafReadError(err, cif);
  }
}
