import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { strFromU8, unzipSync } from 'fflate';
import { SIGNATURE_HEADER } from '../../activities/webhooks';
import { WebhookSecretStore } from '../../lib/webhooks/webhook-secrets';
import { withCheckDigit } from '../../schemas/cif';
import { TENANT_A, TENANT_B, TEST_WEBHOOK_SECRET } from '../../devkit/config';
import { submissionWorkflowId } from '../../workflows/efactura/types';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished, submissionWhen } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { tasksWritingTwice, webUiRecord } from '../../devkit/history';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * e-Factura submissions end to end: the API, both workers and a real Temporal dev server,
 * against the ANAF sandbox over HTTP. The sandbox counts uploads per invoice, which is how
 * "never a duplicate upload" is checked.
 */

const SELLER = '14399840';
const BUYER = '18547290';
const UNAUTHORIZED_SELLER = withCheckDigit('2345678');

describe('e-Factura submissions through the API', () => {
  let stack: Stack;
  let n = 0;
  const nextNumber = () => `AF-${process.pid}-${++n}`;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4], key = TENANT_A.key) =>
    callApi(stack, key, method, path, options);
  const submitXml = (key: string, xml: string, query = `cif=${SELLER}`, extraHeaders: Record<string, string> = {}) =>
    api('POST', `/v1/efactura/invoices?${query}`, { body: xml, headers: { 'idempotency-key': key, ...extraHeaders } });
  const uploadsOf = (number: string) => stack.sandbox.efactura.state.uploadsFor(SELLER, number, '2026-11-20');

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 300 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    const org = await api('POST', '/v1/organizations', { json: { cif: UNAUTHORIZED_SELLER, name: 'Not yet authorized' } });
    assert.equal(org.status, 201, org.text);
  });

  after(async () => {
    await stack?.close();
  });

  test('accepted: upload → stareMesaj → descarcare, signed copy stored and served', async () => {
    const number = nextNumber();
    const xml = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number });
    const res = await submitXml(`ok-${number}`, xml);
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.id, `acme/efactura/ok-${number}`);
    assert.equal(res.headers.location, res.json.statusUrl);

    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.match(done.uploadIndex ?? '', /^\d+$/);
    assert.equal(uploadsOf(number), 1);

    const view = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}`);
    assert.equal(view.status, 200, view.text);
    assert.equal(view.json.stage, 'DONE');
    assert.equal(view.json.outcome, 'ACCEPTED');
    assert.equal(view.json.anafState, 'ok');
    assert.deepEqual(view.json.invoice, { supplierCif: SELLER, buyerCif: BUYER, number, issueDate: '2026-11-20' });
    assert.equal(view.json.attempts.length, 1);
    assert.ok(view.json.statusChecks >= 1);

    const zip = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}/zip`);
    assert.equal(zip.status, 200);
    const files = unzipSync(new Uint8Array(zip.body));
    assert.deepEqual(Object.keys(files).sort(), [`${done.uploadIndex}.xml`, `semnatura_${done.uploadIndex}.xml`]);
    const filed = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}/invoice.xml`);
    assert.equal(filed.text, xml);
    assert.equal(strFromU8(files[`${done.uploadIndex}.xml`]!), xml);
    const signature = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}/signature.xml`);
    assert.match(signature.text, /<ds:Signature/);
  });

  test('search attributes and memo: final values for the Web UI, written at most once per workflow task', async () => {
    const number = nextNumber();
    const res = await submitXml(`sa-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    assert.equal(res.status, 202, res.text);
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED');

    const { attributes, summary, writes } = await webUiRecord(stack.client, res.json.id);
    assert.deepEqual(attributes, {
      tenant: TENANT_A.tenant,
      service: 'efactura',
      cif: SELLER,
      stage: 'DONE',
      outcome: 'ACCEPTED',
      uploadIndex: done.uploadIndex,
    });
    assert.equal(summary, `e-Factura UBL for CIF ${SELLER}: ACCEPTED (index ${done.uploadIndex})`);

    // Each workflow task writes its changes in one upsert and one memo command, and none of what the API already set.
    assert.deepEqual(tasksWritingTwice(writes), [], 'workflow tasks with more than one upsert or memo write');
    assert.deepEqual(writes.find((w) => w.kind === 'upsert')?.keys, ['AnafStage']);
  });

  test('rejected by ANAF validation (nok): typed errors from the error file', async () => {
    const number = nextNumber();
    const res = await submitXml(`nok-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, note: 'SANDBOX:NOK' }));
    assert.equal(res.status, 202, res.text);
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'REJECTED');
    assert.equal(done.anafState, 'nok');
    const errors = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}/errors`);
    assert.equal(errors.json.outcome, 'REJECTED');
    assert.ok(
      errors.json.errors.some((e: string) => e.includes('BR-RO-999')),
      errors.text,
    );
  });

  test('"XML cu erori nepreluat de sistem" ends as REJECTED with ANAF\'s words', async () => {
    const number = nextNumber();
    const res = await submitXml(
      `xmlerr-${number}`,
      ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, note: 'SANDBOX:XML_ERRORS' }),
    );
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'REJECTED');
    assert.deepEqual(done.errors, ['ANAF: XML cu erori nepreluat de sistem']);
  });

  test("rejected at upload (ExecutionStatus=1): REJECTED_AT_UPLOAD with ANAF's messages", async () => {
    const number = nextNumber();
    stack.sandbox.faults.add({
      route: '/test/FCTEL/rest/upload',
      method: 'POST',
      times: 1,
      contentType: 'application/xml',
      body: '<?xml version="1.0" encoding="UTF-8"?><header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202611241200" ExecutionStatus="1"><Errors errorMessage="Nu aveti drept in SPV pentru CIF=14399840"/></header>',
    });
    const res = await submitXml(`upl-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'REJECTED_AT_UPLOAD');
    assert.deepEqual(done.errors, ['Nu aveti drept in SPV pentru CIF=14399840']);
    assert.equal(uploadsOf(number), 0);
  });

  test('the answer is lost after ANAF took the upload: reconciled to the right index, never uploaded twice', async () => {
    const number = nextNumber();
    stack.sandbox.faults.add({ route: '/test/FCTEL/rest/upload', method: 'POST', times: 1, resetAfterReceive: true });
    // Another invoice of the same seller in the same window: reconciliation must tell them apart.
    const other = await submitXml(`other-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: `${number}-other` }));
    assert.equal(other.status, 202);
    const res = await submitXml(`lost-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    const [done, otherDone] = await Promise.all([finished(stack, res.json.id), finished(stack, other.json.id)]);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(otherDone.outcome, 'ACCEPTED');
    // One of the two lost its answer (whichever hit the fault first); each went to ANAF exactly once.
    assert.equal(uploadsOf(number), 1);
    assert.equal(uploadsOf(`${number}-other`), 1);
    const lost = [done, otherDone].find((d) => d.attempts.some((a) => a.result === 'ANSWER_LOST'));
    assert.ok(lost, 'one submission lost its answer');
    assert.ok(
      lost.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX'),
      JSON.stringify(lost.decisions),
    );
    assert.equal(
      stack.sandbox.efactura.state.upload(lost.uploadIndex!)?.number,
      lost.identity.number,
      'adopted the index of its own invoice',
    );
    assert.notEqual(done.uploadIndex, otherDone.uploadIndex);
  });

  test('the answer is lost and the listed archive arrives truncated: compared again, adopted, never uploaded twice', async () => {
    const number = nextNumber();
    stack.sandbox.faults.add({ route: '/test/FCTEL/rest/upload', method: 'POST', times: 1, resetAfterReceive: true });
    // The first download of this invoice's message is cut short: the reconciler's.
    const res = await submitXml(
      `lost-cut-${number}`,
      ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, note: 'SANDBOX:ZIP_TRUNCATED' }),
    );
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(uploadsOf(number), 1);
    assert.ok(
      done.attempts.some((a) => a.result === 'ANSWER_LOST'),
      JSON.stringify(done.attempts),
    );
    assert.ok(
      done.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX'),
      JSON.stringify(done.decisions),
    );
  });

  test('submissions reconciling at once share the archives they compare: no message is downloaded twice', async () => {
    const number = nextNumber();
    const earlier = await Promise.all(
      [1, 2, 3].map((i) =>
        submitXml(`shared-${number}-${i}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: `${number}-${i}` })),
      ),
    );
    await Promise.all(earlier.map((r) => finished(stack, r.json.id)));
    stack.sandbox.faults.add({ route: '/test/FCTEL/rest/upload', method: 'POST', times: 3, resetAfterReceive: true });
    const lost = await Promise.all(
      [4, 5, 6].map((i) =>
        submitXml(`shared-${number}-${i}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: `${number}-${i}` })),
      ),
    );
    const views = await Promise.all(lost.map((r) => finished(stack, r.json.id)));
    for (const v of views) {
      assert.equal(v.outcome, 'ACCEPTED', JSON.stringify(v));
      assert.ok(
        v.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX'),
        JSON.stringify(v.decisions),
      );
    }
    for (let i = 1; i <= 6; i++) assert.equal(uploadsOf(`${number}-${i}`), 1);
    // Three reconcilers compared up to five candidates each and every submission downloaded its own
    // answer, yet ANAF's per-message quota (10 a day) was touched once per message.
    const state = stack.sandbox.efactura.state;
    const ids = state.uploads.filter((u) => u.number?.startsWith(`${number}-`)).map((u) => u.downloadId!);
    assert.equal(ids.length, 6);
    for (const id of ids) assert.equal(state.dailyUsed('descarcare', `test|${id}`), 1, `downloads of ${id}`);
  });

  test('a 500 on upload (never processed): nothing listed after the listing delay, then one re-upload', async () => {
    const number = nextNumber();
    stack.sandbox.faults.add({ route: '/test/FCTEL/rest/upload', method: 'POST', times: 1, status: 500, body: 'Internal Server Error' });
    const res = await submitXml(`srv-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.deepEqual(
      done.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ACCEPTED'],
    );
    assert.ok(done.decisions.some((d) => d.decision === 'REUPLOAD_AFTER_LISTING_DELAY'));
    assert.equal(uploadsOf(number), 1);
  });

  test('an unreadable answer to the upload is treated as lost: reconciled before any re-send, sent once', async () => {
    const number = nextNumber();
    // 200 with a body that is neither ANAF's XML nor a gateway page: EfacturaInvalidAnswer in the client.
    stack.sandbox.faults.add({
      route: '/test/FCTEL/rest/upload',
      method: 'POST',
      times: 1,
      status: 200,
      contentType: 'text/plain',
      body: 'garbage',
    });
    const res = await submitXml(`garbled-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.deepEqual(
      done.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ACCEPTED'],
    );
    assert.match(done.attempts[0]!.error ?? '', /e-Factura upload/);
    // The fault answered in ANAF's place, so the listing could not show it: one re-send, after the listing delay.
    assert.deepEqual(
      done.decisions.map((d) => d.decision),
      ['REUPLOAD_AFTER_LISTING_DELAY'],
      JSON.stringify(done.decisions),
    );
    assert.equal(uploadsOf(number), 1);
  });

  test('a ZIP bomb served by descarcare: a typed failure, no crash, no hang, no second upload', async () => {
    const number = nextNumber();
    const res = await submitXml(`bomb-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, note: 'SANDBOX:ZIP_BOMB' }));
    assert.equal(res.status, 202, res.text);
    const downloadsBefore = stack.sandbox.efactura.state.counters.downloads;
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'FAILED', JSON.stringify(done));
    assert.equal(done.errors.length, 1, JSON.stringify(done.errors));
    assert.match(done.errors[0]!, /could not download ANAF's answer \d+: .*compresses \d+:1; refused/);
    assert.equal(done.files.zip, undefined, 'the bomb is not stored');
    assert.equal(done.attempts.length, 1);
    assert.equal(uploadsOf(number), 1);
    assert.equal(stack.sandbox.efactura.state.counters.downloads - downloadsBefore, 1, 'a bomb is not downloaded again');
  });

  test('a truncated answer archive is downloaded again and read', async () => {
    const number = nextNumber();
    const res = await submitXml(
      `cut-${number}`,
      ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, note: 'SANDBOX:ZIP_TRUNCATED' }),
    );
    const downloadsBefore = stack.sandbox.efactura.state.counters.downloads;
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(stack.sandbox.efactura.state.counters.downloads - downloadsBefore, 2, 'the cut transfer, then the whole archive');
    assert.equal(uploadsOf(number), 1);
  });

  test('429 on upload: waited out and sent once', async () => {
    const number = nextNumber();
    stack.sandbox.faults.add({ route: '/test/FCTEL/rest/upload', method: 'POST', burst429: 2, retryAfterSeconds: 1 });
    const res = await submitXml(`rl-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED');
    // Each 429 is shown (a NOT_SENT attempt and a SAFE_RETRY decision), but is not an attempt that reached ANAF.
    assert.deepEqual(
      done.attempts.map((a) => a.result),
      ['NOT_SENT', 'NOT_SENT', 'ACCEPTED'],
      'a 429 is not an attempt that reached ANAF',
    );
    assert.equal(done.decisions.filter((d) => d.decision === 'SAFE_RETRY').length, 2, JSON.stringify(done.decisions));
    assert.equal(uploadsOf(number), 1);
  });

  test("ANAF's duplicate answer links to the earlier upload", async () => {
    const number = nextNumber();
    const xml = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number });
    const first = await finished(stack, (await submitXml(`dup1-${number}`, xml)).json.id);
    assert.equal(first.outcome, 'ACCEPTED');
    const second = await finished(stack, (await submitXml(`dup2-${number}`, xml)).json.id);
    assert.equal(second.outcome, 'ACCEPTED', JSON.stringify(second));
    assert.equal(second.uploadIndex, first.uploadIndex, 'the result is the earlier upload’s');
    assert.ok(second.duplicateUploadIndex && second.duplicateUploadIndex !== first.uploadIndex);
    assert.ok(second.decisions.some((d) => d.decision === 'LINKED_TO_EARLIER_UPLOAD'));
  });

  test('idempotency: same key and body → same submission; same key, other body → 409', async () => {
    const number = nextNumber();
    const xml = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number });
    const a = await submitXml(`idem-${number}`, xml);
    const b = await submitXml(`idem-${number}`, xml);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(b.json.id, a.json.id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const c = await submitXml(`idem-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: `${number}-changed` }));
    assert.equal(c.status, 409);
    assert.equal(c.json.error.code, 'IDEMPOTENCY_KEY_REUSED');
    await finished(stack, a.json.id);
    const afterDone = await submitXml(`idem-${number}`, xml);
    assert.equal(afterDone.status, 202, 'a finished submission is reported, not restarted');
    assert.equal(uploadsOf(number), 1);
  });

  test('JSON body works like raw XML', async () => {
    const number = nextNumber();
    const res = await api('POST', '/v1/efactura/invoices', {
      json: { cif: `RO${SELLER}`, standard: 'UBL', xml: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }) },
      headers: { 'idempotency-key': `json-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal((await finished(stack, res.json.id)).outcome, 'ACCEPTED');
  });

  test('bad input: precise 400 codes before anything is stored or sent', async () => {
    const good = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: 'X-1' });
    const cases: Array<[string, Promise<Awaited<ReturnType<typeof api>>>, number, string]> = [
      ['malformed XML', submitXml('bad-1', '<Invoice><cbc:ID>1</Invoice>'), 400, 'XML_NOT_WELL_FORMED'],
      ['wrong standard', submitXml('bad-2', good, `cif=${SELLER}&standard=CN`), 400, 'XML_WRONG_ROOT'],
      [
        'DOCTYPE (XXE)',
        submitXml(
          'bad-3',
          `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${good.split('\n').slice(1).join('\n')}`,
        ),
        400,
        'XML_DOCTYPE_FORBIDDEN',
      ],
      ['bad CIF', submitXml('bad-4', good, 'cif=14399841'), 400, 'INVALID_CIF'],
      [
        'bad CIF in JSON',
        api('POST', '/v1/efactura/invoices', { json: { cif: 'RO14399841', xml: good }, headers: { 'idempotency-key': 'bad-11' } }),
        400,
        'INVALID_CIF',
      ],
      ['CIF that is no number', submitXml('bad-12', good, 'cif=ABC'), 400, 'INVALID_CIF'],
      ['missing CIF', submitXml('bad-5', good, ''), 400, 'VALIDATION_FAILED'],
      ['unknown standard', submitXml('bad-6', good, `cif=${SELLER}&standard=XYZ`), 400, 'VALIDATION_FAILED'],
      [
        'oversize',
        submitXml('bad-7', good.replace('</Invoice>', `<!--${'x'.repeat(10 * 1024 * 1024)}--></Invoice>`)),
        400,
        'INVOICE_TOO_LARGE',
      ],
      ['no Idempotency-Key', api('POST', `/v1/efactura/invoices?cif=${SELLER}`, { body: good }), 400, 'VALIDATION_FAILED'],
      ['unregistered organization', submitXml('bad-8', good, `cif=${withCheckDigit('7777777')}`), 404, 'ORGANIZATION_NOT_FOUND'],
      [
        'private callbackUrl is checked for form',
        submitXml('bad-9', good, `cif=${SELLER}&callbackUrl=ftp://x`),
        400,
        'INVALID_CALLBACK_URL',
      ],
      [
        'unsupported content type',
        api('POST', `/v1/efactura/invoices?cif=${SELLER}`, {
          body: good,
          contentType: 'image/png',
          headers: { 'idempotency-key': 'bad-10' },
        }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      assert.equal(res.status, status, `${name}: ${res.text.slice(0, 300)}`);
      assert.equal(res.json?.error?.code, code, `${name}: ${res.text.slice(0, 300)}`);
    }
    const badCif = await submitXml('bad-13', good, 'cif=14399841');
    assert.match(badCif.json.error.message, /check digit.*should be 0, not 1/, 'the message says what is wrong with it');
    // No bad request started a workflow: asked by id (strongly consistent), not through the listing.
    for (let i = 1; i <= 13; i++) {
      const id = submissionWorkflowId(TENANT_A.tenant, `bad-${i}`);
      await assert.rejects(stack.client.workflow.getHandle(id).describe(), WorkflowNotFoundError, `${id} exists`);
    }
  });

  test('waiting for authorization; DELETE cancels it before any upload; DELETE after the upload is 409', async () => {
    const number = nextNumber();
    const res = await submitXml(
      `wait-${number}`,
      ublInvoice({ supplierCif: UNAUTHORIZED_SELLER, buyerCif: BUYER, number }),
      `cif=${UNAUTHORIZED_SELLER}`,
    );
    assert.equal(res.status, 202, res.text);
    // The workflow says when it is waiting; no guessing with sleeps.
    await submissionWhen(stack, res.json.id, (v) => v.stage === 'WAITING_FOR_AUTHORIZATION', 20_000);
    const waiting = await api('GET', `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}`);
    assert.equal(waiting.json.stage, 'WAITING_FOR_AUTHORIZATION');
    assert.equal(waiting.json.needsAttention, true);
    const cancelled = await api('DELETE', `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}`);
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.json.outcome, 'CANCELLED');
    assert.equal(stack.sandbox.efactura.state.uploadsFor(UNAUTHORIZED_SELLER, number, '2026-11-20'), 0);

    const sent = await submitXml(`sent-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    await finished(stack, sent.json.id);
    const late = await api('DELETE', `/v1/efactura/invoices/${encodeURIComponent(sent.json.id)}`);
    assert.equal(late.status, 409);
    assert.equal(late.json.error.code, 'TOO_LATE_TO_CANCEL');
  });

  test('webhook: HMAC-signed POST to callbackUrl when the submission ends', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    let first = true;
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        // The first delivery fails: the workflow must retry it.
        if (first) {
          first = false;
          res.writeHead(503).end();
          return;
        }
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/anaf`;
      const number = nextNumber();
      const res = await submitXml(
        `hook-${number}`,
        ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }),
        `cif=${SELLER}&callbackUrl=${encodeURIComponent(url)}`,
      );
      const done = await finished(stack, res.json.id);
      assert.equal(done.webhook?.state, 'DELIVERED');
      assert.equal(received.length, 1);
      const { headers, body } = received[0]!;
      const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers[SIGNATURE_HEADER]));
      assert.ok(sig, String(headers[SIGNATURE_HEADER]));
      // Signed with the tenant's own secret, derived from WEBHOOK_SECRET (lib/webhooks/webhook-secrets.ts), never the master itself.
      const tenantSecret = new WebhookSecretStore(stack.config.dataDir, TEST_WEBHOOK_SECRET, 0).signingKeys(TENANT_A.tenant)[0]!.secret;
      assert.equal(sig[2], createHmac('sha256', tenantSecret).update(`${sig[1]}.${body}`).digest('hex'));
      const payload = JSON.parse(body);
      assert.equal(payload.event, 'efactura.submission.finished');
      assert.equal(payload.data.outcome, 'ACCEPTED');
      assert.equal(payload.data.uploadIndex, done.uploadIndex);
    } finally {
      receiver.close();
    }
  });

  test('listing by CIF and outcome; another tenant sees nothing of it', async () => {
    const number = nextNumber();
    const res = await submitXml(`list-${number}`, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }));
    const done = await finished(stack, res.json.id);
    // Visibility is eventually consistent: ask until the finished submission is indexed.
    const listed = (l: Awaited<ReturnType<typeof api>>) =>
      l.status === 200 &&
      l.json.items.find((i: { id: string; uploadIndex?: string }) => i.id === res.json.id && i.uploadIndex === done.uploadIndex);
    const list = await eventually(
      () => api('GET', `/v1/efactura/invoices?cif=${SELLER}&outcome=ACCEPTED&limit=200`),
      listed,
      'listed by CIF and outcome',
    );
    assert.equal(list.json.items.find((i: { id: string }) => i.id === res.json.id).uploadIndex, done.uploadIndex);
    const byIndex = await eventually(
      () => api('GET', `/v1/efactura/invoices?uploadIndex=${done.uploadIndex}`),
      (l) => l.json?.items?.length >= 1,
      'listed by upload index',
    );
    assert.deepEqual(
      byIndex.json.items.map((i: { id: string }) => i.id),
      [res.json.id],
    );

    const path = `/v1/efactura/invoices/${encodeURIComponent(res.json.id)}`;
    for (const suffix of ['', '/zip', '/invoice.xml', '/errors']) {
      assert.equal((await api('GET', `${path}${suffix}`, undefined, TENANT_B.key)).status, 404, `B reads ${suffix || 'the submission'}`);
    }
    assert.equal((await api('DELETE', path, undefined, TENANT_B.key)).status, 404);
    // Resolve is an operator's route: a tenant key is refused before any case is looked at.
    assert.equal((await api('POST', `${path}/resolve`, { json: { action: 'ABANDON' } }, TENANT_B.key)).status, 403);
    const bList = await api('GET', '/v1/efactura/invoices', undefined, TENANT_B.key);
    assert.deepEqual(bList.json.items, []);
  });
});
