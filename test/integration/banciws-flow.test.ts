import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { buildDownloadAnswer } from '../../schemas/banciws/xml';
import { INBOX_DOWNLOAD_FAILED } from '../../workflows/banciws/inbox';
import { banciwsInboxScheduleId, ensureBanciwsInboxSchedules } from '../../workers/banciws-schedules';
import type { BanciwsMessageView } from '../../workflows/banciws/types';
import { MARKER_SIGNATURE_ERRORS } from '../../sandbox/banciws';
import { minimalPdf } from '../../sandbox/efactura/pdf';
import { api } from '../../devkit/api-client';
import { banciwsStackConfig, testSignedPdf } from '../../devkit/fixtures/banciws';
import { webhookReceiver } from '../../devkit/webhook-receiver';
import { TENANT_A, TENANT_B } from '../../devkit/config';
import { eventually } from '../../devkit/wait';
import { historyOf, historyText, tasksWritingTwice, webUiRecord } from '../../devkit/history';
import { type Stack, startStack } from '../../devkit/stack';

/** The BANCIWS lifecycle through the API, on a real Temporal dev server and the HTTPS/mTLS sandbox. */

const CUI = '361820';
/** GET /v1/banciws/inbox's answer, as far as these tests read it. */
type InboxListing = { items: Array<{ id: string; status: string; idPortal?: string; tipFisier?: string }> };
const INSTITUTION = 'banca-test';
/** Configured, never written to by ANAF: its listaMesaje answers "Nu exista mesaje". Its own tenant (no API key), so TENANT_A keeps one institution. */
const EMPTY_TENANT = 'quiet-bank';
const EMPTY_INSTITUTION = 'banca-goala';
const EMPTY_CUI = '14399840';

describe('BANCIWS lifecycle through the API', () => {
  let stack: Stack;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;

  before(async () => {
    stack = await startStack({
      sandbox: { banciws: { tlsPort: 0, processingDelayMs: 400 } },
      configFromSandbox: banciwsStackConfig([
        { id: INSTITUTION, tenant: TENANT_A.tenant, cui: CUI, pollEveryMinutes: 60, zile: '1' },
        { id: EMPTY_INSTITUTION, tenant: EMPTY_TENANT, cui: EMPTY_CUI, pollEveryMinutes: 0, zile: '1' },
      ]),
    });
    hooks = await webhookReceiver();
  });
  after(async () => {
    await hooks?.close();
    await stack?.close();
  });

  const submit = (key: string, json: unknown) =>
    api(stack.apiUrl, TENANT_A.key, 'POST', '/v1/banciws/messages', { json, headers: { 'idempotency-key': key } });
  const result = async (id: string) => (await stack.client.workflow.getHandle(id).result()) as BanciwsMessageView;

  test('a signed PDF goes upload → stareMesaj → descarcare → ANSWERED; the answer PDF is served; the webhook fires', async () => {
    const pdf = testSignedPdf('Raport F2101 nr. 1');
    const res = await submit('rep-1', { pdf: pdf.toString('base64'), fileName: 'f2101.pdf', callbackUrl: hooks.url });
    assert.equal(res.status, 202, res.body.toString());
    const view = await result(res.json.id);
    assert.equal(view.outcome, 'ANSWERED');
    assert.ok(view.uploadIndex && view.idPortal);
    assert.ok(view.statusChecks >= 1);
    const got = await api(stack.apiUrl, TENANT_A.key, 'GET', `/v1/banciws/messages/${encodeURIComponent(res.json.id)}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.outcome, 'ANSWERED');
    const answer = await api(stack.apiUrl, TENANT_A.key, 'GET', `/v1/banciws/messages/${encodeURIComponent(res.json.id)}/answer.pdf`);
    assert.equal(answer.status, 200);
    assert.match(answer.body.subarray(0, 8).toString('latin1'), /^%PDF-/);
    assert.match(answer.body.toString('latin1'), new RegExp(`Raspuns la incarcarea ${view.uploadIndex}`));
    const hook = await hooks.next('banciws.message.finished');
    assert.equal(hook.data.outcome, 'ANSWERED');
    // The same key and document: the same exchange, nothing sent again.
    const again = await submit('rep-1', { pdf: pdf.toString('base64'), fileName: 'f2101.pdf', callbackUrl: hooks.url });
    assert.equal(again.status, 202);
    assert.equal(again.json.id, res.json.id);
    assert.equal(stack.sandbox.banciws!.service.counters.uploads, 1);
    // Another tenant sees nothing of it.
    const foreign = await api(stack.apiUrl, TENANT_B.key, 'GET', `/v1/banciws/messages/${encodeURIComponent(res.json.id)}`);
    assert.equal(foreign.status, 404);
    // The PDF and the F5 cookies never enter the history (payloads are references; the jar stays in the worker).
    const text = historyText(await historyOf(stack.client, res.json.id));
    for (const [sid] of stack.sandbox.banciws!.gateway.sessions) assert.ok(!text.includes(sid));
  });

  test('ANAF\'s technical error on descarcare (Mesaj_eroare=2, "momentan serviciul nu este disponibil") is transient: downloaded again, ANSWERED', async () => {
    const res = await submit('rep-technical', { pdf: testSignedPdf('Raport eroare tehnica').toString('base64') });
    assert.equal(res.status, 202, res.body.toString());
    // The answer's id_portal is not known yet: the fault answers whichever download comes first, once.
    stack.sandbox.faults.add({
      route: '/BANCIWS/rest/descarcare',
      method: 'POST',
      body: await buildDownloadAnswer({ idPortal: '1', errorCode: 2 }),
      contentType: 'application/xml',
      times: 1,
    });
    const view = await result(res.json.id);
    assert.equal(view.outcome, 'ANSWERED', JSON.stringify(view));
    assert.equal(
      stack.sandbox.faults.list().find((r) => r.route === '/BANCIWS/rest/descarcare'),
      undefined,
      'the technical error was answered',
    );
    const events = (await historyOf(stack.client, res.json.id)).events ?? [];
    const scheduled = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'downloadBanciwsDocument')
      .map((e) => String(e.eventId));
    const attempts = events
      .filter((e) => scheduled.includes(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    assert.deepEqual(attempts, [2], 'one download activity, which succeeded on its second attempt');
  });

  test("multipart upload of a PDF with signature errors ends REJECTED with ExecutionStatus 3 and ANAF's messages", async () => {
    const form = new FormData();
    form.set('file', new Blob([testSignedPdf('Raport cu erori', [MARKER_SIGNATURE_ERRORS])], { type: 'application/pdf' }), 'b101.pdf');
    form.set('institution', INSTITUTION);
    const res = await api(stack.apiUrl, TENANT_A.key, 'POST', '/v1/banciws/messages', {
      body: form,
      headers: { 'idempotency-key': 'rep-bad-sig' },
    });
    assert.equal(res.status, 202, res.body.toString());
    const view = await result(res.json.id);
    assert.equal(view.outcome, 'REJECTED');
    assert.equal(view.code, 'STATUS_3');
    assert.ok(view.errors.some((e) => /Semnatura nu este valida/.test(e)));
  });

  test('what is not a signed PDF is refused before sending, with machine-readable codes', async () => {
    const before = stack.sandbox.banciws!.service.counters.uploads;
    const notPdf = await submit('bad-1', { pdf: Buffer.from('hello').toString('base64') });
    assert.equal(notPdf.status, 400);
    assert.equal(notPdf.json.error.code, 'NOT_A_PDF');
    const unsigned = await submit('bad-2', { pdf: minimalPdf({ title: 'x', lines: [] }).toString('base64') });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.json.error.code, 'PDF_NOT_SIGNED');
    const noInstitution = await api(stack.apiUrl, TENANT_B.key, 'POST', '/v1/banciws/messages', {
      json: { pdf: testSignedPdf('x').toString('base64') },
      headers: { 'idempotency-key': 'b-1' },
    });
    assert.equal(noInstitution.status, 404);
    assert.equal(noInstitution.json.error.code, 'INSTITUTION_NOT_FOUND');
    const text = await api(stack.apiUrl, TENANT_A.key, 'POST', '/v1/banciws/messages', {
      body: 'x',
      headers: { 'idempotency-key': 'bad-3', 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 415);
    await submit('reuse', { pdf: testSignedPdf('A').toString('base64') });
    const reused = await submit('reuse', { pdf: testSignedPdf('B').toString('base64') });
    assert.equal(reused.status, 409);
    assert.equal(reused.json.error.code, 'IDEMPOTENCY_KEY_REUSED');
    await result(`${TENANT_A.tenant}/banciws/reuse`);
    assert.equal(stack.sandbox.banciws!.service.counters.uploads, before + 1, 'only the valid document was uploaded');
  });

  test('an upload whose answer is lost is reconciled through listaMesaje: its receipt is found, nothing is uploaded twice', async () => {
    stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', times: 1, resetAfterReceive: true });
    const before = stack.sandbox.banciws!.service.counters.uploads;
    const res = await submit('rep-lost', { pdf: testSignedPdf('Raport pierdut').toString('base64') });
    assert.equal(res.status, 202);
    const view = await result(res.json.id);
    assert.equal(stack.sandbox.banciws!.service.counters.uploads, before + 1, 'exactly one upload reached ANAF');
    assert.equal(view.attempts[0]?.result, 'ANSWER_LOST');
    assert.ok(
      view.decisions.some((d) => d.decision === 'ADOPTED_RECEIPT_INDEX'),
      JSON.stringify(view.decisions),
    );
    assert.equal(view.outcome, 'ANSWERED');
    const upload = [...stack.sandbox.banciws!.service.uploads.values()].find((u) => u.index === view.uploadIndex);
    assert.equal(upload?.sha256, view.document.sha256);
  });

  test('an HTML 502 after ANAF processed the upload is not replayed: the workflow reconciles and adopts the receipt, one upload in all', async () => {
    stack.sandbox.banciws!.failAfterProcessing({ method: 'uploadMesaj', status: 502 });
    const before = stack.sandbox.banciws!.service.counters.uploads;
    const bootstraps = stack.sandbox.banciws!.gateway.counters.sessionsStarted;
    const res = await submit('rep-502', { pdf: testSignedPdf('Raport 502').toString('base64') });
    assert.equal(res.status, 202);
    const view = await result(res.json.id);
    assert.equal(stack.sandbox.banciws!.service.counters.uploads, before + 1, 'exactly one upload reached ANAF');
    assert.equal(view.attempts.length, 1, JSON.stringify(view.attempts));
    assert.equal(view.attempts[0]?.result, 'ANSWER_LOST');
    assert.ok(!view.decisions.some((d) => d.decision === 'SAFE_RETRY'), JSON.stringify(view.decisions));
    assert.ok(
      view.decisions.some((d) => d.decision === 'ADOPTED_RECEIPT_INDEX'),
      JSON.stringify(view.decisions),
    );
    assert.equal(view.outcome, 'ANSWERED');
    assert.equal(stack.sandbox.banciws!.gateway.counters.sessionsStarted, bootstraps, 'the 502 did not cost a new F5 session');
  });

  test('an institution with an empty inbox ("Nu exista mesaje") polls fine: nothing listed, nothing started', async () => {
    const run = (await stack.client.workflow.execute('banciwsInbox', {
      workflowId: `${EMPTY_TENANT}/banciws-inbox-poll/test-empty`,
      taskQueue: stack.config.temporal.taskQueue,
      args: [{ tenant: EMPTY_TENANT, institutionId: EMPTY_INSTITUTION, cui: EMPTY_CUI, zile: '1' }],
    })) as { listed: number; started: number; alreadyKnown: number };
    assert.deepEqual(run, { listed: 0, started: 0, alreadyKnown: 0 });
  });

  test('the inbox downloads every new item once (deduplicated by id_portal); the schedule exists per institution', async () => {
    const ids = await ensureBanciwsInboxSchedules(stack.client, stack.config, stack.logger);
    assert.deepEqual(ids, [banciwsInboxScheduleId({ id: INSTITUTION })]);
    const schedule = await stack.client.schedule.getHandle(ids[0]!).describe();
    assert.equal(schedule.action.type, 'startWorkflow');

    const service = stack.sandbox.banciws!.service;
    service.addRequest(CUI, 'Solicitare F3000 nr. 1');
    service.addRequest(CUI, 'Solicitare F3000 nr. 2');
    const listedBefore = (await service.list(CUI, '1')).messages.length;
    const downloadsBefore = service.counters.downloads;
    const run = (n: number) =>
      stack.client.workflow.execute('banciwsInbox', {
        workflowId: `${TENANT_A.tenant}/banciws-inbox-poll/test-${n}`,
        taskQueue: stack.config.temporal.taskQueue,
        args: [{ tenant: TENANT_A.tenant, institutionId: INSTITUTION, cui: CUI, zile: '1', callbackUrl: hooks.url }],
      }) as Promise<{ listed: number; started: number; alreadyKnown: number }>;
    const first = await run(1);
    assert.equal(first.started, listedBefore);
    service.addRequest(CUI, 'Solicitare F3000 nr. 3');
    const second = await run(2);
    assert.equal(second.started, 1, 'only the new item');
    assert.equal(second.alreadyKnown, listedBefore);
    // Each item's workflow downloads once; wait for all of them (Temporal tells us when each ends).
    const itemIds = [...service.messages.values()]
      .filter((m) => m.cuiBanca === CUI)
      .map((m) => `${TENANT_A.tenant}/banciws-inbox/${INSTITUTION}-${m.idPortal}`);
    await Promise.all(itemIds.map((id) => stack.client.workflow.getHandle(id).result()));
    assert.equal(service.counters.downloads - downloadsBefore, listedBefore + 1, 'every id_portal downloaded exactly once');
    const solicitare = [...service.messages.values()].find((m) => m.denumire === 'Solicitare F3000 nr. 3')!;
    const doc = await api(
      stack.apiUrl,
      TENANT_A.key,
      'GET',
      `/v1/banciws/inbox/${encodeURIComponent(`${TENANT_A.tenant}/banciws-inbox/${INSTITUTION}-${solicitare.idPortal}`)}/document.pdf`,
    );
    assert.equal(doc.status, 200);
    assert.ok(doc.body.equals(solicitare.pdf));
    const hook = await hooks.next('banciws.inbox.item');
    assert.equal(hook.data.institutionId, INSTITUTION);
    // Visibility is eventually consistent: wait until the listing shows every item.
    const listed = (
      await eventually(
        () => api(stack.apiUrl, TENANT_A.key, 'GET', '/v1/banciws/inbox?limit=200'),
        (l) => l.status === 200 && itemIds.every((id) => (l.json as InboxListing).items.some((i) => i.id === id)),
        'every inbox item listed',
      )
    ).json as InboxListing;
    assert.equal(listed.items.length, itemIds.length);
    assert.ok(listed.items.some((i) => i.tipFisier === 'Solicitare ANAF'));
  });

  test('an inbox item whose download fails is FAILED (listed so), and the next poll downloads it', async () => {
    const service = stack.sandbox.banciws!.service;
    const message = service.addRequest(CUI, 'Solicitare F3000 nr. 4');
    const id = `${TENANT_A.tenant}/banciws-inbox/${INSTITUTION}-${message.idPortal}`;
    // ANAF refuses this one download (Mesaj_eroare 1: non-retryable), once.
    stack.sandbox.faults.add({
      route: '/BANCIWS/rest/descarcare',
      method: 'POST',
      body: await buildDownloadAnswer({ idPortal: message.idPortal, errorCode: 1 }),
      contentType: 'application/xml',
      times: 1,
    });
    const poll = (n: string) =>
      stack.client.workflow.execute('banciwsInbox', {
        workflowId: `${TENANT_A.tenant}/banciws-inbox-poll/test-retry-${n}`,
        taskQueue: stack.config.temporal.taskQueue,
        args: [{ tenant: TENANT_A.tenant, institutionId: INSTITUTION, cui: CUI, zile: '1' }],
      }) as Promise<{ listed: number; started: number; alreadyKnown: number }>;
    const first = await poll('1');
    assert.equal(first.started, 1, JSON.stringify(first));
    await assert.rejects(stack.client.workflow.getHandle(id).result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.ok(err.cause instanceof ApplicationFailure && err.cause.type === INBOX_DOWNLOAD_FAILED, String(err.cause));
      return true;
    });
    // Visibility is eventually consistent: wait until the listing shows the item as FAILED.
    await eventually(
      () => api(stack.apiUrl, TENANT_A.key, 'GET', '/v1/banciws/inbox?limit=200'),
      (l) => l.status === 200 && (l.json as InboxListing).items.some((item) => item.id === id && item.status === 'FAILED'),
      'GET /v1/banciws/inbox shows the failed item',
    );
    const notYet = await api(stack.apiUrl, TENANT_A.key, 'GET', `/v1/banciws/inbox/${encodeURIComponent(id)}/document.pdf`);
    assert.equal(notYet.status, 404);

    const second = await poll('2');
    assert.equal(second.started, 1, `only the failed item starts again: ${JSON.stringify(second)}`);
    const view = (await stack.client.workflow.getHandle(id).result()) as { document?: unknown };
    assert.ok(view.document);
    const doc = await api(stack.apiUrl, TENANT_A.key, 'GET', `/v1/banciws/inbox/${encodeURIComponent(id)}/document.pdf`);
    assert.equal(doc.status, 200);
    assert.ok(doc.body.equals(message.pdf));
    const third = await poll('3');
    assert.equal(third.started, 0, 'a downloaded item is never started again');
  });

  test('search attributes and memo: final values for the Web UI, written at most once per workflow task; attention written only when raised', async () => {
    stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', burst429: 1, retryAfterSeconds: 1 });
    const res = await submit('rep-sa', { pdf: testSignedPdf('Raport atribute').toString('base64') });
    assert.equal(res.status, 202);
    const view = await result(res.json.id);
    assert.equal(view.outcome, 'ANSWERED');
    assert.deepEqual(
      view.attempts.map((a) => a.result),
      ['NOT_SENT', 'ACCEPTED'],
    );
    assert.ok(
      view.decisions.some((d) => d.decision === 'SAFE_RETRY'),
      JSON.stringify(view.decisions),
    );

    const { attributes, summary, writes } = await webUiRecord(stack.client, res.json.id);
    assert.deepEqual(attributes, {
      tenant: TENANT_A.tenant,
      service: 'banciws',
      cif: CUI,
      stage: 'DONE',
      outcome: 'ANSWERED',
      uploadIndex: view.uploadIndex,
    });
    assert.equal(summary, `BANCIWS report of ${INSTITUTION}: ANSWERED (index ${view.uploadIndex})`);
    // One upsert and one memo write per workflow task at most, none of what the API already set, and no attention flag (it was never raised).
    assert.deepEqual(tasksWritingTwice(writes), [], 'workflow tasks with more than one upsert or memo write');
    assert.deepEqual(writes.find((w) => w.kind === 'upsert')?.keys, ['AnafStage']);
    assert.ok(!writes.some((w) => w.keys.includes('AnafNeedsAttention')), JSON.stringify(writes));
  });
});
