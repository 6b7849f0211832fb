/**
 * Where a lifecycle's time went, read from its history: for each activity its attempts, the
 * wait in the task queue before the (last) attempt started and the attempt's run time; for
 * workflow tasks the waits summed. The bench prints this for its slowest lifecycles, so a
 * latency tail says whether it was retries, queueing or a slow call.
 */
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

export interface ActivityAnatomy {
  name: string;
  attempts: number;
  queuedMs: number;
  runMs: number;
  /** What the last failed attempt said, if any attempt failed. */
  lastFailure?: string;
}

export interface LifecycleAnatomy {
  totalMs: number;
  activities: ActivityAnatomy[];
  timersMs: number;
  workflowTasks: number;
  workflowTaskQueuedMs: number;
  workflowTaskRunMs: number;
}

function ms(e: HistoryEvent | undefined): number {
  const t = e?.eventTime;
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6);
}

export function lifecycleAnatomy(events: HistoryEvent[]): LifecycleAnatomy {
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const activities: ActivityAnatomy[] = [];
  let timersMs = 0;
  let workflowTasks = 0;
  let workflowTaskQueuedMs = 0;
  let workflowTaskRunMs = 0;
  for (const e of events) {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
        workflowTasks++;
        workflowTaskQueuedMs += ms(e) - ms(byId.get(Number(e.workflowTaskStartedEventAttributes?.scheduledEventId)));
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        workflowTaskRunMs += ms(e) - ms(byId.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId)));
        break;
      case EventType.EVENT_TYPE_TIMER_FIRED:
        timersMs += ms(e) - ms(byId.get(Number(e.timerFiredEventAttributes?.startedEventId)));
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        activities.push(activityAnatomy(e, byId));
        break;
    }
  }
  return { totalMs: ms(events.at(-1)) - ms(events[0]), activities, timersMs, workflowTasks, workflowTaskQueuedMs, workflowTaskRunMs };
}

function activityAnatomy(closed: HistoryEvent, byId: Map<number, HistoryEvent>): ActivityAnatomy {
  const a =
    closed.activityTaskCompletedEventAttributes ?? closed.activityTaskFailedEventAttributes ?? closed.activityTaskTimedOutEventAttributes;
  const scheduled = byId.get(Number(a?.scheduledEventId));
  // Timed out before any attempt started: no started event (id 0), nothing queued or run to report.
  const started = Number(a?.startedEventId) > 0 ? byId.get(Number(a?.startedEventId)) : undefined;
  const attempts = started?.activityTaskStartedEventAttributes?.attempt ?? 1;
  const lastFailure = started?.activityTaskStartedEventAttributes?.lastFailure?.message ?? undefined;
  return {
    name: scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
    attempts,
    // The started event of a retried activity is written when the last attempt starts: this wait
    // includes the earlier attempts and their backoff.
    queuedMs: started ? ms(started) - ms(scheduled) : ms(closed) - ms(scheduled),
    runMs: started ? ms(closed) - ms(started) : 0,
    ...(lastFailure ? { lastFailure } : {}),
  };
}

/** One line: `13.8 s: uploadInvoice ×1 q 20 ms run 310 ms, checkUploadStatus ×3 (not ready) …; timers 50 ms; 6 WFT q 900 run 120 ms`. */
export function describeAnatomy(x: LifecycleAnatomy): string {
  const acts = x.activities
    .map((a) => `${a.name} ×${a.attempts}${a.lastFailure ? ` (${a.lastFailure.slice(0, 60)})` : ''} q ${a.queuedMs} run ${a.runMs}`)
    .join(', ');
  return `${(x.totalMs / 1000).toFixed(1)} s: ${acts}; timers ${x.timersMs} ms; ${x.workflowTasks} workflow tasks queued ${x.workflowTaskQueuedMs} run ${x.workflowTaskRunMs} ms`;
}
