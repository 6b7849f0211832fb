import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DeclarationView } from '../../workflows/etransport/types';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { transportXml } from '../../devkit/fixtures/transport';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { declarationWhen, finished } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * Individuals where ANAF takes them (issue 14 item 11): a CNP (13 digits, its own check digit)
 * declares in e-Transport ("cif … maxim 13 cifre") and buys in e-Factura (B2C); it is refused as
 * e-Factura's upload `cif`, the seller's, where ANAF documents no CNP.
 * Real Temporal, the sandbox over HTTP.
 */

const SELLER = '14399840';
/** A CNP whose check digit was computed by hand (key 279146358279). */
const CNP = '1960529460020';

describe('a CNP where ANAF takes one, and not where it does not', () => {
  let stack: Stack;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) =>
    callApi(stack, TENANT_A.key, method, path, options);

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 0 }, etransport: { processingDelayMs: 0 } } });
  });
  after(async () => {
    await stack?.close();
  });

  test('an individual registers by CNP, authorizes e-Transport and declares with codDeclarant=CNP: accepted, one notification', async () => {
    await authorizeOrganization(stack, TENANT_A.key, CNP, 'ETRANSPORT');
    const ref = `PF-${process.pid}`;
    const res = await api('POST', `/v1/etransport/declarations?cif=${CNP}`, {
      body: transportXml({ declarantCif: CNP, ref }),
      headers: { 'idempotency-key': `pf-${ref}` },
    });
    assert.equal(res.status, 202, res.text);
    const view = await declarationWhen(
      stack.client,
      res.json.id,
      (v: DeclarationView) => (v.outcome === 'ACCEPTED' && v.stage === 'ACTIVE') || v.stage === 'DONE',
    );
    assert.equal(view.outcome, 'ACCEPTED', JSON.stringify(view));
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CNP, ref), 1);
  });

  test('a CNP with a wrong check digit is refused with its own code before anything is stored', async () => {
    const res = await api('POST', '/v1/organizations', { json: { cif: '1960529460021', name: 'Ion Popescu' } });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error.code, 'VALIDATION_FAILED');
  });

  test("e-Factura: a CNP as the upload's cif (the seller's) is refused as INVALID_CIF saying why; a CNP buyer is accepted and read", async () => {
    const refused = await api('POST', `/v1/efactura/invoices?cif=${CNP}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: CNP, number: `PFS-${process.pid}` }),
      headers: { 'idempotency-key': `pf-seller-${process.pid}` },
    });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.error.code, 'INVALID_CIF');
    assert.match(refused.json.error.message, /CNP/);

    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    const sent = await api('POST', `/v1/efactura/invoices?cif=${SELLER}&b2c=true`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: CNP, number: `PFB-${process.pid}` }),
      headers: { 'idempotency-key': `pf-buyer-${process.pid}` },
    });
    assert.equal(sent.status, 202, sent.text);
    const done = await finished(stack, sent.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(done.identity.buyerCif, CNP);
  });
});
