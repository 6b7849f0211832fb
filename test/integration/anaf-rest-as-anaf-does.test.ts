import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeclarationView } from '../../workflows/etransport/types';
import { resolveSignal } from '../../workflows/etransport/definitions';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished, submissionWhen, declarationWhen } from '../../devkit/views';
import { transportXml } from '../../devkit/fixtures/transport';
import { type Stack, startStack } from '../../devkit/stack';
import { startTimeSkippingServer } from '../../devkit/temporal-env';

/**
 * What ANAF really does with e-Factura and e-Transport, where the sandbox used to agree with the
 * client's assumptions (issue 14): ANAF's technical errors, answers outside ANAF's documented
 * shape, lost answers whose upload ANAF filed late, and lost follow-ups lista never shows.
 * Real Temporal, the sandbox over HTTP; faults answer in ANAF's place with ANAF's own documents.
 */

const CIF = '14399840';
const BUYER = '18547290';
const EFACTURA_UPLOAD = '/test/FCTEL/rest/upload';
const EFACTURA_STATUS = '/test/FCTEL/rest/stareMesaj';
const ETRANSPORT_UPLOAD = `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${CIF}/2`;
/** ANAF's upload spec, example "eroare tehnica" (ExecutionStatus=1). */
const EFACTURA_TECHNICAL_ERROR =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202611241034" ExecutionStatus="1"><Errors errorMessage="A aparut o eroare tehnica. Cod: XXX"/></header>';
const ETRANSPORT_TECHNICAL_ERROR = JSON.stringify({
  dateResponse: '202611241034',
  ExecutionStatus: 1,
  Errors: [{ errorMessage: 'A aparut o eroare tehnica. Cod: XXX' }],
});

const active = (v: DeclarationView) => v.outcome === 'ACCEPTED' && v.stage === 'ACTIVE';

describe("ANAF's technical error at upload: not accepted, sent again after a delay (time-skipping)", () => {
  let env: TestWorkflowEnvironment;
  let stack: Stack;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) =>
    callApi(stack, TENANT_A.key, method, path, options);

  before(async () => {
    env = await startTimeSkippingServer();
    stack = await startStack({ env, sandbox: { efactura: { processingDelayMs: 0 }, etransport: { processingDelayMs: 0 } } });
    await authorizeOrganization(stack, TENANT_A.key, CIF);
    await authorizeOrganization(stack, TENANT_A.key, CIF, 'ETRANSPORT');
  });
  after(async () => {
    await stack?.close();
    await env?.teardown();
  });

  test('e-Factura: "A aparut o eroare tehnica" twice, then accepted; each retry in decisions, one invoice filed', async () => {
    const number = `TECH-${process.pid}`;
    stack.sandbox.faults.add({
      route: EFACTURA_UPLOAD,
      method: 'POST',
      times: 2,
      status: 200,
      contentType: 'application/xml',
      body: EFACTURA_TECHNICAL_ERROR,
    });
    const res = await api('POST', `/v1/efactura/invoices?cif=${CIF}`, {
      body: ublInvoice({ supplierCif: CIF, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `tech-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.deepEqual(
      done.attempts.map((a) => a.result),
      ['TECHNICAL_ERROR', 'TECHNICAL_ERROR', 'ACCEPTED'],
    );
    const retries = done.decisions.filter((d) => d.decision === 'TECHNICAL_ERROR_RETRY');
    assert.equal(retries.length, 2, JSON.stringify(done.decisions));
    assert.match(retries[0]!.detail, /A aparut o eroare tehnica/);
    assert.equal(stack.sandbox.efactura.state.uploadsFor(CIF, number, '2026-11-20'), 1);
  });

  test('e-Transport: "A aparut o eroare tehnica" once, then accepted and the UIT is ours; one notification filed', async () => {
    const ref = `ETR-TECH-${process.pid}`;
    stack.sandbox.faults.add({
      route: ETRANSPORT_UPLOAD,
      method: 'POST',
      times: 1,
      status: 200,
      contentType: 'application/json',
      body: ETRANSPORT_TECHNICAL_ERROR,
    });
    const date = new Date(await env.currentTimeMs()).toISOString().slice(0, 10);
    const res = await api('POST', `/v1/etransport/declarations?cif=${CIF}`, {
      body: transportXml({ declarantCif: CIF, ref, date }),
      headers: { 'idempotency-key': `tech-${ref}` },
    });
    assert.equal(res.status, 202, res.text);
    // The re-send waits a minute of workflow time: skip it, then wait for the outcome (with a deadline).
    const retrying = await declarationWhen(
      stack.client,
      res.json.id,
      (v) => v.decisions.some((d) => d.decision === 'TECHNICAL_ERROR_RETRY') || v.stage === 'DONE',
    );
    assert.notEqual(retrying.stage, 'DONE', JSON.stringify(retrying));
    await env.sleep(10 * 60_000);
    const view = await declarationWhen(stack.client, res.json.id, (v) => active(v) || v.stage === 'DONE');
    assert.ok(active(view), JSON.stringify(view));
    assert.deepEqual(
      view.operations[0]!.attempts.map((a) => a.result),
      ['TECHNICAL_ERROR', 'ACCEPTED'],
    );
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1);
  });
});

describe('e-Factura and e-Transport against what ANAF really answers', () => {
  let stack: Stack;
  let n = 0;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) =>
    callApi(stack, TENANT_A.key, method, path, options);
  const declare = (ref: string) =>
    api('POST', `/v1/etransport/declarations?cif=${CIF}`, {
      body: transportXml({ declarantCif: CIF, ref }),
      headers: { 'idempotency-key': `real-${ref}` },
    });

  before(async () => {
    // ANAF lists an e-Transport upload a while after processing it (the sandbox: 1.5 s; ours waits 3 s).
    stack = await startStack({
      sandbox: { efactura: { processingDelayMs: 200 }, etransport: { processingDelayMs: 200, listingDelayMs: 1_500 } },
    });
    await authorizeOrganization(stack, TENANT_A.key, CIF);
    await authorizeOrganization(stack, TENANT_A.key, CIF, 'ETRANSPORT');
  });
  after(async () => {
    await stack?.close();
  });

  test('validation and PDF go to /prod whatever the environment (ANAF serves them there only); the sandbox refuses /test as ANAF does', async () => {
    const invoice = ublInvoice({ supplierCif: CIF, buyerCif: BUYER, number: `VAL-${process.pid}` });
    // The product is configured for ANAF's /test (the sandbox's, like ANAF's, has no validare or transformare there).
    const valid = await api('POST', `/v1/efactura/validate?cif=${CIF}&standard=FACT1`, { body: invoice });
    assert.equal(valid.status, 200, valid.text);
    assert.equal(valid.json.valid, true);
    const pdf = await api('POST', `/v1/efactura/pdf?cif=${CIF}`, { body: invoice });
    assert.equal(pdf.status, 200, pdf.text);
  });

  test("stareMesaj names an id_descarcare that is not a number: to an operator with ANAF's text, no retry loop, nothing downloaded", async () => {
    const number = `ODDID-${process.pid}-${++n}`;
    const odd = '3000/../12A';
    stack.sandbox.faults.add({
      route: EFACTURA_STATUS,
      method: 'GET',
      status: 200,
      contentType: 'application/xml',
      body: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="ok" id_descarcare="${odd}"/>`,
    });
    try {
      const res = await api('POST', `/v1/efactura/invoices?cif=${CIF}`, {
        body: ublInvoice({ supplierCif: CIF, buyerCif: BUYER, number }),
        headers: { 'idempotency-key': `odd-${number}` },
      });
      const stuck = await submissionWhen(stack, res.json.id, (v) => v.stage === 'NEEDS_OPERATOR' || v.stage === 'DONE');
      assert.equal(stuck.stage, 'NEEDS_OPERATOR', JSON.stringify(stuck));
      assert.equal(stuck.needsAttention, true);
      assert.match(stuck.attentionReason ?? '', /outside its documented shape/);
      assert.ok((stuck.attentionReason ?? '').includes(`id_descarcare="${odd}"`), `ANAF's text is shown: ${stuck.attentionReason}`);
      assert.equal(stuck.downloadId, undefined, 'the odd id went no further');
      assert.equal(stuck.statusChecks, 1, 'asked once: the same question gets the same answer');
    } finally {
      stack.sandbox.faults.clear();
    }
  });

  test("e-Transport: an upload answer outside ANAF's shape (a UIT that is no UIT) is reconciled like a lost one, never taken as accepted", async () => {
    const ref = `ETR-ODD-${process.pid}-${++n}`;
    // Answered in ANAF's place (never processed): lista cannot show it, so one re-send after the listing delay.
    stack.sandbox.faults.add({
      route: ETRANSPORT_UPLOAD,
      method: 'POST',
      times: 1,
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ ExecutionStatus: 0, index_incarcare: '5001', UIT: 'not a uit!' }),
    });
    const res = await declare(ref);
    const view = await declarationWhen(stack.client, res.json.id, (v) => active(v) || v.stage === 'DONE' || v.stage === 'NEEDS_OPERATOR');
    assert.ok(active(view), JSON.stringify(view));
    assert.deepEqual(
      view.operations[0]!.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ACCEPTED'],
    );
    assert.match(view.operations[0]!.attempts[0]!.error ?? '', /not a uit!/);
    assert.ok(
      view.decisions.some((d) => d.decision === 'REUPLOAD_AFTER_LISTING_DELAY'),
      JSON.stringify(view.decisions),
    );
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1);
  });

  test('e-Transport: the answer is lost after the listing delay had already passed since the attempt: the delay counts from the loss, found, not filed twice', async () => {
    const ref = `ETR-LATE-${process.pid}-${++n}`;
    // ANAF takes 4 s to file it (more than our 3 s listing delay), then the answer is lost.
    stack.sandbox.faults.add({ route: ETRANSPORT_UPLOAD, method: 'POST', times: 1, latencyMs: 4_000, resetAfterReceive: true });
    const res = await declare(ref);
    const view = await declarationWhen(stack.client, res.json.id, (v) => active(v) || v.stage === 'DONE', 60_000);
    assert.ok(active(view), JSON.stringify(view));
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1, 'filed once');
    assert.ok(
      view.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX'),
      JSON.stringify(view.decisions),
    );
  });

  test('e-Transport: a deletion whose answer is lost is never sent again blindly (lista never shows a valid deletion): an operator decides', async () => {
    const ref = `ETR-DEL-${process.pid}-${++n}`;
    const res = await declare(ref);
    const id = res.json.id as string;
    const { uit } = await declarationWhen(stack.client, id, active);
    stack.sandbox.faults.add({ route: ETRANSPORT_UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    const del = await api('POST', `/v1/etransport/declarations/${encodeURIComponent(id)}/operations`, {
      json: { type: 'DELETION' },
      headers: { 'idempotency-key': `del-${ref}` },
    });
    assert.equal(del.status, 202, del.text);
    const stuck = await declarationWhen(
      stack.client,
      id,
      (v) => v.stage === 'NEEDS_OPERATOR' || v.stage === 'DONE' || v.operations[1]?.stage === 'DONE',
      60_000,
    );
    assert.equal(stuck.stage, 'NEEDS_OPERATOR', JSON.stringify(stuck));
    assert.match(stuck.attentionReason ?? '', /never shows a valid deletion/);
    assert.equal(stack.sandbox.etransport.state.followUpUploads(uit!, 'DEL'), 1, 'the deletion went to ANAF once');
    assert.ok(!stuck.decisions.some((d) => d.decision === 'REUPLOAD_AFTER_LISTING_DELAY'), JSON.stringify(stuck.decisions));
    // The operator checked ANAF's application: the UIT is deleted; the declaration goes on with that.
    await stack.client.workflow.getHandle(id).signal(resolveSignal, { action: 'ABANDON', note: 'checked in ANAF: deleted' });
    const after = await declarationWhen(stack.client, id, (v) => v.operations[1]?.stage === 'DONE');
    assert.equal(after.operations[1]!.outcome, 'FAILED');
    assert.ok(
      after.decisions.some((d) => d.decision === 'OPERATOR_ABANDONED'),
      JSON.stringify(after.decisions),
    );
    assert.equal(stack.sandbox.etransport.state.followUpUploads(uit!, 'DEL'), 1, 'still once');
  });
});
