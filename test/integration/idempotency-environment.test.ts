import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callApi } from '../../devkit/api-client';
import { TENANT_A } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { finished } from '../../devkit/views';

/**
 * An Idempotency-Key names one request to ONE ANAF environment: after the organization moved to the
 * other environment, the same key and body is another request (409), never the earlier submission
 * handed back while nothing reaches the environment the ERP now expects (a lost filing).
 */

const SELLER = '14399840';
const BUYER = '8000001';

describe('Idempotency-Key across an environment switch', () => {
  let stack: Stack;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) =>
    callApi(stack, TENANT_A.key, method, path, options);

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 200 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
  });
  after(async () => {
    await stack?.close();
  });

  test('the same key and invoice after a switch to prod is refused (409 IDEMPOTENCY_KEY_REUSED); back on the default it is the same submission again', async () => {
    const number = `IDEM-ENV-${process.pid}`;
    const send = () =>
      api('POST', `/v1/efactura/invoices?cif=${SELLER}`, {
        body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }),
        headers: { 'idempotency-key': `idem-env-${number}` },
      });
    const first = await send();
    assert.equal(first.status, 202, first.text);
    await finished(stack, first.json.id as string);

    const moved = await api('PATCH', `/v1/organizations/${SELLER}`, { json: { environments: { EFACTURA: 'prod' } } });
    assert.equal(moved.status, 200, moved.text);
    const again = await send();
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, 'IDEMPOTENCY_KEY_REUSED', again.text);
    assert.deepEqual(
      stack.sandbox.efactura.state.uploads.filter((u) => u.number === number).map((u) => u.env),
      ['test'],
      'nothing more was sent',
    );

    const back = await api('PATCH', `/v1/organizations/${SELLER}`, { json: { environments: { EFACTURA: null } } });
    assert.equal(back.status, 200, back.text);
    const replayed = await send();
    assert.ok(replayed.status === 200 || replayed.status === 202, replayed.text);
    assert.equal(replayed.json.id, first.json.id, 'the default environment keeps the fingerprint it always had');
  });
});
