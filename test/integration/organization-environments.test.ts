import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TENANT_A, TENANT_B } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { transportXml } from '../../devkit/fixtures/transport';
import { runInboxSyncOnce } from '../../devkit/inbox-sync';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { declarationWhen, finished, submissionWhen } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';
import { eventually } from '../../devkit/wait';
import { type InboxItemView, inboxItemWorkflowId } from '../../workflows/efactura/inbox';
import { Client } from '@temporalio/client';
import { EnvironmentResolver } from '../../activities/anaf/environments';
import { TokenProvider } from '../../activities/oauth/token-provider';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { OrganizationMemos } from '../../services/clients/organization-memo';
import { dataConverterFor } from '../../lib/temporal/temporal-client';

/**
 * Test or production per organization and scope (issue 16 item 5), on the real dev server and
 * the sandbox, which serves ANAF's /test and /prod prefixes both and records which one each
 * upload came to. The global default here is the sandbox's /test.
 */

const ON_PROD = '14399840';
const ON_TEST = '18547290';
const BUYER = '8000001';
/** Longer than the workers' 10 s cache of an organization's setting: a lifecycle that followed the setting would be caught moving. */
const PROCESSING_MS = 12_000;

describe('ANAF environment per organization and scope', () => {
  let stack: Stack;
  let n = 0;
  const nextNumber = () => `ENV-${process.pid}-${++n}`;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4], key = TENANT_A.key) =>
    callApi(stack, key, method, path, options);
  const submit = async (cif: string, number: string) => {
    const res = await api('POST', `/v1/efactura/invoices?cif=${cif}`, {
      body: ublInvoice({ supplierCif: cif, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `env-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  };
  /** The environment the sandbox saw the invoice's uploads come to. */
  const uploadEnvs = (number: string) => stack.sandbox.efactura.state.uploads.filter((u) => u.number === number).map((u) => u.env);
  const setEnvironments = (cif: string, environments: Record<string, unknown>, key = TENANT_A.key) =>
    api('PATCH', `/v1/organizations/${cif}`, { json: { environments } }, key);

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: PROCESSING_MS }, etransport: { processingDelayMs: 300 } } });
    await authorizeOrganization(stack, TENANT_A.key, ON_PROD);
    await authorizeOrganization(stack, TENANT_A.key, ON_TEST);
    await authorizeOrganization(stack, TENANT_A.key, ON_PROD, 'ETRANSPORT');
  });

  after(async () => {
    await stack?.close();
  });

  test('an organization set to prod for EFACTURA uploads to /prod, another stays on /test; both accepted with the same tokens', async () => {
    const before = await api('GET', `/v1/organizations/${ON_PROD}`);
    assert.deepEqual(before.json.environments.EFACTURA, { environment: 'test', default: true });
    const patched = await setEnvironments(ON_PROD, { EFACTURA: 'prod' });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.json.environments, {
      EFACTURA: { environment: 'prod', default: false },
      ETRANSPORT: { environment: 'test', default: true },
    });
    assert.deepEqual((await api('GET', `/v1/organizations/${ON_PROD}`)).json.environments.EFACTURA, {
      environment: 'prod',
      default: false,
    });

    const [prodNumber, testNumber] = [nextNumber(), nextNumber()];
    const [prodId, testId] = await Promise.all([submit(ON_PROD, prodNumber), submit(ON_TEST, testNumber)]);
    const [prodDone, testDone] = await Promise.all([finished(stack, prodId), finished(stack, testId)]);
    assert.equal(prodDone.outcome, 'ACCEPTED', JSON.stringify(prodDone));
    assert.equal(testDone.outcome, 'ACCEPTED', JSON.stringify(testDone));
    assert.deepEqual(uploadEnvs(prodNumber), ['prod']);
    assert.deepEqual(uploadEnvs(testNumber), ['test']);
    const view = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(prodId)}`);
    assert.equal(view.json.anafEnvironment, 'prod', view.text);

    // null: back to the global default.
    const reset = await setEnvironments(ON_PROD, { EFACTURA: null });
    assert.deepEqual(reset.json.environments.EFACTURA, { environment: 'test', default: true });
  });

  test('a switch while an upload is being polled does not move it; the next submission follows the switch', async () => {
    const number = nextNumber();
    const id = await submit(ON_TEST, number);
    await submissionWhen(stack, id, (v) => v.uploadIndex !== undefined && v.stage === 'POLLING');
    assert.equal((await setEnvironments(ON_TEST, { EFACTURA: 'prod' })).status, 200);
    // Polled on /prod, the index is unknown there ("Nu exista factura"): the submission waits for an operator instead.
    const done = await submissionWhen(stack, id, (v) => v.outcome !== undefined || v.stage === 'NEEDS_OPERATOR', 60_000);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(done.anafEnvironment, 'test');
    assert.deepEqual(uploadEnvs(number), ['test']);

    const next = nextNumber();
    const nextDone = await finished(stack, await submit(ON_TEST, next));
    assert.equal(nextDone.outcome, 'ACCEPTED', JSON.stringify(nextDone));
    assert.deepEqual(uploadEnvs(next), ['prod']);
    await setEnvironments(ON_TEST, { EFACTURA: null });
  });

  test('ETRANSPORT set to prod: the declaration goes to /prod and its UIT lives there', async () => {
    assert.equal((await setEnvironments(ON_PROD, { ETRANSPORT: 'prod' })).status, 200);
    const ref = `ENVT-${process.pid}`;
    const res = await api('POST', `/v1/etransport/declarations?cif=${ON_PROD}`, {
      body: transportXml({ declarantCif: ON_PROD, ref }),
      headers: { 'idempotency-key': `env-${ref}` },
    });
    assert.equal(res.status, 202, res.text);
    const view = await declarationWhen(stack.client, res.json.id, (v) => v.outcome !== undefined);
    assert.equal(view.outcome, 'ACCEPTED', JSON.stringify(view));
    assert.equal(view.anafEnvironment, 'prod');
    assert.equal(stack.sandbox.etransport.state.notification(view.uit!)?.env, 'prod');
    await setEnvironments(ON_PROD, { ETRANSPORT: null });
  });

  test('inbox synced on /test, then switched to /prod: the same message id on each side is two items, each downloaded from its own side', async () => {
    const efactura = stack.sandbox.efactura;
    // Stamped a little in the past: a sync window ends before the moment it runs, as ANAF requires.
    const onTest = efactura.addReceivedInvoice({ buyerCif: ON_TEST, env: 'test', number: 'INBOX-TEST', at: Date.now() - 10_000 });
    const enabled = await api('PUT', `/v1/organizations/${ON_TEST}/efactura/inbox-sync`, { json: { intervalMinutes: 60 } });
    assert.equal(enabled.status, 200, enabled.text);
    const runOnce = () => runInboxSyncOnce(stack, TENANT_A.key, TENANT_A.tenant, ON_TEST);
    // Enabling may run it at once too: whichever run lists the message starts its item. The previous
    // test set this organization back to /test; workers see that within their 10 s cache.
    await eventually(runOnce, (r) => r.anafEnvironment === 'test', 'a sync run listed /test', 30_000);
    const item = (id: string) => stack.client.workflow.getHandle(id).result() as Promise<InboxItemView>;
    const testItem = await item(inboxItemWorkflowId(TENANT_A.tenant, ON_TEST, onTest.id));

    // ANAF numbers /test and /prod apart: /prod has a message with the very same id.
    const onProd = efactura.addReceivedInvoice({
      buyerCif: ON_TEST,
      env: 'prod',
      messageId: onTest.id,
      number: 'INBOX-PROD',
      at: Date.now() - 10_000,
    });
    assert.equal(onProd.id, onTest.id);
    assert.equal((await setEnvironments(ON_TEST, { EFACTURA: 'prod' })).status, 200);
    // Workers read the setting within their 10 s cache: sync until a run listed /prod.
    const onProdRun = await eventually(runOnce, (r) => r.anafEnvironment === 'prod', 'a sync run listed /prod', 30_000);
    assert.equal(onProdRun.started, 1, `the /prod message is a new item: ${JSON.stringify(onProdRun)}`);
    const prodItem = await item(inboxItemWorkflowId(TENANT_A.tenant, ON_TEST, onTest.id, 'prod'));

    assert.equal(testItem.identity.number, 'INBOX-TEST');
    assert.equal(testItem.anafEnvironment, 'test');
    assert.equal(prodItem.identity.number, 'INBOX-PROD');
    assert.equal(prodItem.anafEnvironment, 'prod');
    assert.equal(efactura.state.dailyUsed('descarcare', `test|${onTest.id}`), 1, 'downloaded once from /test');
    assert.equal(efactura.state.dailyUsed('descarcare', `prod|${onTest.id}`), 1, 'downloaded once from /prod');
    const view = await api(
      'GET',
      `/v1/efactura/inbox/${encodeURIComponent(inboxItemWorkflowId(TENANT_A.tenant, ON_TEST, onTest.id, 'prod'))}`,
    );
    assert.equal(view.status, 200, view.text);
    assert.equal(view.json.anafEnvironment, 'prod');
    assert.equal(view.json.invoice.number, 'INBOX-PROD');

    assert.equal((await api('DELETE', `/v1/organizations/${ON_TEST}/efactura/inbox-sync`)).status, 204);
    await setEnvironments(ON_TEST, { EFACTURA: null });
  });

  test('bad input: unknown scope or value 422, another tenant 404, nothing changed', async () => {
    const scope = await setEnvironments(ON_PROD, { BANCIWS: 'prod' });
    assert.equal(scope.status, 422, scope.text);
    assert.equal(scope.json.error.code, 'UNKNOWN_SCOPE');
    const value = await setEnvironments(ON_PROD, { EFACTURA: 'staging' });
    assert.equal(value.status, 422, value.text);
    assert.equal(value.json.error.code, 'ENVIRONMENT_INVALID');
    const other = await setEnvironments(ON_PROD, { EFACTURA: 'prod' }, TENANT_B.key);
    assert.equal(other.status, 404, other.text);
    assert.equal(other.json.error.code, 'ORGANIZATION_NOT_FOUND');
    const missing = await api('PATCH', `/v1/organizations/${ON_PROD}`, { json: {} });
    assert.equal(missing.status, 400, missing.text);
    assert.deepEqual((await api('GET', `/v1/organizations/${ON_PROD}`)).json.environments.EFACTURA, { environment: 'test', default: true });
  });

  test("an ANAF call's token route and environment come from one describe of the organization per cache time", async () => {
    let describes = 0;
    const counting = new Client({
      connection: stack.client.connection,
      namespace: stack.config.temporal.namespace,
      dataConverter: dataConverterFor(stack.config),
      interceptors: {
        workflow: [
          {
            async describe(input, next) {
              describes++;
              return next(input);
            },
          },
        ],
      },
    });
    const organizations = new OrganizationMemos(counting, 60_000);
    const environments = new EnvironmentResolver(organizations, stack.config.anaf.apiBaseUrl);
    const tokens = new TokenProvider(counting, new TokenSealer(stack.config.tokenSealing), { cacheMs: 60_000, organizations });
    const key = { tenant: TENANT_A.tenant, cif: ON_PROD, scope: 'EFACTURA' as const };
    await setEnvironments(ON_PROD, { EFACTURA: 'prod' });
    // As an upload's first call asks for both at once.
    const [environment, source] = await Promise.all([environments.environment(key, 'EFACTURA'), tokens.source(key)]);
    await environments.environment(key, 'ETRANSPORT');
    await tokens.source({ ...key, scope: 'ETRANSPORT' });
    assert.equal(environment, 'prod');
    assert.match(source.workflowId, new RegExp(ON_PROD));
    assert.equal(describes, 1, 'both read the one cached memo');
    await setEnvironments(ON_PROD, { EFACTURA: null });
  });
});
