import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inboxItemWorkflowId } from '../../workflows/efactura/inbox';
import { TENANT_A, TENANT_B } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * ANAF's signature over its answers (issue 14 item 10): checked through ANAF's signature
 * validation (POST /api/validate/signature, multipart file + signature) for accepted and received
 * invoices, kept on the view, never fatal; and on demand through POST /v1/efactura/signature/verify.
 * Real Temporal, the sandbox over HTTP (it validates the signatures it made itself).
 */

const SELLER = '14399840';
const BUYER = '18547290';
const SIGNATURE_ROUTE = '/api/validate/signature';
/** ANAF's documented 400 (validaresemnatura). */
const TECHNICAL_400 = JSON.stringify({
  msg: 'Eroare tehnică: request incorect. Cauza: cel puțin unul din documente NU a fost încărcat sau NU este un fisier de tip XML specific facturii electronice.',
});

describe("ANAF's signature over accepted and received invoices", () => {
  let stack: Stack;
  let n = 0;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4], key = TENANT_A.key) =>
    callApi(stack, key, method, path, options);
  const submit = async () => {
    const number = `SIG-${process.pid}-${++n}`;
    const res = await api('POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `sig-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  };

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 0, listingDelayMs: 0 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    await authorizeOrganization(stack, TENANT_A.key, BUYER);
  });
  after(async () => {
    await stack?.close();
  });

  test('an accepted invoice: ANAF says its signature holds, on the view with when; verify by submission id says the same', async () => {
    const id = await submit();
    const done = await finished(stack, id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    const view = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(id)}`);
    assert.equal(view.json.signatureValid, true, view.text);
    assert.ok(Date.parse(view.json.signatureCheckedAt) > 0, view.text);
    assert.match(view.json.signatureMessage, /validate cu succes/);

    const verified = await api('POST', '/v1/efactura/signature/verify', { json: { submissionId: id } });
    assert.equal(verified.status, 200, verified.text);
    assert.equal(verified.json.valid, true);
    assert.equal(
      (await api('POST', '/v1/efactura/signature/verify', { json: { submissionId: id } }, TENANT_B.key)).status,
      404,
      "not B's submission",
    );
  });

  test('an uploaded pair: the signed invoice verifies, one byte changed does not (ANAF\'s "NU au putut fi validate")', async () => {
    const id = await submit();
    await finished(stack, id);
    const xml = (await api('GET', `/v1/efactura/invoices/${encodeURIComponent(id)}/invoice.xml`)).text;
    const signature = (await api('GET', `/v1/efactura/invoices/${encodeURIComponent(id)}/signature.xml`)).text;
    const good = await api('POST', '/v1/efactura/signature/verify', { json: { cif: SELLER, xml, signature } });
    assert.equal(good.status, 200, good.text);
    assert.equal(good.json.valid, true, good.text);
    const tampered = await api('POST', '/v1/efactura/signature/verify', {
      json: { cif: SELLER, xml: xml.replace('SIG-', 'SIG_'), signature },
    });
    assert.equal(tampered.status, 200, tampered.text);
    assert.equal(tampered.json.valid, false, tampered.text);
    assert.match(tampered.json.message, /NU au putut fi validate/);
    const bad = await api('POST', '/v1/efactura/signature/verify', { json: { cif: SELLER, xml } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.code, 'VALIDATION_FAILED');
  });

  test('the check fails (ANAF answers its technical 400): recorded on the view, the invoice is still ACCEPTED', async () => {
    stack.sandbox.faults.add({ route: SIGNATURE_ROUTE, method: 'POST', status: 400, contentType: 'application/json', body: TECHNICAL_400 });
    try {
      const id = await submit();
      const done = await finished(stack, id);
      assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
      assert.equal(done.signatureValid, undefined);
      assert.match(done.signatureCheckError ?? '', /Eroare tehnic/, JSON.stringify(done));
      assert.ok(done.signatureCheckedAt, JSON.stringify(done));
    } finally {
      stack.sandbox.faults.clear();
    }
  });

  test('a received invoice: its ANAF signature checked and kept on the inbox item', async () => {
    const received = stack.sandbox.efactura.addReceivedInvoice({
      buyerCif: BUYER,
      supplierCif: SELLER,
      number: `SIG-IN-${process.pid}`,
      at: Date.now() - 10_000,
    });
    assert.equal((await api('PUT', `/v1/organizations/${BUYER}/efactura/inbox-sync`, { json: { intervalMinutes: 60 } })).status, 200);
    assert.equal((await api('POST', `/v1/organizations/${BUYER}/efactura/inbox-sync/run`)).status, 202);
    const itemId = inboxItemWorkflowId(TENANT_A.tenant, BUYER, received.id);
    const item = await eventually(
      () => api('GET', `/v1/efactura/inbox/${encodeURIComponent(itemId)}`),
      (r) => r.status === 200 && r.json.status !== 'RUNNING' && r.json.receivedAt !== undefined,
      'the inbox item finished',
      60_000,
    );
    assert.equal(item.json.signatureValid, true, item.text);
    assert.ok(Date.parse(item.json.signatureCheckedAt) > 0, item.text);
  });
});
