import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OAuthAnafActivities, OAuthOrchestrationActivities, SweepSummary } from '../../activities/oauth';
import { AnafCif, AnafOutcome, AnafService, AnafStage, AnafTenant } from '../../lib/temporal/search-attributes';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import type { AuthorizationKey } from './types';

/** POST …/authorizations/{scope}/test: TestOauth "hello" with the current token. */
export async function oauthTest(input: { key: AuthorizationKey; name: string }): Promise<{ status: number; body: string }> {
  const { testAuthorization } = proxyActivities<OAuthAnafActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '45 seconds',
    retry: { maximumAttempts: 3, initialInterval: '1 second' },
  });
  upsertSearchAttributes([
    { key: AnafTenant, value: input.key.tenant },
    { key: AnafService, value: 'oauth-test' },
    { key: AnafCif, value: input.key.cif },
  ]);
  const result = await testAuthorization(input);
  upsertSearchAttributes([
    { key: AnafStage, value: 'DONE' },
    { key: AnafOutcome, value: String(result.status) },
  ]);
  return result;
}

/**
 * Run daily by a Schedule: looks at every authorization and nudges the late or stuck
 * ones. Each run's result is the refresh-health report an operator reads in the Web UI.
 */
export async function oauthRefreshSweep(): Promise<SweepSummary> {
  const { sweepAuthorizations } = proxyActivities<OAuthOrchestrationActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '30 seconds' },
  });
  upsertSearchAttributes([
    { key: AnafTenant, value: '_system' },
    { key: AnafService, value: 'oauth-sweep' },
  ]);
  const summary = await sweepAuthorizations();
  upsertSearchAttributes([
    { key: AnafStage, value: 'DONE' },
    { key: AnafOutcome, value: summary.nudged > 0 || summary.needsAttention > 0 ? 'ATTENTION' : 'HEALTHY' },
  ]);
  return summary;
}
