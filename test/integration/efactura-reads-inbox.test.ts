import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inboxItemWorkflowId, type InboxSyncResult } from '../../workflows/efactura/inbox';
import { TENANT_A, TENANT_B } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { runInboxSyncOnce } from '../../devkit/inbox-sync';
import { finished } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * ANAF reads through the API (listing, validation, PDF) and the inbox: received invoices
 * synced by a Schedule, each downloaded exactly once however the windows overlap.
 */

const SELLER = '14399840';
const BUYER = '18547290';

describe('e-Factura reads and inbox', () => {
  let stack: Stack;
  const hooks: Array<{ event: string; messageId: string }> = [];
  let receiver: http.Server;
  let hookUrl: string;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4], key = TENANT_A.key) =>
    callApi(stack, key, method, path, options);

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 0, listingDelayMs: 0 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    await authorizeOrganization(stack, TENANT_A.key, BUYER);
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const json = JSON.parse(body);
        hooks.push({ event: json.event, messageId: json.data.messageId });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/inbox`;
  });
  after(async () => {
    receiver?.close();
    await stack?.close();
  });

  test('messages: ANAF’s paginated listing, typed, filtered', async () => {
    const sent = await api('POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: 'LST-1' }),
      headers: { 'idempotency-key': 'lst-1' },
    });
    const done = await finished(stack, sent.json.id);
    assert.equal(done.outcome, 'ACCEPTED');
    const list = await api('GET', `/v1/efactura/messages?cif=${SELLER}&days=1&filter=T`);
    assert.equal(list.status, 200, list.text);
    const mine = list.json.messages.find((m: { uploadIndex: string }) => m.uploadIndex === done.uploadIndex);
    assert.ok(mine, list.text);
    assert.equal(mine.type, 'FACTURA TRIMISA');
    assert.match(mine.createdAt, /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(list.json.page, 1);
    const received = await api('GET', `/v1/efactura/messages?cif=${BUYER}&days=1&filter=P`);
    assert.ok(
      received.json.messages.some((m: { uploadIndex: string }) => m.uploadIndex === done.uploadIndex),
      'the buyer sees it as received',
    );
    const none = await api('GET', `/v1/efactura/messages?cif=${SELLER}&days=1&filter=E`);
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(none.json.messages, [], '"Nu exista mesaje" is an empty page, not an error');
    const bad = await api('GET', `/v1/efactura/messages?cif=${SELLER}&days=61`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'VALIDATION_FAILED');
    assert.equal(
      (await api('GET', `/v1/efactura/messages?cif=${SELLER}&days=1`, undefined, TENANT_B.key)).status,
      404,
      'not B’s organization',
    );
  });

  test('validate and pdf: ANAF’s verdict and rendering, with and without validation', async () => {
    const good = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: 'VAL-1' });
    const bad = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: 'VAL-2', note: 'SANDBOX:NOK' });
    const ok = await api('POST', `/v1/efactura/validate?cif=${SELLER}&standard=FACT1`, { body: good });
    assert.deepEqual(ok.json, { valid: true, messages: [] });
    const nok = await api('POST', `/v1/efactura/validate?cif=${SELLER}`, { body: bad });
    assert.equal(nok.json.valid, false);
    assert.ok(
      nok.json.messages.some((m: string) => m.includes('BR-RO-999')),
      nok.text,
    );

    const pdf = await api('POST', `/v1/efactura/pdf?cif=${SELLER}`, { body: good });
    assert.equal(pdf.status, 200, pdf.text);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal(pdf.body.subarray(0, 5).toString(), '%PDF-');
    const refused = await api('POST', `/v1/efactura/pdf?cif=${SELLER}`, { body: bad });
    assert.equal(refused.status, 422);
    assert.equal(refused.json.error.code, 'INVOICE_INVALID');
    const unchecked = await api('POST', `/v1/efactura/pdf?cif=${SELLER}&validate=false`, { body: bad });
    assert.equal(unchecked.status, 200);
  });

  test('inbox: received invoices downloaded once across overlapping windows and a re-created schedule', async () => {
    const sandbox = stack.sandbox.efactura;
    // Stamped a little in the past: a sync window ends before the moment it runs, as ANAF requires.
    const receive = (number: string) => sandbox.addReceivedInvoice({ buyerCif: BUYER, number, at: Date.now() - 10_000 });
    const enable = await api('PUT', `/v1/organizations/${BUYER}/efactura/inbox-sync`, {
      json: { intervalMinutes: 60, callbackUrl: hookUrl },
    });
    assert.equal(enable.status, 200, enable.text);
    assert.equal(enable.json.intervalMinutes, 60);

    const runOnce = (): Promise<InboxSyncResult> => runInboxSyncOnce(stack, TENANT_A.key, TENANT_A.tenant, BUYER);
    const itemDone = (messageId: string) =>
      stack.client.workflow.getHandle(inboxItemWorkflowId(TENANT_A.tenant, BUYER, messageId)).result();

    const first = [receive('IN-1'), receive('IN-2')];
    const downloadsBefore = sandbox.state.counters.downloads;
    const run1 = await runOnce();
    assert.ok(run1.started >= 2, JSON.stringify(run1));
    await Promise.all(first.map((r) => itemDone(r.id)));

    const third = receive('IN-3');
    const run2 = await runOnce();
    assert.equal(run2.started, 1, `only the new one: ${JSON.stringify(run2)}`);
    assert.ok(run2.alreadyKnown >= 2, `the overlap re-listed the first two: ${JSON.stringify(run2)}`);
    assert.ok(run2.window.startTime < run1.window.endTime, 'windows overlap');
    await itemDone(third.id);

    // Re-created schedule: starts from the lookback again; nothing is fetched twice.
    assert.equal((await api('DELETE', `/v1/organizations/${BUYER}/efactura/inbox-sync`)).status, 204);
    assert.equal((await api('GET', `/v1/organizations/${BUYER}/efactura/inbox-sync`)).json.error.code, 'INBOX_SYNC_NOT_ENABLED');
    await api('PUT', `/v1/organizations/${BUYER}/efactura/inbox-sync`, { json: { intervalMinutes: 30, callbackUrl: hookUrl } });
    const run3 = await runOnce();
    assert.equal(run3.started, 0, JSON.stringify(run3));

    const ours = [...first, third].map((r) => r.id);
    assert.equal(sandbox.state.counters.downloads - downloadsBefore, run1.started + 1, 'one download per new message');
    for (const id of ours) assert.equal(hooks.filter((h) => h.messageId === id).length, 1, `one webhook for ${id}`);

    // Visibility is eventually consistent: ask until every item is indexed.
    const inbox = await eventually(
      () => api('GET', `/v1/efactura/inbox?cif=${BUYER}&limit=200`),
      (l) =>
        l.status === 200 &&
        ours.every((id) => l.json.items.some((i: { id: string }) => i.id === inboxItemWorkflowId(TENANT_A.tenant, BUYER, id))),
      'every received invoice listed in the inbox',
    );
    assert.equal(inbox.status, 200, inbox.text);
    const itemId = inboxItemWorkflowId(TENANT_A.tenant, BUYER, third.id);
    const view = await api('GET', `/v1/efactura/inbox/${encodeURIComponent(itemId)}`);
    assert.equal(view.status, 200, view.text);
    assert.equal(view.json.message.type, 'FACTURA PRIMITA');
    assert.equal(view.json.invoice.number, 'IN-3');
    const xml = await api('GET', `/v1/efactura/inbox/${encodeURIComponent(itemId)}/document.xml`);
    assert.match(xml.text, /<cbc:ID>IN-3<\/cbc:ID>/);

    assert.equal((await api('GET', `/v1/efactura/inbox/${encodeURIComponent(itemId)}`, undefined, TENANT_B.key)).status, 404);
    assert.equal((await api('GET', `/v1/efactura/inbox/${encodeURIComponent(itemId)}/zip`, undefined, TENANT_B.key)).status, 404);
    assert.deepEqual((await api('GET', '/v1/efactura/inbox', undefined, TENANT_B.key)).json.items, []);
    assert.equal((await api('GET', `/v1/organizations/${BUYER}/efactura/inbox-sync`, undefined, TENANT_B.key)).status, 404);
  });
});
