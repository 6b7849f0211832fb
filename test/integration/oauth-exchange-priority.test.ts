import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { request } from 'undici';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { activitySchedules, eventTimeMs, historyOf } from '../../devkit/history';
import { authorizeOrganization, walkAuthorizePage } from '../../devkit/oauth-walk';
import { eventually } from '../../devkit/wait';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * ANAF's authorization code is exchangeable for 60 s, and the user waits on our callback while
 * it is. With ANAF's budget spent by hundreds of queued uploads, the code exchange must still go
 * first on the ANAF queue, and a token refresh right after it: both are measured here against
 * what waits in the queue (the server's backlog per priority) and the sandbox's clock.
 */

const SELLER = '14399840';
const LATECOMER = '18547290';
const QUEUED_UPLOADS = 200;
/** One ANAF call every 2 s: the uploads above take almost 7 minutes to drain. */
const CALLS_PER_MINUTE = 30;

describe('OAuth calls go first on a saturated ANAF queue', () => {
  let stack: Stack;

  /** What waits on the ANAF queue, in all and per priority key. */
  async function anafBacklog(): Promise<{ total: number; byKey: Record<string, number> }> {
    const res = await stack.client.workflowService.describeTaskQueue({
      namespace: stack.client.options.namespace,
      taskQueue: { name: stack.config.temporal.anafTaskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      reportStats: true,
    });
    const byKey = Object.fromEntries(Object.entries(res.statsByPriorityKey ?? {}).map(([key, s]) => [key, Number(s.approximateBacklogCount ?? 0)]));
    return { total: Number(res.stats?.approximateBacklogCount ?? 0), byKey };
  }

  /**
   * The last run of activity `name` in a workflow: its priority key, and when it was scheduled and
   * completed (server clock, the same host's clock the sandbox's runs on here).
   */
  async function lastRun(workflowId: string, name: string): Promise<{ priorityKey: number; scheduledAt: number; completedAt: number }> {
    const history = await historyOf(stack.client, workflowId);
    const scheduled = activitySchedules(history, name).at(-1);
    assert.ok(scheduled, `${workflowId} scheduled no ${name}`);
    const completed = history.events?.find((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString());
    assert.ok(completed, `${name} of ${workflowId} did not complete`);
    return {
      priorityKey: scheduled.activityTaskScheduledEventAttributes?.priority?.priorityKey ?? 0,
      scheduledAt: eventTimeMs(scheduled),
      completedAt: eventTimeMs(completed),
    };
  }

  /** Uploads ANAF (the sandbox) received in [from, to]: with the OAuth call first, only those already on their way. */
  function uploadsBetween(from: number, to: number): number {
    return stack.sandbox.efactura.state.uploads.filter((u) => u.uploadedAt >= from && u.uploadedAt <= to).length;
  }

  before(async () => {
    stack = await startStack({ configOverrides: { ANAF_CALLS_PER_MINUTE: String(CALLS_PER_MINUTE) } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    // Hundreds of invoices at once: their uploads queue behind the budget.
    for (let batch = 0; batch < QUEUED_UPLOADS; batch += 25) {
      await Promise.all(
        Array.from({ length: 25 }, async (_, i) => {
          const n = batch + i;
          const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
            body: ublInvoice({ supplierCif: SELLER, buyerCif: LATECOMER, number: `PRIO-${n}` }),
            headers: { 'idempotency-key': `prio-${n}` },
          });
          assert.equal(res.status, 202, res.text);
        }),
      );
    }
    await eventually(anafBacklog, (b) => b.total >= QUEUED_UPLOADS - 20, 'the uploads waiting on the ANAF queue', 60_000);
  });

  after(async () => {
    await stack?.close();
  });

  test('an authorization code is exchanged within 10 s of ANAF issuing it, ahead of every queued upload', async (t) => {
    await callApi(stack, TENANT_A.key, 'POST', '/v1/organizations', { json: { cif: LATECOMER, name: 'Latecomer SRL' } });
    const created = await callApi(stack, TENANT_A.key, 'POST', `/v1/organizations/${LATECOMER}/authorization-requests`, { json: { scope: 'EFACTURA' } });
    assert.equal(created.status, 201, created.text);
    const anafUrl = new URL(created.json.url as string);
    const walked = await walkAuthorizePage(stack.sandbox.url, {
      clientId: anafUrl.searchParams.get('client_id')!,
      redirectUri: anafUrl.searchParams.get('redirect_uri')!,
      state: anafUrl.searchParams.get('state')!,
    });
    const code = stack.sandbox.oauth.grants.codes.get(new URL(walked.location).searchParams.get('code')!);
    assert.ok(code, 'the sandbox issued the code');

    const callback = await request(walked.location.toString());
    const page = await callback.body.text();
    assert.equal(callback.statusCode, 200, page);
    assert.match(page, /Authorization complete/);
    assert.ok(code.usedAt !== undefined, 'the code was exchanged');
    const exchangedAfterMs = code.usedAt - code.issuedAt;
    const exchange = await lastRun(`${TENANT_A.tenant}/oauth-request/${created.json.id}`, 'exchangeAuthorizationCode');
    const overtaken = uploadsBetween(exchange.scheduledAt, code.usedAt);
    const backlog = await anafBacklog();
    t.diagnostic(`exchanged ${exchangedAfterMs} ms after ANAF issued the code; ${overtaken} uploads reached ANAF meanwhile; backlog ${JSON.stringify(backlog)}`);
    assert.equal(exchange.priorityKey, 1);
    assert.ok(exchangedAfterMs <= 10_000, `exchanged ${exchangedAfterMs} ms after ANAF issued it (sandbox clock)`);
    assert.ok(overtaken <= 2, `${overtaken} uploads reached ANAF between the exchange's scheduling and the exchange`);
    assert.ok(backlog.total >= QUEUED_UPLOADS - 40, `the uploads still wait: ${JSON.stringify(backlog)}`);

    const authorizations = await callApi(stack, TENANT_A.key, 'GET', `/v1/organizations/${LATECOMER}/authorizations`);
    assert.equal(authorizations.json.items.find((a: { scope: string }) => a.scope === 'EFACTURA')?.status, 'ACTIVE');
  });

  test('a token refresh overtakes the queued uploads too', async (t) => {
    const refreshesBefore = stack.sandbox.state.counters.oauth.refreshes;
    // The API waits for the refresh; behind the uploads it would wait minutes, so a deadline says no.
    const refreshed = callApi(stack, TENANT_A.key, 'POST', `/v1/organizations/${SELLER}/authorizations/EFACTURA/refresh`);
    const res = await Promise.race([refreshed, new Promise<undefined>((resolve) => setTimeout(resolve, 30_000, undefined).unref())]);
    assert.ok(res, 'the refresh did not finish within 30 s');
    assert.equal(res.status, 200, res.text);
    assert.equal(stack.sandbox.state.counters.oauth.refreshes, refreshesBefore + 1);
    const refresh = await lastRun(`${TENANT_A.tenant}/oauth/${SELLER}/EFACTURA`, 'refreshAuthorizationTokens');
    const overtaken = uploadsBetween(refresh.scheduledAt, refresh.completedAt);
    const backlog = await anafBacklog();
    t.diagnostic(`refresh ran ${refresh.completedAt - refresh.scheduledAt} ms after its scheduling; ${overtaken} uploads reached ANAF meanwhile; backlog ${JSON.stringify(backlog)}`);
    assert.equal(refresh.priorityKey, 2);
    assert.ok(overtaken <= 2, `${overtaken} uploads reached ANAF between the refresh's scheduling and its end`);
    assert.ok(backlog.total >= QUEUED_UPLOADS - 60, `the uploads still wait: ${JSON.stringify(backlog)}`);
  });
});
