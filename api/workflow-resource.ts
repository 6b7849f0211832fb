import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowExecutionStatusName } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { ApiContext } from './context';
import { ApiError } from './errors';
import { publicStatus, type PublicWorkflowStatus, type TenantWorkflowKind } from './workflow-access';

/**
 * A tenant-owned resource that is a long-lived workflow (an e-Factura submission, an
 * e-Transport declaration, a BANCIWS exchange): its id is the workflow id, its state is the
 * workflow's view — the query while it runs, the result once it completed.
 */
export interface WorkflowResource<V> extends TenantWorkflowKind {
  /** The query that answers the view while the workflow runs. */
  viewQuery: QueryDefinition<V>;
}

export interface LoadedResource<V> {
  view: V;
  status: PublicWorkflowStatus;
  temporalStatus: WorkflowExecutionStatusName;
}

/**
 * The resource's view, after the ownership checks: another tenant's id, an id of another
 * kind or a workflow of another type is the same 404 as an unknown id. A completed workflow
 * answers from its result, so reading a finished case needs no worker.
 */
export async function loadResource<V>(
  ctx: ApiContext,
  resource: WorkflowResource<V>,
  tenant: string,
  id: string,
): Promise<LoadedResource<V>> {
  const handle = ctx.workflows.handleFor(tenant, resource, id);
  const description = await handle.describe();
  if (description.type !== resource.workflowType) throw new WorkflowNotFoundError('not found', id, undefined);
  const temporalStatus = description.status.name;
  const view = temporalStatus === 'COMPLETED' ? ((await handle.result()) as V) : await handle.query(resource.viewQuery);
  return { view, status: publicStatus(temporalStatus), temporalStatus };
}

/** Signals, updates and queries sent to a workflow that has just closed fail with one of these. */
export function isClosedWorkflowError(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || /already completed|workflow execution already/i.test((err as Error)?.message ?? '');
}

/**
 * An update the workflow refused (its validator or handler failed) or could not take (it
 * closed meanwhile), as a 409 with `code` and the workflow's reason; anything else is rethrown.
 */
export async function updateOr409<R>(code: string, fallbackMessage: string, send: () => Promise<R>): Promise<R> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError || isClosedWorkflowError(err)) {
      const cause = (err as Error).cause;
      throw new ApiError(409, code, cause instanceof Error ? cause.message : fallbackMessage);
    }
    throw err;
  }
}
