import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { registry } from '../../lib/observability/metrics';
import { TENANT_A } from '../../devkit/config';
import { historyOf } from '../../devkit/history';
import { type Stack, startStack, startWorkers } from '../../devkit/stack';
import { eventually } from '../../devkit/wait';
import type { oauthAuthorization } from '../../workflows/oauth/authorization';
import { installUpdate, statusQuery } from '../../workflows/oauth/definitions';
import { authorizationWorkflowId } from '../../workflows/oauth/types';

/**
 * Issue 15 item 3: outside the sandbox, whoever reaches Temporal's port without our payload
 * key cannot act on a workflow. A plain client (no codec) sends a plaintext update planting
 * tokens into an authorization; the worker (ANAF_ENV=test) refuses the payload, logs it and
 * counts it, and the workflow never applies it. Real dev server.
 */

const EventType = temporal.api.enums.v1.EventType;

async function refusedCount(): Promise<number> {
  const metric = await registry.getSingleMetric('anaf_flow_plaintext_payloads_refused_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('plaintext payloads outside the sandbox', () => {
  let stack: Stack;
  let workers: { stop(): Promise<void> } | undefined;

  before(async () => {
    stack = await startStack({ workers: false });
    // The same configuration with ANAF_ENV=test: what decides whether the worker's codec refuses.
    workers = await startWorkers({ ...stack, config: { ...stack.config, anaf: { ...stack.config.anaf, env: 'test' } } });
  });
  after(async () => {
    await workers?.stop();
    await stack?.close();
  });

  test('a worker with ANAF_ENV=test refuses a plaintext update sent by a client without the codec: logged, counted, never applied', async () => {
    const key = { tenant: TENANT_A.tenant, cif: '14399840', scope: 'EFACTURA' as const };
    const workflowId = authorizationWorkflowId(key);
    const init = {
      ...key,
      credentialSetId: 'main',
      clientId: 'anaf-flow-test-client',
      settings: { refreshLeadMs: 86_400_000, warnBeforeRefreshExpiryMs: 86_400_000 },
    };
    // Started by our own (encrypting) client: the worker runs it.
    const ours = await stack.client.workflow.start<typeof oauthAuthorization>('oauthAuthorization', {
      workflowId,
      taskQueue: stack.config.temporal.taskQueue,
      args: [{ init }],
    });
    assert.equal((await ours.query(statusQuery)).status, 'PENDING');
    const before = await refusedCount();

    // Someone at the Temporal port: same server, no payload codec.
    const intruder = new Client({ connection: stack.env.connection, namespace: stack.config.temporal.namespace });
    const forged = {
      tokens: { tokenId: 'x', sealedAccess: 'planted', obtainedAt: Date.now() },
      source: 'AUTHORIZATION',
      credentialSetId: 'main',
      clientId: 'evil',
    };
    await assert.rejects(
      intruder.withDeadline(Date.now() + 5_000, () =>
        intruder.workflow.getHandle(workflowId).executeUpdate(installUpdate, { args: [forged as never] }),
      ),
      'the update is never accepted',
    );

    const history = await eventually(
      () => historyOf(stack.client, workflowId),
      (h) => (h.events ?? []).some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED),
      'the workflow task that met the plaintext payload failed',
    );
    const failed = history.events!.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)!;
    assert.match(failed.workflowTaskFailedEventAttributes?.failure?.message ?? '', /Unencrypted payload .* refused/);
    assert.ok(
      !(history.events ?? []).some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
      'no update accepted',
    );
    assert.ok((await refusedCount()) > before, 'counted in anaf_flow_plaintext_payloads_refused_total');
    assert.ok(
      stack.logs.some((l) => l.includes('unencrypted payload refused') && l.includes('json/plain')),
      'logged with its encoding',
    );
    assert.ok(!stack.logs.some((l) => l.includes('planted')), 'the payload itself is not logged');
  });
});
