import type { Client } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/workflow';
import { submissionQuery } from '../workflows/efactura/definitions';
import type { SubmissionView } from '../workflows/efactura/types';
import { declarationQuery } from '../workflows/etransport/definitions';
import type { DeclarationView } from '../workflows/etransport/types';

/**
 * A workflow's view (its query while running, its result once completed) as soon as `ready`
 * holds: checked as the workflow moves on, every 100 ms, bounded — no fixed sleeps.
 */
export async function viewWhen<V>(
  client: Client,
  id: string,
  query: QueryDefinition<V>,
  ready: (v: V) => boolean,
  timeoutMs = 30_000,
): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  const handle = client.workflow.getHandle(id);
  for (;;) {
    const description = await handle.describe();
    const view = description.status.name === 'COMPLETED' ? ((await handle.result()) as V) : await handle.query(query);
    if (ready(view)) return view;
    if (description.status.name !== 'RUNNING')
      throw new Error(`${id} ended (${description.status.name}) without reaching the awaited state: ${JSON.stringify(view)}`);
    if (Date.now() > deadline) throw new Error(`${id} did not reach the awaited state in ${timeoutMs} ms: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for the submission's workflow to end (no polling: Temporal tells us) and returns its final view. */
export async function finished(stack: { client: Client }, id: string): Promise<SubmissionView> {
  return (await stack.client.workflow.getHandle(id).result()) as SubmissionView;
}

/** The submission's view once `ready` holds, checked as the workflow moves on (bounded). */
export function submissionWhen(
  stack: { client: Client },
  id: string,
  ready: (v: SubmissionView) => boolean,
  timeoutMs = 30_000,
): Promise<SubmissionView> {
  return viewWhen(stack.client, id, submissionQuery, ready, timeoutMs);
}

/** The declaration's state once `ready` holds (checked as the workflow moves on; no fixed sleeps). */
export function declarationWhen(
  client: Client,
  id: string,
  ready: (v: DeclarationView) => boolean,
  timeoutMs = 30_000,
): Promise<DeclarationView> {
  return viewWhen(client, id, declarationQuery, ready, timeoutMs);
}
