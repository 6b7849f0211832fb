import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { banciwsMessageQuery } from '../../workflows/banciws/definitions';
import type { BanciwsMessageView } from '../../workflows/banciws/types';
import { api } from '../../devkit/api-client';
import { banciwsStackConfig, testSignedPdf } from '../../devkit/fixtures/banciws';
import { OPERATOR, TENANT_A } from '../../devkit/config';
import { type Stack, startStack } from '../../devkit/stack';
import { viewWhen } from '../../devkit/views';
import { withCheckDigit } from '../../schemas/cif';
import { banciwsUndatedReceipts } from '../../lib/observability/metrics';

/**
 * A BANCIWS upload whose answer was lost, reconciled on what ANAF's listaMesaje really gives:
 * id_portal, cui_banca, Tip_fisier, denumire, Index_incarcare, Data_mesaj — no digest of the
 * document. Uploads of an institution take turns, so the one receipt since the attempt naming
 * an index no other report of ours owns is ours; several such receipts go to an operator. Each
 * test has its own institution (its own receipts, its own turns).
 */

const UPLOAD = '/BANCIWS/rest/uploadMesaj';
const BUSY = { id: 'banca-ocupata', cui: '361820' };
const PORTAL = { id: 'banca-portal', cui: '18547290' };
const LATE = { id: 'banca-tarzie', cui: '14399840' };
const UNDATED = { id: 'banca-fara-data', cui: withCheckDigit('2468024') };
/** The product's BANCIWS_LISTING_DELAY_SECONDS here. */
const LISTING_DELAY_S = 4;

describe('BANCIWS: a lost upload answer is reconciled on the receipts ANAF lists', { timeout: 240_000 }, () => {
  let stack: Stack;
  let n = 0;

  before(async () => {
    const institutions = banciwsStackConfig(
      [BUSY, PORTAL, LATE, UNDATED].map((i) => ({ ...i, tenant: TENANT_A.tenant, pollEveryMinutes: 0 })),
    );
    stack = await startStack({
      sandbox: { banciws: { tlsPort: 0, processingDelayMs: 300 } },
      configFromSandbox: async (sandbox) => ({ ...(await institutions(sandbox)), BANCIWS_LISTING_DELAY_SECONDS: String(LISTING_DELAY_S) }),
    });
  });
  after(async () => {
    await stack?.close();
  });

  const service = () => stack.sandbox.banciws!.service;
  const submit = async (institution: string, title: string) => {
    const res = await api(stack.apiUrl, TENANT_A.key, 'POST', '/v1/banciws/messages', {
      json: { pdf: testSignedPdf(title).toString('base64'), institution },
      headers: { 'idempotency-key': `receipt-${process.pid}-${++n}` },
    });
    assert.equal(res.status, 202, res.body.toString());
    return res.json.id as string;
  };
  const result = async (id: string) => (await stack.client.workflow.getHandle(id).result()) as BanciwsMessageView;
  const uploadsOf = (sha256: string) => [...service().uploads.values()].filter((u) => u.sha256 === sha256);
  const undatedSeen = async (institution: string) =>
    (await banciwsUndatedReceipts.get()).values.find((v) => v.labels.institution === institution)?.value ?? 0;

  test('three reports of one institution at once, the first answer lost after ANAF filed it: each uploaded once, the lost one adopts its own receipt', async () => {
    const before = service().counters.uploads;
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    const ids = await Promise.all([1, 2, 3].map((i) => submit(BUSY.id, `Raport simultan ${n}-${i}`)));
    const views = await Promise.all(ids.map(result));
    assert.equal(service().counters.uploads - before, 3, 'three reports, three uploads at ANAF');
    const lost = views.filter((v) => v.attempts[0]?.result === 'ANSWER_LOST');
    assert.equal(lost.length, 1, JSON.stringify(views.map((v) => v.attempts)));
    for (const view of views) {
      assert.equal(view.outcome, 'ANSWERED', JSON.stringify(view));
      assert.equal(uploadsOf(view.document.sha256).length, 1, 'uploaded once');
      assert.equal(service().uploads.get(view.uploadIndex!)?.sha256, view.document.sha256, 'the index is this report’s own upload');
    }
    assert.ok(
      lost[0]!.decisions.some((d) => d.decision === 'ADOPTED_RECEIPT_INDEX' && d.detail.includes(lost[0]!.uploadIndex!)),
      JSON.stringify(lost[0]!.decisions),
    );
    // The receipts ANAF lists name no digest of the document: nothing the product could match on but what ANAF documents.
    for (const message of service().messages.values()) {
      for (const upload of service().uploads.values())
        assert.ok(!message.pdf.toString('latin1').includes(upload.sha256), `${message.tipFisier} ${message.idPortal} names a digest`);
    }
  });

  test('two receipts since the lost upload could be ours (the bank also filed through the portal): NEEDS_OPERATOR with both listed; adopting ours ends ANSWERED', async () => {
    // Someone at the bank files a report through ANAF's portal: ANAF lists its receipt for the institution too.
    const portal = service().upload(PORTAL.cui, testSignedPdf('Depus prin portal'));
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    const id = await submit(PORTAL.id, 'Raport cu raspuns pierdut');
    const stuck = await viewWhen(stack.client, id, banciwsMessageQuery, (v: BanciwsMessageView) => v.stage === 'NEEDS_OPERATOR', 60_000);
    const ours = uploadsOf(stuck.document.sha256);
    assert.equal(ours.length, 1, 'nothing re-sent');
    assert.deepEqual(
      stuck.receiptCandidates?.map((c) => c.indexIncarcare).sort(),
      [portal.indexIncarcare, ours[0]!.index].sort(),
      JSON.stringify(stuck),
    );
    assert.equal(stuck.needsAttention, true);
    const waiting = stuck.decisions.find((d) => d.decision === 'WAITING_FOR_OPERATOR');
    assert.ok(waiting?.detail.includes(portal.indexIncarcare!) && waiting.detail.includes(ours[0]!.index), JSON.stringify(stuck.decisions));

    const adopted = await api(stack.apiUrl, OPERATOR.key, 'POST', `/v1/banciws/messages/${encodeURIComponent(id)}/resolve`, {
      json: { action: 'ADOPT_INDEX', uploadIndex: ours[0]!.index },
    });
    assert.equal(adopted.status, 202, adopted.body.toString());
    const done = await result(id);
    assert.equal(done.outcome, 'ANSWERED', JSON.stringify(done));
    assert.equal(done.uploadIndex, ours[0]!.index);
    assert.equal(uploadsOf(stuck.document.sha256).length, 1, 'uploaded once in all');
  });

  test('the only receipt since the lost upload has a Data_mesaj that is no calendar minute: an operator decides (never "not found", never re-sent)', async () => {
    const undatedBefore = await undatedSeen(UNDATED.id);
    service().misdateReceipts(1);
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    const id = await submit(UNDATED.id, 'Raport cu recipisa fara data');
    const stuck = await viewWhen(
      stack.client,
      id,
      banciwsMessageQuery,
      (v: BanciwsMessageView) => v.stage === 'NEEDS_OPERATOR' || v.stage === 'DONE',
      60_000,
    );
    const ours = uploadsOf(stuck.document.sha256);
    assert.equal(stuck.stage, 'NEEDS_OPERATOR', JSON.stringify(stuck));
    assert.equal(ours.length, 1, 'nothing re-sent');
    assert.deepEqual(
      stuck.receiptCandidates?.map((c) => [c.indexIncarcare, c.undated]),
      [[ours[0]!.index, true]],
      JSON.stringify(stuck),
    );
    assert.match(stuck.receiptCandidates![0]!.dataMesaj, /^\d{4}0231\d{4}$/);
    const waiting = stuck.decisions.find((d) => d.decision === 'WAITING_FOR_OPERATOR');
    assert.ok(waiting?.detail.includes('cannot be read') && waiting.detail.includes(ours[0]!.index), JSON.stringify(stuck.decisions));
    // Which receipt, and why it comes to an operator (and will again while ANAF lists it).
    const receipt = stuck.receiptCandidates![0]!.idPortal;
    assert.match(
      waiting!.detail,
      new RegExp(`Receipt ${receipt}: ANAF's Data_mesaj is no calendar minute.*every lost answer of this institution comes to an operator`),
      waiting!.detail,
    );
    assert.ok((await undatedSeen(UNDATED.id)) - undatedBefore >= 1, 'counted in anaf_flow_banciws_undated_receipts_total');

    const adopted = await api(stack.apiUrl, OPERATOR.key, 'POST', `/v1/banciws/messages/${encodeURIComponent(id)}/resolve`, {
      json: { action: 'ADOPT_INDEX', uploadIndex: ours[0]!.index },
    });
    assert.equal(adopted.status, 202, adopted.body.toString());
    const done = await result(id);
    assert.equal(done.outcome, 'ANSWERED', JSON.stringify(done));
    assert.equal(uploadsOf(stuck.document.sha256).length, 1, 'uploaded once in all');
  });

  test('a loss noticed late: the listing delay counts from the loss, so a receipt listed within it is adopted and nothing is re-sent', async () => {
    // ANAF files the upload 6 s after it was sent and the connection dies then; its receipt is listed 2.5 s later:
    // past the listing delay counted from the attempt's start (4 s), within the one counted from the loss.
    const options = stack.sandbox.banciws!.options;
    const listingDelayMs = options.listingDelayMs;
    options.listingDelayMs = 2_500;
    try {
      stack.sandbox.faults.add({
        route: UPLOAD,
        method: 'POST',
        times: 1,
        latencyMs: (LISTING_DELAY_S + 2) * 1000,
        resetAfterReceive: true,
      });
      const view = await result(await submit(LATE.id, 'Raport cu pierdere tarzie'));
      assert.equal(uploadsOf(view.document.sha256).length, 1, 'uploaded once');
      assert.deepEqual(
        view.attempts.map((a) => a.result),
        ['ANSWER_LOST'],
        JSON.stringify(view.attempts),
      );
      assert.ok(
        view.decisions.some((d) => d.decision === 'ADOPTED_RECEIPT_INDEX'),
        JSON.stringify(view.decisions),
      );
      assert.equal(view.outcome, 'ANSWERED');
    } finally {
      options.listingDelayMs = listingDelayMs;
    }
  });

  test('stareMesaj answering an Id_portal that is not ANAF’s N(15) digits: one check, then FAILED with ANAF’s text (AnafUnexpectedAnswer), not an endless retry', async () => {
    const bad = `<header xmlns="mfp:anaf:dgti:banci:respStareMesaj:v1" Index_incarcare="4100000001" ExecutionStatus="0" Id_portal="41000000x9"/>`;
    stack.sandbox.faults.add({ route: '/BANCIWS/rest/stareMesaj', method: 'POST', body: bad, contentType: 'application/xml', times: 20 });
    try {
      const view = await result(await submit(BUSY.id, 'Raport cu raspuns neasteptat'));
      assert.equal(view.outcome, 'FAILED', JSON.stringify(view));
      assert.equal(view.statusChecks, 1, 'asked once: the same answer would come back');
      assert.match(view.errors.join(' '), /outside its documented shape/);
      assert.ok(view.errors.join(' ').includes('41000000x9'), `ANAF's text reaches the operator: ${view.errors.join(' ')}`);
    } finally {
      stack.sandbox.faults.clear();
    }
  });
});
