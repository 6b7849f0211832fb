import assert from 'node:assert/strict';
import { inboxScheduleId } from '../api/efactura-inbox-routes';
import type { InboxSyncResult } from '../workflows/efactura/inbox';
import { callApi } from './api-client';
import type { Stack } from './stack';
import { eventually } from './wait';

/**
 * Triggers one run of an organization's inbox sync Schedule (enabled beforehand) through the API and
 * returns that run's result.
 */
export async function runInboxSyncOnce(stack: Stack, key: string, tenant: string, cif: string): Promise<InboxSyncResult> {
  const api = (method: string, path: string) => callApi(stack, key, method, path);
  type Run = { workflowId: string; startedAt: string };
  const lastRun = (runs: unknown) => (Array.isArray(runs) ? (runs as Run[]).at(-1) : undefined);
  // Temporal keeps a schedule's last 10 actions only, and names runs of one second alike: the triggered
  // run is the one last now that started after the last one before (not the count, not the id).
  const isNew = (run: Run | undefined): run is Run => run !== undefined && (before === undefined || run.startedAt > before);
  const lastAction = (await stack.client.schedule.getHandle(inboxScheduleId(tenant, cif)).describe()).info.recentActions.at(-1);
  const before = lastAction?.takenAt.toISOString();
  const triggered = await api('POST', `/v1/organizations/${cif}/efactura/inbox-sync/run`);
  assert.equal(triggered.status, 202, triggered.text);
  let run = lastRun(triggered.json.recentRuns);
  if (!isNew(run)) {
    // The triggered run shows in the schedule's recent actions once Temporal has started it.
    const schedule = await eventually(
      () => api('GET', `/v1/organizations/${cif}/efactura/inbox-sync`).then((r) => ({ status: r.status, json: r.json })),
      (s) => s.status === 200 && isNew(lastRun(s.json.recentRuns)),
      "the triggered sync run is among the schedule's recent runs",
    );
    run = lastRun(schedule.json.recentRuns)!;
  }
  return (await stack.client.workflow.getHandle(run.workflowId).result()) as InboxSyncResult;
}
