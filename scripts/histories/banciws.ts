import { buildDownloadAnswer } from '../../schemas/banciws/xml';
import { api } from '../../devkit/api-client';
import { banciwsStackConfig, testSignedPdf } from '../../devkit/fixtures/banciws';
import { TENANT_A } from '../../devkit/config';
import { eventually } from '../../devkit/wait';
import { holdListingWhileReconciling } from '../../devkit/listing-hold';
import { viewWhen } from '../../devkit/views';
import { banciwsMessageQuery, banciwsResolveSignal } from '../../workflows/banciws/definitions';
import { uploadTurnsId, uploadTurnsQuery } from '../../workflows/banciws/upload-turns';
import type { Recorder, Service } from './recording';

const INSTITUTION = 'banca-rec';
const CUI = '361820';

const itemId = (idPortal: string) => `${TENANT_A.tenant}/banciws-inbox/${INSTITUTION}-${idPortal}`;

/** A report posted through the API; its workflow id. */
async function start(r: Recorder, name: string): Promise<string> {
  const res = await api(r.stack.apiUrl, TENANT_A.key, 'POST', '/v1/banciws/messages', {
    json: { pdf: testSignedPdf(name).toString('base64') },
    headers: { 'idempotency-key': `record-${name}` },
  });
  if (res.status !== 202) throw new Error(`${name}: ${res.status}`);
  return res.json.id as string;
}

async function submit(r: Recorder, name: string): Promise<void> {
  const id = await start(r, name);
  await r.stack.client.workflow.getHandle(id).result();
  await r.save(`banciws-${name}`, id);
}

/** One inbox poll (listaMesaje, then an item workflow per new message). */
async function pollInbox(r: Recorder, run: string): Promise<string> {
  const id = `${TENANT_A.tenant}/banciws-inbox-poll/${run}`;
  await r.stack.client.workflow.execute('banciwsInbox', {
    workflowId: id,
    taskQueue: r.stack.config.temporal.taskQueue,
    args: [{ tenant: TENANT_A.tenant, institutionId: INSTITUTION, cui: CUI, zile: '1' }],
  });
  return id;
}

/** BANCIWS: an answered exchange, one whose upload answer was lost and reconciled, the inbox and its items. */
export const banciws: Service = {
  stack: {
    sandbox: { banciws: { tlsPort: 0, processingDelayMs: 300 } },
    configFromSandbox: banciwsStackConfig([{ id: INSTITUTION, tenant: TENANT_A.tenant, cui: CUI }]),
  },
  scenarios: {
    messages: {
      async run(r) {
        await submit(r, 'answered');
        r.stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', times: 1, resetAfterReceive: true });
        await submit(r, 'answer-lost-reconciled');
      },
    },
    // With upload turns (patch banciws-upload-turns; banciws-listing-delay-from-loss on the lost answer): the reports
    // take the institution's turn, a lost answer is matched on the receipt's index; and the turns workflow itself.
    'upload-turns': {
      async run(r) {
        await submit(r, 'turns-answered');
        r.stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', times: 1, resetAfterReceive: true });
        await submit(r, 'turns-answer-lost-reconciled');
        const turns = r.stack.client.workflow.getHandle(uploadTurnsId(TENANT_A.tenant, INSTITUTION));
        // Saved once idle (the last release handled), so the history ends between turns.
        for (let tries = 0; ; tries++) {
          const view = await turns.query(uploadTurnsQuery);
          if (!view.holder && view.queue.length === 0 && view.owned === 2) break;
          if (tries > 100) throw new Error(`the upload turns never went idle: ${JSON.stringify(view)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await r.save('banciws-upload-turns', turns.workflowId);
      },
    },
    // Patch banciws-uniform-records: a 429 on the upload (a re-send), attributes coalesced, attention written on change.
    'uniform-records': {
      async run(r) {
        r.stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', burst429: 1, retryAfterSeconds: 1 });
        await submit(r, 'uniform-records');
      },
    },
    // Patch banciws-resolve-only-when-stuck: a resolve signal while the exchange polls (its stareMesaj answer held) is dropped (kept before).
    'resolve-signal-while-polling': {
      async run(r) {
        r.stack.sandbox.faults.add({ route: '/BANCIWS/rest/stareMesaj', method: 'POST', times: 1, holdAnswer: true });
        const id = await start(r, 'resolve-signal-while-polling');
        await eventually(
          async () => r.stack.sandbox.faults.held().length,
          (held) => held === 1,
          'the status call held',
        );
        await r.stack.client.workflow.getHandle(id).signal(banciwsResolveSignal, { action: 'REUPLOAD', note: 'sent while polling' });
        await viewWhen(
          r.stack.client,
          id,
          banciwsMessageQuery,
          (v) => v.decisions.some((d) => d.decision === 'RESOLVE_SIGNAL_DROPPED') || v.stage === 'POLLING',
        );
        r.stack.sandbox.faults.release();
        await r.stack.client.workflow.getHandle(id).result();
        await r.save('banciws-resolve-signal-while-polling', id);
      },
    },
    // Patch banciws-undated-receipt-to-operator: the lost upload's only receipt has a Data_mesaj no calendar has (sandbox
    // fault): NEEDS_OPERATOR, and the operator adopts it with the resolve Update.
    'undated-receipt-to-operator': {
      async run(r) {
        r.stack.sandbox.banciws!.service.misdateReceipts(1);
        r.stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', times: 1, resetAfterReceive: true });
        const id = await start(r, 'undated-receipt-to-operator');
        const stuck = await viewWhen(r.stack.client, id, banciwsMessageQuery, (v) => v.stage === 'NEEDS_OPERATOR', 60_000);
        await r.api('POST', `/v1/banciws/messages/${encodeURIComponent(id)}/resolve`, {
          json: { action: 'ADOPT_INDEX', uploadIndex: stuck.receiptCandidates![0]!.indexIncarcare },
        });
        await r.stack.client.workflow.getHandle(id).result();
        await r.save('banciws-undated-receipt-to-operator', id);
      },
    },
    // Patch banciws-operator-wins-over-listing: the upload's answer lost, the operator's ABANDON (resolve Update) arrives
    // while listaMesaje is read (its answer held) and the receipt is then found: the ABANDON ends it FAILED (before the
    // patch: the receipt's index adopted and the report answered, the ABANDON left pending).
    'operator-abandons-while-listing-read': {
      async run(r) {
        r.stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', times: 1, resetAfterReceive: true });
        const id = await start(r, 'operator-abandons-while-listing-read');
        const release = await holdListingWhileReconciling(
          r.stack.sandbox.faults,
          '/BANCIWS/rest/listaMesaje',
          'POST',
          async () => (await r.stack.client.workflow.getHandle(id).query(banciwsMessageQuery)).stage,
        );
        await r.api('POST', `/v1/banciws/messages/${encodeURIComponent(id)}/resolve`, { json: { action: 'ABANDON', note: 'recorded' } });
        release();
        await r.stack.client.workflow.getHandle(id).result();
        await r.save('banciws-operator-abandons-while-listing-read', id);
      },
    },
    inbox: {
      async run(r) {
        const message = r.stack.sandbox.banciws!.service.addRequest(CUI, 'Solicitare F3000');
        await r.save('banciws-inbox', await pollInbox(r, 'record'));
        await r.stack.client.workflow.getHandle(itemId(message.idPortal)).result();
        await r.save('banciws-inbox-item', itemId(message.idPortal));
      },
    },
    // ANAF refuses the item's download (Mesaj_eroare 1, not retried): the item fails today, completed with `error` before the patch.
    'inbox-item-download-failed': {
      async run(r) {
        const message = r.stack.sandbox.banciws!.service.addRequest(CUI, 'Solicitare F3000 refuzata');
        r.stack.sandbox.faults.add({
          route: '/BANCIWS/rest/descarcare',
          method: 'POST',
          body: await buildDownloadAnswer({ idPortal: message.idPortal, errorCode: 1 }),
          contentType: 'application/xml',
          times: 1,
        });
        await pollInbox(r, 'record-download-failed');
        await r.stack.client.workflow
          .getHandle(itemId(message.idPortal))
          .result()
          .catch(() => undefined);
        await r.save('banciws-inbox-item-download-failed', itemId(message.idPortal));
      },
    },
  },
  beforePatch: {
    'banciws-inbox-item-fails-on-download-error': ['inbox-item-download-failed'],
    'banciws-inbox-stage-from-start': ['inbox'],
    'banciws-inbox-stage-done': ['inbox'],
    'banciws-resolve-only-when-stuck': ['resolve-signal-while-polling'],
    'banciws-operator-wins-over-listing': ['operator-abandons-while-listing-read'],
  },
};
