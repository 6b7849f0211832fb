import { anafTaskQueueFor, banciwsTaskQueueFor } from '../lib/temporal/task-queues';
import { AnafCif, AnafService, AnafTenant } from '../lib/temporal/search-attributes';
import { organizationWorkflowId } from '../workflows/organization';
import { type Stack, startWorkers } from './stack';

/**
 * An organization registered as POST /v1/organizations does, but on a task queue of its own: its
 * workflow runs only while `startWorkersOn` serves that queue, so a test (or a recording) can hold
 * what the organization does (a link update waits) with real parts.
 */
export async function registerOrganizationOn(stack: Pick<Stack, 'client'>, tenant: string, cif: string, taskQueue: string): Promise<void> {
  const createdAt = new Date().toISOString();
  await stack.client.workflow.start('organization', {
    workflowId: organizationWorkflowId(tenant, cif),
    taskQueue,
    args: [{ tenant, cif, name: `Company ${cif}`, createdAt }],
    typedSearchAttributes: [
      { key: AnafTenant, value: tenant },
      { key: AnafService, value: 'organization' },
      { key: AnafCif, value: cif },
    ],
    memo: { name: `Company ${cif}`, createdAt },
  });
}

/** The product's workers for another task queue, and for the ANAF queues of `anafOf` (that queue's own by default). */
export function startWorkersOn(
  stack: Pick<Stack, 'env' | 'client' | 'config' | 'logger'>,
  taskQueue: string,
  anafOf = taskQueue,
): ReturnType<typeof startWorkers> {
  const temporal = {
    ...stack.config.temporal,
    taskQueue,
    anafTaskQueue: anafTaskQueueFor(anafOf),
    banciwsTaskQueue: banciwsTaskQueueFor(anafOf),
  };
  return startWorkers({ ...stack, config: { ...stack.config, temporal } });
}
