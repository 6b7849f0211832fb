import type { Duration } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import { lifecyclePriorityKey } from '../anaf-priorities';

/**
 * Activity options of the lifecycle's calls, the same for every service but for the values
 * each passes. Workflow-safe: no I/O.
 */

/**
 * Priority keys are given as they were before the OAuth calls went first (uploads 1, reads 2,
 * polls 4); lifecyclePriorityKey (workflows/shared/anaf-priorities.ts) moves them behind those.
 */

/** Uploads: once. A retry of a timed-out upload could file the document twice; the workflow retries what is safe. */
export function uploadOnceOptions(taskQueue: string, startToCloseTimeout: Duration, priorityKey?: 1): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout,
    heartbeatTimeout: '20 seconds',
    retry: { maximumAttempts: 1 },
    ...(priorityKey !== undefined ? { priority: { priorityKey: lifecyclePriorityKey(priorityKey) } } : {}),
  };
}

/** Reads (listing, download): retried by Temporal, but not what no retry can fix. */
export function readOptions(
  taskQueue: string,
  o: { startToCloseTimeout: Duration; maximumAttempts: number; nonRetryableErrorTypes: string[]; priorityKey?: 2 },
): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout: o.startToCloseTimeout,
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      maximumAttempts: o.maximumAttempts,
      nonRetryableErrorTypes: o.nonRetryableErrorTypes,
    },
    ...(o.priorityKey !== undefined ? { priority: { priorityKey: lifecyclePriorityKey(o.priorityKey) } } : {}),
  };
}

/**
 * stareMesaj: each retry is one check ("not ready yet" is a benign failure), so no history
 * event per poll. Polls yield to everything else on the ANAF queue.
 */
export function statusCheckOptions(
  taskQueue: string,
  settings: { firstPollDelayMs: number; maxPollIntervalMs: number },
  maximumAttempts: number,
  nonRetryableErrorTypes: string[],
): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: settings.firstPollDelayMs,
      backoffCoefficient: 1.5,
      maximumInterval: settings.maxPollIntervalMs,
      maximumAttempts,
      nonRetryableErrorTypes,
    },
    priority: { priorityKey: lifecyclePriorityKey(4) },
  };
}

/** Webhooks: retried for up to three days; the lifecycle records whether it was delivered. */
export const WEBHOOK_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
};
