import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, type WorkflowStartOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { AnafCif, AnafService, AnafTenant } from '../workflows/search-attributes';
import type { ApiContext } from './context';
import { ApiError } from './errors';

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

function anafReadError(err: unknown, cif: string): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  const cause = err.cause instanceof ActivityFailure ? err.cause.cause : err.cause;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  const message = cause?.message ?? err.message;
  switch (type) {
    case 'NotAuthorized':
    case 'AnafUnauthorized':
      return new ApiError(409, 'AUTHORIZATION_REQUIRED', `No usable e-Factura authorization for CIF ${cif}: authorize the organization first`, undefined, { cause: err });
    case 'AnafDailyLimit':
      return new ApiError(429, 'ANAF_DAILY_LIMIT', message, undefined, { cause: err });
    case 'AnafBadRequest':
    case 'AnafError':
      return new ApiError(422, 'ANAF_REFUSED', message, undefined, { cause: err });
    default:
      return new ApiError(502, 'ANAF_UNAVAILABLE', `ANAF could not be asked: ${message}`, undefined, { cause: err });
  }
}
