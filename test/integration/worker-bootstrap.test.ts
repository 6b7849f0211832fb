import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { request } from 'undici';
import { dataConverterFor } from '../../lib/temporal/temporal-client';
import { ensureSchedules, OAUTH_SWEEP_SCHEDULE_ID } from '../../workers/schedules';
import { TENANT_A } from '../../devkit/config';
import { encodingOf, historyOf, historyText, payloadsOf } from '../../devkit/history';
import { type Stack, startStack } from '../../devkit/stack';
import { prebuiltWorkflowBundle } from '../../devkit/workflow-bundle';

describe('a workflow end to end through the worker bootstrap', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  test('start-up schedules: created once, a second worker start changes nothing, operator edits survive', async () => {
    await ensureSchedules(stack.client, stack.config, stack.logger);
    const handle = stack.client.schedule.getHandle(OAUTH_SWEEP_SCHEDULE_ID);
    await handle.pause('operator paused it');
    await ensureSchedules(stack.client, stack.config, stack.logger);
    const described = await handle.describe();
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal(described.action.type === 'startWorkflow' ? described.action.workflowType : '', 'oauthRefreshSweep');
    assert.equal(described.state.paused, true, "the second start-up did not reset the operator's pause");
    assert.equal(described.spec.timezone, 'Europe/Bucharest');
    await handle.delete();
  });

  test('connectivity check: API start → worker → sandbox → result over the API; ciphertext in history; replays', async () => {
    const started = await request(`${stack.apiUrl}/v1/connectivity-checks`, {
      method: 'POST',
      headers: { 'x-api-key': TENANT_A.key, 'Idempotency-Key': 'boot-1' },
    });
    assert.equal(started.statusCode, 202);
    const { id } = (await started.body.json()) as { id: string };
    await stack.client.workflow.getHandle(id).result();

    const read = await request(`${stack.apiUrl}/v1/connectivity-checks/${encodeURIComponent(id)}`, {
      headers: { 'x-api-key': TENANT_A.key },
    });
    assert.equal(read.statusCode, 200);
    const body = (await read.body.json()) as {
      status: string;
      result: { ok: boolean; probes: Array<{ name: string; reachable: boolean; status: number }> };
    };
    assert.equal(body.status, 'COMPLETED');
    assert.equal(body.result.ok, true);
    const byName = Object.fromEntries(body.result.probes.map((p) => [p.name, p]));
    assert.equal(byName.api?.status, 403, 'TestOauth hello without a token is refused by the sandbox');
    assert.ok(byName.oauth?.reachable);
    assert.ok(stack.sandbox.state.requestsTo('GET', '/TestOauth/jaxrs/hello') >= 1, 'the sandbox saw the probe');

    const history = await historyOf(stack.client, id);
    const payloads = payloadsOf(history);
    assert.ok(payloads.length >= 2, 'input and result payloads exist');
    for (const p of payloads) assert.equal(encodingOf(p), 'binary/encrypted');
    assert.ok(!historyText(history).includes('"tenant"'), 'the JSON input is not readable in the stored history');
    assert.ok(!historyText(history).includes('probes'), 'the JSON result is not readable in the stored history');

    // Guard for workflow changes: the recorded history must replay against today's code.
    await Worker.runReplayHistory(
      {
        workflowBundle: prebuiltWorkflowBundle(),
        ...(prebuiltWorkflowBundle() ? {} : { workflowsPath: require.resolve('../../workflows') }),
        dataConverter: dataConverterFor(stack.config),
      },
      history,
      id,
    );
  });
});
