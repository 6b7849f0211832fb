import { WorkflowUpdateFailedError } from '@temporalio/client';

/**
 * Update failures that say nothing about the update's own outcome, read the same way by every
 * caller of an update (the token provider's refresh, the organization's delete).
 */

/**
 * The server's answer to an update that reached a workflow task the worker completed without it
 * (an update racing a task in flight): it never ran, so sending it again is safe.
 */
export function updateDroppedUnprocessed(err: unknown): boolean {
  return err instanceof WorkflowUpdateFailedError && /wasn't processed by worker/.test(err.cause?.message ?? '');
}

/** How many times an update dropped unprocessed is sent in all, and the wait before send `sent` + 1. */
export const UPDATE_SENDS = 5;
export const resendDelayMs = (sent: number): number => 50 * sent;

/** The SDK's refusal of an update the workflow has no handler for (workers older than the caller). */
export function isUnknownUpdate(err: unknown, name: string): boolean {
  return err instanceof WorkflowUpdateFailedError && err.cause?.message === `No registered handler for update: ${name}`;
}
