import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callApi } from '../../devkit/api-client';
import { TENANT_A } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { submissionWhen } from '../../devkit/views';
import { eventually } from '../../devkit/wait';

/**
 * After too many lost answers in a row the product stops re-sending without an operator, but the
 * last upload may be in ANAF's listing all the same (its answer lost after ANAF filed it): it is
 * looked up there first and adopted, and only an absent one waits for an operator. The cluster
 * chaos run left one lifecycle of 1,000 waiting for an operator over an upload ANAF had filed.
 */

const SELLER = '14399840';
const BUYER = '18547290';
const ISSUE_DATE = '2026-11-20';
const UPLOAD = '^/test/FCTEL/rest/upload';

describe('upload: the listing is read before an operator is asked', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      sandbox: { efactura: { processingDelayMs: 200 } },
      configOverrides: { EFACTURA_LISTING_DELAY_SECONDS: '2' },
    });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
  });
  after(async () => {
    await stack?.close();
  });

  test('three answers lost before ANAF took the upload, the fourth after it filed it: adopted from the listing, one upload, no operator', async () => {
    const number = `LIMIT-${process.pid}`;
    // Three 503s from the gateway (nothing filed), each reconciled and proven absent, each re-sent.
    const gateway = stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 3, status: 503, body: 'Service Unavailable' });
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, issueDate: ISSUE_DATE }),
      headers: { 'idempotency-key': `limit-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    // Once the three are spent, the fourth upload is filed and its answer lost.
    await eventually(
      async () => stack.sandbox.faults.list().some((r) => r.id === gateway.id),
      (live) => !live,
      'the three 503s answered',
      60_000,
    );
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    // Ended, or stuck waiting for an operator (what happened before the fix): whichever comes first.
    const view = await submissionWhen(stack, res.json.id as string, (v) => v.outcome !== undefined || v.stage === 'NEEDS_OPERATOR', 90_000);
    assert.deepEqual(
      view.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST'],
      JSON.stringify(view.attempts),
    );
    const decisions = view.decisions.map((d) => d.decision);
    assert.equal(decisions.filter((d) => d === 'REUPLOAD_AFTER_LISTING_DELAY').length, 3, JSON.stringify(view.decisions));
    assert.ok(!decisions.includes('WAITING_FOR_OPERATOR'), JSON.stringify(view.decisions));
    assert.ok(decisions.includes('ADOPTED_LISTED_INDEX'), JSON.stringify(view.decisions));
    assert.equal(view.outcome, 'ACCEPTED');
    assert.equal(stack.sandbox.efactura.state.uploadsFor(SELLER, number, ISSUE_DATE), 1);
  });
});
