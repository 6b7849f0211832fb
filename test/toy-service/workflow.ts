import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import type { ToyActivities } from './activities';

/** The toy service's one workflow: ask the (simulated) ANAF for an echo, on the rate-limited ANAF queue. */
export async function toyEcho(word: string): Promise<string> {
  const { echoFromAnaf } = proxyActivities<ToyActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '10 seconds',
    retry: { maximumAttempts: 3, initialInterval: '100 milliseconds' },
  });
  return echoFromAnaf(word);
}
