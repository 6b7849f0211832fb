import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ConnectivityActivities, ProbeResult } from '../activities/connectivity';
import { AnafOutcome, AnafService, AnafStage, AnafTenant } from '../lib/temporal/search-attributes';
import { anafTaskQueueFor } from '../lib/temporal/task-queues';

export interface ConnectivityCheckInput {
  tenant: string;
}

export interface ConnectivityCheckResult {
  ok: boolean;
  probes: ProbeResult[];
}

/** Operators start this (or the API does) to see whether the worker can reach ANAF at all. */
export async function connectivityCheck(input: ConnectivityCheckInput): Promise<ConnectivityCheckResult> {
  const { probeAnafHosts } = proxyActivities<ConnectivityActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 3, initialInterval: '1 second' },
  });
  upsertSearchAttributes([
    { key: AnafTenant, value: input.tenant },
    { key: AnafService, value: 'system' },
    { key: AnafStage, value: 'PROBING' },
  ]);
  const probes = await probeAnafHosts();
  const ok = probes.every((p) => p.reachable);
  upsertSearchAttributes([
    { key: AnafStage, value: 'DONE' },
    { key: AnafOutcome, value: ok ? 'REACHABLE' : 'UNREACHABLE' },
  ]);
  return { ok, probes };
}
