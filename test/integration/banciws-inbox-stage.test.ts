import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { AnafCif, AnafService, AnafStage, AnafTenant } from '../../lib/temporal/search-attributes';
import { banciwsStackConfig } from '../../devkit/fixtures/banciws';
import { TENANT_A } from '../../devkit/config';
import { eventually } from '../../devkit/wait';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * A BANCIWS inbox poll carries AnafStage while it runs (patch banciws-inbox-stage-from-start):
 * operators find running polls in the Web UI by `AnafStage = 'LISTING'`. The sandbox holds the
 * listaMesaje answer (over real HTTPS/mTLS) so the poll is caught still listing; let go, it ends DONE.
 */

const CUI = '361820';
const INSTITUTION = 'banca-test';
const LISTING_ROUTE = '^/BANCIWS/rest/listaMesaje';

/** Ids visibility returns for `query`, with each one's execution status. */
async function listed(client: Client, query: string): Promise<Array<{ id: string; status: string }>> {
  const found: Array<{ id: string; status: string }> = [];
  for await (const x of client.workflow.list({ query })) found.push({ id: x.workflowId, status: x.status.name });
  return found;
}

describe('BANCIWS inbox poll: AnafStage in visibility while it lists and once it is done', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      sandbox: { banciws: { tlsPort: 0, processingDelayMs: 400 } },
      configFromSandbox: banciwsStackConfig([{ id: INSTITUTION, tenant: TENANT_A.tenant, cui: CUI, pollEveryMinutes: 0, zile: '1' }]),
    });
  });
  after(async () => {
    stack?.sandbox.faults.clear();
    stack?.sandbox.faults.release();
    await stack?.close();
  });

  test("a running poll is found by AnafStage = 'LISTING' (with its service and CIF), and by AnafStage = 'DONE' once finished", async () => {
    const { client } = stack;
    const { faults } = stack.sandbox;
    stack.sandbox.banciws!.service.addRequest(CUI, 'Solicitare F3000 nr. 1');
    // Every listaMesaje answer waits until released: the poll cannot leave its listing meanwhile.
    faults.add({ route: LISTING_ROUTE, method: 'POST', holdAnswer: true });
    const workflowId = `${TENANT_A.tenant}/banciws-inbox-poll/test-stage`;
    const handle = await client.workflow.start('banciwsInbox', {
      workflowId,
      taskQueue: stack.config.temporal.taskQueue,
      args: [{ tenant: TENANT_A.tenant, institutionId: INSTITUTION, cui: CUI, zile: '1' }],
    });

    const listing = `AnafStage = 'LISTING' AND WorkflowType = 'banciwsInbox' AND WorkflowId = '${workflowId}'`;
    await eventually(
      async () => ({ held: faults.held().length, found: await listed(client, listing) }),
      ({ held, found }) => held > 0 && found.some((w) => w.status === 'RUNNING'),
      `the poll, its listaMesaje held, is listed RUNNING by ${listing}`,
    );
    const running = await handle.describe();
    assert.equal(running.status.name, 'RUNNING', 'caught while listing');
    assert.ok(faults.held().length > 0, 'its listaMesaje answer still held');
    assert.equal(running.typedSearchAttributes.get(AnafStage), 'LISTING');
    assert.equal(running.typedSearchAttributes.get(AnafService), 'banciws');
    assert.equal(running.typedSearchAttributes.get(AnafCif), CUI);
    assert.equal(running.typedSearchAttributes.get(AnafTenant), TENANT_A.tenant);

    faults.clear();
    faults.release();
    const result = (await handle.result()) as { listed: number; started: number };
    assert.ok(result.started >= 1, JSON.stringify(result));
    const done = `AnafStage = 'DONE' AND WorkflowType = 'banciwsInbox' AND WorkflowId = '${workflowId}'`;
    await eventually(
      () => listed(client, done),
      (found) => found.some((w) => w.status === 'COMPLETED'),
      `the finished poll is listed COMPLETED by ${done}`,
    );
    const finished = await handle.describe();
    assert.equal(finished.typedSearchAttributes.get(AnafStage), 'DONE');
    assert.deepEqual(await listed(client, listing), [], 'a finished poll is no longer found as LISTING');
  });
});
