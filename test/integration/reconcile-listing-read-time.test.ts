import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callApi } from '../../devkit/api-client';
import { OPERATOR, TENANT_A } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { finished, submissionWhen } from '../../devkit/views';

/**
 * "Not in ANAF's listing" proves a lost upload absent only when the listing was READ after the
 * listing delay, not when its answer happened to reach the workflow after it. Here ANAF files
 * the upload and the answer is lost; the first listing is read at once (before ANAF lists the
 * message) and its answer is held back past the product's listing delay, as a backlogged ANAF
 * queue or a Temporal restart between the read and its completion would. The cluster chaos run
 * found 7 of 1,000 invoices sent twice this way.
 */

const SELLER = '14399840';
const BUYER = '18547290';
const ISSUE_DATE = '2026-11-20';
const UPLOAD = '^/test/FCTEL/rest/upload';
const LISTING = '/test/FCTEL/rest/listaMesajePaginatieFactura';

describe('reconcile: absence proven only by a listing read after the listing delay', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      // ANAF lists a filed message 2 s after it; the product waits 4 s before trusting "not listed".
      sandbox: { efactura: { processingDelayMs: 200, listingDelayMs: 2_000 } },
      configOverrides: { EFACTURA_LISTING_DELAY_SECONDS: '4' },
    });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
  });
  after(async () => {
    await stack?.close();
  });

  test('a listing read before ANAF lists the upload, answered after the delay, leads to another round and the adopted index, not a second upload', async () => {
    const number = `LRT-${process.pid}`;
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    // The first listing is computed when asked (the message not listed yet) and answered 7 s later.
    stack.sandbox.faults.add({ route: LISTING, method: 'GET', times: 1, holdAnswer: 7_000 });
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, issueDate: ISSUE_DATE }),
      headers: { 'idempotency-key': `lrt-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    const view = await finished(stack, res.json.id as string);
    const decisions = view.decisions.map((d) => d.decision);
    assert.equal(
      stack.sandbox.efactura.state.uploadsFor(SELLER, number, ISSUE_DATE),
      1,
      `uploaded once; decisions ${JSON.stringify(view.decisions)}`,
    );
    assert.ok(decisions.includes('ADOPTED_LISTED_INDEX'), JSON.stringify(view.decisions));
    assert.ok(!decisions.includes('REUPLOAD_AFTER_LISTING_DELAY'), JSON.stringify(view.decisions));
    assert.equal(view.outcome, 'ACCEPTED', JSON.stringify(view));
    assert.equal(stack.sandbox.faults.list().filter((r) => r.route === LISTING).length, 0, 'the held listing rule fired');
  });

  test("an operator's REUPLOAD while the listing is read is refused (409 RESOLVE_ACTION_NOT_ALLOWED): it could file the upload twice", async () => {
    const number = `LRT-OP-${process.pid}`;
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    // The listing's answer is held until released: the submission stays RECONCILING meanwhile.
    stack.sandbox.faults.add({ route: LISTING, method: 'GET', times: 1, holdAnswer: true });
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, issueDate: ISSUE_DATE }),
      headers: { 'idempotency-key': `lrt-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    const id = res.json.id as string;
    await submissionWhen(stack, id, (v) => v.stage === 'RECONCILING', 60_000);
    const resolve = (json: unknown) =>
      callApi(stack, OPERATOR.key, 'POST', `/v1/efactura/invoices/${encodeURIComponent(id)}/resolve`, { json });
    const reupload = await resolve({ action: 'REUPLOAD', note: 'in a hurry' });
    assert.equal(reupload.status, 409, reupload.text);
    assert.equal(reupload.json.error.code, 'RESOLVE_ACTION_NOT_ALLOWED', reupload.text);
    assert.equal(stack.sandbox.faults.release(), 1, 'the held listing answer is let go');
    const view = await finished(stack, id);
    assert.equal(view.outcome, 'ACCEPTED', JSON.stringify(view.decisions));
    assert.equal(stack.sandbox.efactura.state.uploadsFor(SELLER, number, ISSUE_DATE), 1);
  });
});
