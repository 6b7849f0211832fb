import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { runInboxSyncOnce } from '../../devkit/inbox-sync';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { eventually } from '../../devkit/wait';
import { type InboxItemView, type InboxSyncResult, inboxItemWorkflowId } from '../../workflows/efactura/inbox';

/**
 * The inbox cursor belongs to one ANAF environment. /test and /prod are two inboxes: when an organization's
 * EFACTURA scope moves from test to prod (the usual onboarding), the first prod sync looks back as a first
 * sync does, so invoices that reached /prod before the switch are listed; back on test, the sync resumes
 * test's own cursor. Real dev server and sandbox; the global default here is the sandbox's /test.
 */

const CIF = '18547290';
const MINUTE = 60_000;

describe('e-Factura inbox cursor per ANAF environment', () => {
  let stack: Stack;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) =>
    callApi(stack, TENANT_A.key, method, path, options);
  const setEfactura = async (env: 'prod' | null) => {
    const res = await api('PATCH', `/v1/organizations/${CIF}`, { json: { environments: { EFACTURA: env } } });
    assert.equal(res.status, 200, res.text);
  };
  const runOnce = () => runInboxSyncOnce(stack, TENANT_A.key, TENANT_A.tenant, CIF);
  /** Workers read the setting within their 10 s cache: sync until a run listed `env`. */
  const syncOn = (env: 'test' | 'prod') =>
    eventually(runOnce, (r: InboxSyncResult) => r.anafEnvironment === env, `a sync run listed /${env}`, 30_000);
  const item = (messageId: string, env?: 'prod') =>
    stack.client.workflow.getHandle(inboxItemWorkflowId(TENANT_A.tenant, CIF, messageId, env)).result() as Promise<InboxItemView>;

  before(async () => {
    stack = await startStack();
    await authorizeOrganization(stack, TENANT_A.key, CIF);
  });

  after(async () => {
    await stack?.close();
  });

  test('switched to prod: a /prod message dated before the test cursor is listed and downloaded; back on test: test resumes its own cursor', async () => {
    const efactura = stack.sandbox.efactura;
    // Stamped a little in the past: a sync window ends before the moment it runs, as ANAF requires.
    const onTest = efactura.addReceivedInvoice({ buyerCif: CIF, env: 'test', number: 'CURSOR-TEST-1', at: Date.now() - 10_000 });
    const enabled = await api('PUT', `/v1/organizations/${CIF}/efactura/inbox-sync`, { json: { intervalMinutes: 60 } });
    assert.equal(enabled.status, 200, enabled.text);
    const testRun = await runOnce();
    assert.equal(testRun.anafEnvironment, 'test', JSON.stringify(testRun));
    assert.equal((await item(onTest.id)).identity.number, 'CURSOR-TEST-1');

    // Invoices suppliers sent to /prod before the company switched: an hour and three days before the test cursor.
    const oldAt = testRun.cursor - 3 * 24 * 60 * MINUTE;
    const prodRecent = efactura.addReceivedInvoice({
      buyerCif: CIF,
      env: 'prod',
      number: 'CURSOR-PROD-1',
      at: testRun.cursor - 60 * MINUTE,
    });
    const prodOld = efactura.addReceivedInvoice({ buyerCif: CIF, env: 'prod', number: 'CURSOR-PROD-2', at: oldAt });
    await setEfactura('prod');
    const prodRun = await syncOn('prod');
    assert.ok(prodRun.window.startTime <= oldAt, `the first /prod sync looks back: ${JSON.stringify(prodRun)}`);
    assert.equal(prodRun.started, 2, `both /prod messages are new items: ${JSON.stringify(prodRun)}`);
    const [recentItem, oldItem] = await Promise.all([item(prodRecent.id, 'prod'), item(prodOld.id, 'prod')]);
    assert.equal(recentItem.identity.number, 'CURSOR-PROD-1');
    assert.equal(oldItem.identity.number, 'CURSOR-PROD-2');
    assert.equal(recentItem.anafEnvironment, 'prod');
    assert.equal(efactura.state.dailyUsed('descarcare', `prod|${prodRecent.id}`), 1, 'downloaded once from /prod');
    assert.equal(efactura.state.dailyUsed('descarcare', `prod|${prodOld.id}`), 1, 'downloaded once from /prod');
    // The run on prod keeps where test stopped.
    assert.ok(prodRun.cursors?.test !== undefined && prodRun.cursors.test >= testRun.cursor, JSON.stringify(prodRun));
    assert.equal(prodRun.cursors?.prod, prodRun.cursor);

    // Back to the default: test resumes its own cursor, not prod's and not the lookback.
    const onTestAgain = efactura.addReceivedInvoice({ buyerCif: CIF, env: 'test', number: 'CURSOR-TEST-2', at: Date.now() - 10_000 });
    await setEfactura(null);
    let lastProd = prodRun;
    const backOnTest = await eventually(
      async () => {
        const run = await runOnce();
        if (run.anafEnvironment === 'prod') lastProd = run;
        return run;
      },
      (r: InboxSyncResult) => r.anafEnvironment === 'test',
      'a sync run listed /test again',
      30_000,
    );
    assert.equal(
      backOnTest.window.startTime,
      lastProd.cursors?.test,
      `test resumes its cursor: ${JSON.stringify({ backOnTest, lastProd })}`,
    );
    assert.equal(backOnTest.started, 1, `only the new /test message: ${JSON.stringify(backOnTest)}`);
    assert.equal((await item(onTestAgain.id)).identity.number, 'CURSOR-TEST-2');
    assert.equal(efactura.state.dailyUsed('descarcare', `test|${onTest.id}`), 1, 'the first /test message downloaded once');
    assert.deepEqual(backOnTest.cursors, { test: backOnTest.cursor, prod: lastProd.cursor });

    assert.equal((await api('DELETE', `/v1/organizations/${CIF}/efactura/inbox-sync`)).status, 204);
  });
});
