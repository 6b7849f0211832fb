import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withCheckDigit } from '../../schemas/cif';
import { OPERATOR, TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished, submissionWhen } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';
import { resolveSignal } from '../../workflows/efactura/definitions';

/**
 * The operator's resolve, end to end: submissions driven to NEEDS_OPERATOR by uploads that
 * keep losing their answer while ANAF's listing (here: an hour late) cannot tell whether
 * they arrived; an operator adopts the right index or abandons. A resolve is refused (409,
 * with a code) whenever the submission is not waiting for one, and nothing of it is kept.
 */

const SELLER = '14399840';
const BUYER = '18547290';
const UNAUTHORIZED_SELLER = withCheckDigit('3456789');
const UPLOAD = '/test/FCTEL/rest/upload';
const STARE = '/test/FCTEL/rest/stareMesaj';
const inPrelucrare =
  '<?xml version="1.0" encoding="UTF-8"?>\n<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="in prelucrare"/>';

describe('e-Factura: operator decisions on stuck submissions', () => {
  let stack: Stack;
  let n = 0;
  const nextNumber = () => `OP-${process.pid}-${++n}`;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) =>
    callApi(stack, TENANT_A.key, method, path, options);
  const submit = async (number: string, cif = SELLER) => {
    const res = await api('POST', `/v1/efactura/invoices?cif=${cif}`, {
      body: ublInvoice({ supplierCif: cif, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `op-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  };
  const resolve = (id: string, json: unknown) =>
    callApi(stack, OPERATOR.key, 'POST', `/v1/efactura/invoices/${encodeURIComponent(id)}/resolve`, { json });
  const uploadsOf = (number: string, cif = SELLER) => stack.sandbox.efactura.state.uploadsFor(cif, number, '2026-11-20');

  before(async () => {
    // Messages appear in ANAF's listing an hour after processing: reconciliation never finds a lost upload.
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 300, listingDelayMs: 3_600_000 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    const org = await api('POST', '/v1/organizations', { json: { cif: UNAUTHORIZED_SELLER, name: 'Not yet authorized' } });
    assert.equal(org.status, 201, org.text);
  });
  after(async () => {
    await stack?.close();
  });

  test('four lost answers in a row wait for an operator: adopting the right index ends ACCEPTED, abandoning ends FAILED', async () => {
    const adopt = nextNumber();
    const abandon = nextNumber();
    // Each upload reaches the sandbox, which files it, then the connection drops: 4 per submission.
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 8, resetAfterReceive: true });
    const [adoptId, abandonId] = await Promise.all([submit(adopt), submit(abandon)]);
    const stuck = (v: { stage: string }) => v.stage === 'NEEDS_OPERATOR';
    const [a, b] = await Promise.all([submissionWhen(stack, adoptId, stuck, 90_000), submissionWhen(stack, abandonId, stuck, 90_000)]);
    for (const v of [a, b]) {
      assert.deepEqual(
        v.attempts.map((x) => x.result),
        ['ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST'],
        JSON.stringify(v),
      );
      assert.equal(v.needsAttention, true);
      assert.equal(v.decisions.filter((d) => d.decision === 'REUPLOAD_AFTER_LISTING_DELAY').length, 3, JSON.stringify(v.decisions));
      assert.equal(v.decisions.at(-1)?.decision, 'WAITING_FOR_OPERATOR');
    }
    assert.equal(uploadsOf(adopt), 4);
    assert.equal(uploadsOf(abandon), 4);
    const view = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(adoptId)}`);
    assert.equal(view.json.stage, 'NEEDS_OPERATOR');
    assert.equal(view.json.needsAttention, true);

    // The operator looks the invoice up at ANAF and adopts its first filing.
    const filed = stack.sandbox.efactura.state.uploads.filter((u) => u.number === adopt);
    assert.equal(filed.length, 4);
    const rightIndex = filed[0]!.index;
    const adopted = await resolve(adoptId, { action: 'ADOPT_INDEX', uploadIndex: rightIndex, note: 'found in SPV' });
    assert.equal(adopted.status, 202, adopted.text);
    const abandoned = await resolve(abandonId, { action: 'ABANDON', note: 'will be issued again' });
    assert.equal(abandoned.status, 202, abandoned.text);

    const [adoptDone, abandonDone] = await Promise.all([finished(stack, adoptId), finished(stack, abandonId)]);
    assert.equal(adoptDone.outcome, 'ACCEPTED', JSON.stringify(adoptDone));
    assert.equal(adoptDone.uploadIndex, rightIndex);
    assert.equal(adoptDone.needsAttention, false);
    assert.ok(
      adoptDone.decisions.some((d) => d.decision === 'OPERATOR_ADOPTED_INDEX' && d.detail.includes(rightIndex)),
      JSON.stringify(adoptDone.decisions),
    );
    assert.equal(abandonDone.outcome, 'FAILED', JSON.stringify(abandonDone));
    assert.deepEqual(abandonDone.errors, ['abandoned by an operator while the upload was uncertain']);
    assert.ok(abandonDone.decisions.some((d) => d.decision === 'OPERATOR_ABANDONED' && d.detail === 'will be issued again'));
    assert.equal(uploadsOf(adopt), 4, 'nothing sent after the operator decided');
    assert.equal(uploadsOf(abandon), 4);

    const late = await resolve(adoptId, { action: 'REUPLOAD' });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.json.error.code, 'SUBMISSION_FINISHED');
  });

  test('an operator REUPLOAD after four lost answers sends exactly once more and ends ACCEPTED, the decision recorded', async () => {
    const number = nextNumber();
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 4, resetAfterReceive: true });
    const id = await submit(number);
    await submissionWhen(stack, id, (v) => v.stage === 'NEEDS_OPERATOR', 90_000);
    assert.equal(uploadsOf(number), 4);

    const reupload = await resolve(id, { action: 'REUPLOAD', note: 'none of the four is in SPV' });
    assert.equal(reupload.status, 202, reupload.text);
    const done = await finished(stack, id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(uploadsOf(number), 5, 'exactly one more upload');
    assert.deepEqual(
      done.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST', 'ACCEPTED'],
    );
    // ANAF knows the invoice from the first lost upload: it answers "duplicate", and the submission follows that filing.
    const firstFiling = stack.sandbox.efactura.state.uploads.find((u) => u.number === number)!.index;
    assert.equal(done.uploadIndex, firstFiling);
    assert.ok(
      done.decisions.some((d) => d.decision === 'LINKED_TO_EARLIER_UPLOAD' && d.detail.includes(firstFiling)),
      JSON.stringify(done.decisions),
    );
    assert.ok(
      done.decisions.some((d) => d.decision === 'OPERATOR_REUPLOAD' && d.detail === 'none of the four is in SPV'),
      JSON.stringify(done.decisions),
    );
    assert.equal(done.needsAttention, false);
  });

  test('resolve is refused (409 with a code) while the submission is not stuck, and nothing of it is kept', async () => {
    const number = nextNumber();
    // Keep it in POLLING: ANAF says "in prelucrare" until the rule is removed.
    stack.sandbox.faults.add({ route: STARE, contentType: 'application/xml', body: inPrelucrare });
    const id = await submit(number);
    await submissionWhen(stack, id, (v) => v.stage === 'POLLING' && v.attempts.length === 1);
    for (const action of [{ action: 'REUPLOAD' }, { action: 'ADOPT_INDEX', uploadIndex: '123' }, { action: 'ABANDON' }]) {
      const refused = await resolve(id, action);
      assert.equal(refused.status, 409, `${action.action}: ${refused.text}`);
      assert.equal(refused.json.error.code, 'SUBMISSION_NOT_STUCK', refused.text);
      assert.match(refused.json.error.message, /POLLING/);
    }
    // The Web UI's and CLI's way: a signal cannot be refused, so the workflow drops it and records why.
    await stack.client.workflow.getHandle(id).signal(resolveSignal, { action: 'REUPLOAD', note: 'sent while polling' });
    await submissionWhen(stack, id, (v) => v.decisions.some((d) => d.decision === 'RESOLVE_SIGNAL_DROPPED'));
    stack.sandbox.faults.clear();
    const done = await finished(stack, id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(done.attempts.length, 1);
    assert.match(
      done.decisions.find((d) => d.decision === 'RESOLVE_SIGNAL_DROPPED')?.detail ?? '',
      /REUPLOAD: sent while polling.*POLLING/,
      JSON.stringify(done.decisions),
    );
    assert.ok(!done.decisions.some((d) => d.decision.startsWith('OPERATOR_')), JSON.stringify(done.decisions));
    assert.equal(uploadsOf(number), 1, 'the refused REUPLOAD was not applied later');
  });

  test('while waiting for an authorization only ABANDON is accepted', async () => {
    const number = nextNumber();
    const id = await submit(number, UNAUTHORIZED_SELLER);
    await submissionWhen(stack, id, (v) => v.stage === 'WAITING_FOR_AUTHORIZATION');
    const refused = await resolve(id, { action: 'REUPLOAD' });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error.code, 'RESOLVE_ACTION_NOT_ALLOWED');
    const accepted = await resolve(id, { action: 'ABANDON' });
    assert.equal(accepted.status, 202, accepted.text);
    const done = await finished(stack, id);
    assert.equal(done.outcome, 'FAILED', JSON.stringify(done));
    assert.equal(uploadsOf(number, UNAUTHORIZED_SELLER), 0);
  });
});
