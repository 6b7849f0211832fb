import type { Client } from '@temporalio/client';
import { optionalTsToMs, tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { QueueObservation } from './stall-watchdog';

/** Asks the server about a workflow task queue's backlog and when `identity` last polled it. */
export function workflowQueueProbe(
  client: Client,
  namespace: string,
  taskQueue: string,
  identity: string,
): () => Promise<QueueObservation> {
  return async () => {
    const res = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      reportStats: true,
    });
    const backlog = Number(res.stats?.approximateBacklogCount ?? 0);
    const now = Date.now();
    const agoMs = (p: { lastAccessTime?: Parameters<typeof tsToMs>[0] }) =>
      p.lastAccessTime ? Math.max(0, now - tsToMs(p.lastAccessTime)) : undefined;
    const ours = res.pollers?.find((p) => p.identity === identity);
    const others = (res.pollers ?? [])
      .filter((p) => p.identity !== identity)
      .map(agoMs)
      .filter((ms): ms is number => ms !== undefined);
    return {
      backlogAgeMs: backlog > 0 ? (optionalTsToMs(res.stats?.approximateBacklogAge) ?? 0) : 0,
      lastPollAgoMs: ours ? agoMs(ours) : undefined,
      othersLastPollAgoMs: others.length ? Math.min(...others) : undefined,
    };
  };
}
