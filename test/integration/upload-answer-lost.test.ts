import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { BENCH_TENANT, Harness } from '../../devkit/process-harness';
import type { BanciwsMessageView } from '../../workflows/banciws/types';
import type { DeclarationView } from '../../workflows/etransport/types';
import { banciwsStackConfig, testSignedPdf } from '../../devkit/fixtures/banciws';
import { FAST_LIFECYCLE_ENV } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished, declarationWhen } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { transportXml } from '../../devkit/fixtures/transport';

/**
 * "Upload once, reconcile a lost answer", every time rather than when chaos happens to hit it:
 * the worker PROCESS is SIGKILLed at the moment ANAF has filed each upload and holds its answer
 * (the sandbox's `holdAnswer` fault), for e-Factura, e-Transport and BANCIWS at once, three
 * documents of the same CIF/institution each. A replacement process then has to reconcile each
 * through ANAF's listing, adopt the index of that very document, and never run the upload again.
 * Without `retry: { maximumAttempts: 1 }` on an upload proxy, Temporal would retry the upload
 * after the heartbeat timeout (a second attempt, a second upload at ANAF); without the
 * reconciliation the workflow would upload again.
 */

const CIF = '14399840';
const BUYER = '18547290';
const CUI = '361820';
const DOCS_PER_SERVICE = 3;
/** Answers held when the worker dies: every e-Factura and e-Transport upload, the one BANCIWS upload whose turn it is. */
const HELD = 2 * DOCS_PER_SERVICE + 1;

const EFACTURA_UPLOAD = '/test/FCTEL/rest/upload';
const ETRANSPORT_UPLOAD = `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${CIF}/2`;
const BANCIWS_UPLOAD = '/BANCIWS/rest/uploadMesaj';

const { EventType, TimeoutType } = temporal.api.enums.v1;

interface ActivityRun {
  attempt: number;
  closedBy: string;
  timeoutType?: string;
}

/** Every run of one activity type in a workflow's history: its last attempt and how it closed. */
async function activityRuns(client: Client, workflowId: string, activityType: string): Promise<ActivityRun[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map<string, ActivityRun>();
  for (const e of events) {
    const id = String(e.eventId);
    if (
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === activityType
    ) {
      scheduled.set(id, { attempt: 0, closedBy: 'OPEN' });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const run = scheduled.get(String(started.scheduledEventId));
      if (run) run.attempt = started.attempt ?? 0;
    }
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    const run = closed ? scheduled.get(String(closed.scheduledEventId)) : undefined;
    if (run) {
      run.closedBy = EventType[e.eventType!] ?? String(e.eventType);
      const timeout = e.activityTaskTimedOutEventAttributes?.failure?.timeoutFailureInfo?.timeoutType;
      if (timeout != null) run.timeoutType = TimeoutType[timeout];
    }
  }
  return [...scheduled.values()];
}

/**
 * The promise itself, for one document: one upload activity, attempt 1, ended by the heartbeat
 * timeout of the killed worker; that one attempt lost its answer; the reconciliation adopted.
 */
async function assertLostThenAdopted(
  client: Client,
  workflowId: string,
  activityType: string,
  view: { attempts: Array<{ result: string }>; decisions: Array<{ decision: string }> },
  adoption: string,
): Promise<void> {
  const runs = await activityRuns(client, workflowId, activityType);
  assert.deepEqual(
    runs,
    [{ attempt: 1, closedBy: 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT', timeoutType: 'TIMEOUT_TYPE_HEARTBEAT' }],
    `${workflowId}: ${activityType} runs`,
  );
  assert.deepEqual(
    view.attempts.map((a) => a.result),
    ['ANSWER_LOST'],
    JSON.stringify(view.attempts),
  );
  assert.ok(
    view.decisions.some((d) => d.decision === adoption),
    JSON.stringify(view.decisions),
  );
}

describe('an upload whose answer is lost because its worker process died: reconciled, never re-sent', { timeout: 300_000 }, () => {
  let harness: Harness;
  const invoices: Array<{ id: string; number: string; issueDate: string }> = [];
  const declarations: Array<{ id: string; ref: string }> = [];
  const messages: Array<{ id: string; title: string }> = [];
  const api = (method: string, path: string, body: Parameters<Harness['api']>[2]) => harness.api(method, path, body);

  before(async () => {
    harness = await Harness.start({
      label: `answer-lost-${process.pid}`,
      sandbox: {
        efactura: { processingDelayMs: 300 },
        etransport: { processingDelayMs: 300 },
        banciws: { tlsPort: 0, processingDelayMs: 400 },
      },
      env: FAST_LIFECYCLE_ENV,
      envFromSandbox: banciwsStackConfig([{ id: 'banca-test', tenant: BENCH_TENANT.tenant, cui: CUI, pollEveryMinutes: 0 }]),
    });
    const first = await harness.spawnWorker();
    await harness.authorize(CIF);
    await authorizeOrganization(harness, BENCH_TENANT.key, CIF, 'ETRANSPORT');

    // Every upload of the window is filed by ANAF, then its answer waits: until the client dies.
    // BANCIWS uploads of one institution take turns (ANAF's receipts cannot tell documents apart otherwise): one is in
    // flight when the worker dies, the other two wait for their turn and upload after it.
    harness.sandbox.faults.set(
      [EFACTURA_UPLOAD, ETRANSPORT_UPLOAD, BANCIWS_UPLOAD].map((route) => ({
        route,
        method: 'POST',
        holdAnswer: true,
        times: route === BANCIWS_UPLOAD ? 1 : DOCS_PER_SERVICE,
      })),
    );
    const tag = `${process.pid}`;
    await Promise.all(
      Array.from({ length: DOCS_PER_SERVICE }, async (_, i) => {
        // Same seller, different numbers and issue dates: the listing holds all three.
        const number = `LOST-${tag}-${i}`;
        const issueDate = `2026-11-${18 + i}`;
        invoices.push({
          id: await harness.submitInvoice(CIF, ublInvoice({ supplierCif: CIF, buyerCif: BUYER, number, issueDate }), `lost-${number}`),
          number,
          issueDate,
        });
        const ref = `ETR-LOST-${tag}-${i}`;
        const declared = await api('POST', `/v1/etransport/declarations?cif=${CIF}`, {
          xml: transportXml({ declarantCif: CIF, ref }),
          headers: { 'idempotency-key': `lost-${ref}` },
        });
        assert.equal(declared.status, 202, declared.text);
        declarations.push({ id: declared.json.id, ref });
        const title = `Raport pierdut ${tag}-${i}`;
        const sent = await api('POST', '/v1/banciws/messages', {
          json: { pdf: testSignedPdf(title).toString('base64') },
          headers: { 'idempotency-key': `lost-${tag}-${i}` },
        });
        assert.equal(sent.status, 202, sent.text);
        messages.push({ id: sent.json.id, title });
      }),
    );

    const held = await eventually(
      async () => harness.sandbox.faults.held(),
      (h) => h.length === HELD,
      'ANAF has filed every upload in flight and holds its answer',
      90_000,
    );
    for (const route of [EFACTURA_UPLOAD, ETRANSPORT_UPLOAD, BANCIWS_UPLOAD]) {
      assert.equal(
        held.filter((h) => h.url.startsWith(route)).length,
        route === BANCIWS_UPLOAD ? 1 : DOCS_PER_SERVICE,
        `held on ${route}: ${JSON.stringify(held)}`,
      );
    }
    await harness.killWorker(first, 'SIGKILL');
    await harness.spawnWorker();
  });

  after(async () => {
    await harness?.close();
  });

  test('the sandbox filed each upload and lost each answer with the killed process', async () => {
    await eventually(
      async () => harness.sandbox.faults.held().length,
      (n) => n === 0,
      'held answers dropped with their client',
      30_000,
    );
    assert.equal(harness.sandbox.state.counters.faults.holdAnswer, HELD);
    assert.equal(harness.sandbox.state.counters.faults.heldAnswerLost, HELD, 'no answer reached a worker');
  });

  test('e-Factura: one upload attempt, timed out; ADOPTED_LISTED_INDEX of that very invoice; one upload at ANAF', async () => {
    const state = harness.sandbox.efactura.state;
    const views = await Promise.all(invoices.map((inv) => finished(harness, inv.id)));
    for (const [i, inv] of invoices.entries()) {
      const view = views[i]!;
      assert.equal(view.outcome, 'ACCEPTED', JSON.stringify(view));
      await assertLostThenAdopted(harness.client, inv.id, 'uploadInvoice', view, 'ADOPTED_LISTED_INDEX');
      assert.equal(state.uploadsFor(CIF, inv.number, inv.issueDate), 1, `${inv.number} uploaded once`);
      const record = state.upload(view.uploadIndex!);
      assert.deepEqual(
        { number: record?.number, supplierCif: record?.supplierCif, issueDate: record?.issueDate },
        { number: inv.number, supplierCif: CIF, issueDate: inv.issueDate },
        'the adopted index is this invoice’s upload',
      );
    }
    assert.equal(new Set(views.map((v) => v.uploadIndex)).size, DOCS_PER_SERVICE);
  });

  test('e-Transport: one upload attempt, timed out; ADOPTED_LISTED_INDEX of that very declaration; one upload at ANAF', async () => {
    const state = harness.sandbox.etransport.state;
    const views = await Promise.all(
      declarations.map((d) =>
        declarationWhen(harness.client, d.id, (v: DeclarationView) => v.outcome === 'ACCEPTED' && v.stage === 'ACTIVE', 180_000),
      ),
    );
    for (const [i, decl] of declarations.entries()) {
      const view = views[i]!;
      assert.equal(view.operations.length, 1, JSON.stringify(view.operations));
      await assertLostThenAdopted(
        harness.client,
        decl.id,
        'uploadDeclaration',
        { attempts: view.operations[0]!.attempts, decisions: view.decisions },
        'ADOPTED_LISTED_INDEX',
      );
      assert.equal(state.notificationUploads(CIF, decl.ref), 1, `${decl.ref} uploaded once`);
      const record = state.upload(view.uploadIndex!);
      assert.deepEqual(
        { ref: record?.refDeclarant, uit: record?.uit },
        { ref: decl.ref, uit: view.uit },
        'the adopted index is this declaration’s upload',
      );
      assert.equal(state.notification(view.uit!)?.refDeclarant, decl.ref, 'and the UIT is its own');
    }
    assert.equal(new Set(views.map((v) => v.uit)).size, DOCS_PER_SERVICE);
  });

  test('BANCIWS: the report in flight: one upload attempt, timed out, ADOPTED_RECEIPT_INDEX of that very document; the others took their turn after it; one upload each at ANAF', async () => {
    const service = harness.sandbox.banciws!.service;
    const views = await Promise.all(
      messages.map(async (m) => (await harness.client.workflow.getHandle(m.id).result()) as BanciwsMessageView),
    );
    const lost = messages.filter((_, i) => views[i]!.attempts[0]?.result === 'ANSWER_LOST');
    assert.equal(lost.length, 1, `one report was in flight when the worker died: ${JSON.stringify(views.map((v) => v.attempts))}`);
    for (const [i, m] of messages.entries()) {
      const view = views[i]!;
      assert.equal(view.outcome, 'ANSWERED', JSON.stringify(view));
      if (m === lost[0]) await assertLostThenAdopted(harness.client, m.id, 'uploadBanciwsMessage', view, 'ADOPTED_RECEIPT_INDEX');
      else
        assert.deepEqual(
          view.attempts.map((a) => a.result),
          ['ACCEPTED'],
          JSON.stringify(view.attempts),
        );
      const uploads = [...service.uploads.values()].filter((u) => u.sha256 === view.document.sha256);
      assert.equal(uploads.length, 1, `${m.title} uploaded once`);
      assert.equal(service.uploads.get(view.uploadIndex!)?.sha256, view.document.sha256, 'the adopted index is this document’s upload');
    }
    const lostAt = Date.parse(views[messages.indexOf(lost[0]!)]!.attempts[0]!.startedAt);
    for (const view of views) assert.ok(Date.parse(view.attempts[0]!.startedAt) >= lostAt, 'the others uploaded after the one in flight');
    assert.equal(service.counters.uploads, DOCS_PER_SERVICE);
  });
});
