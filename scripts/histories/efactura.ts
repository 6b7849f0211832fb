import { TENANT_A } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished, submissionWhen } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { resolveSignal } from '../../workflows/efactura/definitions';
import type { Recorder, Service } from './recording';

const SELLER = '14399840';
const BUYER = '18547290';
const UPLOAD = '/test/FCTEL/rest/upload';
const STARE = '/test/FCTEL/rest/stareMesaj';
const IN_PRELUCRARE =
  '<?xml version="1.0" encoding="UTF-8"?>\n<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="in prelucrare"/>';

type Fault = Parameters<Recorder['stack']['sandbox']['faults']['add']>[0];

/** Submits one invoice of SELLER's through the API and returns its workflow id. */
async function submit(r: Recorder, key: string, number: string, options: { note?: string; fault?: Fault } = {}): Promise<string> {
  if (options.fault) r.stack.sandbox.faults.add(options.fault);
  const body = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, ...(options.note ? { note: options.note } : {}) });
  return (await r.api('POST', `/v1/efactura/invoices?cif=${SELLER}`, { body, headers: { 'idempotency-key': `record-${key}` } })).id;
}

/** One submission to its end, saved as efactura-<name>. */
async function submitted(r: Recorder, name: string, number: string, options: { note?: string; fault?: Fault } = {}): Promise<void> {
  const id = await submit(r, name, number, options);
  await finished(r.stack, id);
  await r.save(`efactura-${name}`, id);
}

const workflowIds = async (r: Recorder, query: string) => {
  const ids: string[] = [];
  for await (const w of r.stack.client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
};

/** e-Factura: one history per path through the submission workflow; the reads and the inbox. */
export const efactura: Service = {
  stack: { sandbox: { efactura: { processingDelayMs: 300 } } },
  async prepare(r) {
    await authorizeOrganization(r.stack, TENANT_A.key, SELLER);
    await authorizeOrganization(r.stack, TENANT_A.key, BUYER);
  },
  scenarios: {
    submissions: {
      async run(r) {
        await submitted(r, 'accepted', 'REC-1');
        await submitted(r, 'rejected', 'REC-2', { note: 'SANDBOX:NOK' });
        await submitted(r, 'answer-lost-reconciled', 'REC-3', {
          fault: { route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true },
        });
        await submitted(r, 'answer-lost-reuploaded', 'REC-4', { fault: { route: UPLOAD, method: 'POST', times: 1, status: 500 } });
        await submitted(r, 'rate-limited', 'REC-5', { fault: { route: UPLOAD, method: 'POST', burst429: 1, retryAfterSeconds: 1 } });
        await submitted(r, 'duplicate-linked', 'REC-1');
      },
    },
    // The answer is lost and the reconciler's first download of the listed message arrives cut
    // short: a round that compares nothing (its own stack, so no other message is compared).
    'lost-answer-truncated-archive': {
      stack: { sandbox: { efactura: { processingDelayMs: 300 } } },
      run: (r) =>
        submitted(r, 'lost-answer-truncated-archive', 'REC-T1', {
          note: 'SANDBOX:ZIP_TRUNCATED',
          fault: { route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true },
        }),
    },
    // 200 with a body that is neither ANAF's XML nor a gateway page: EfacturaInvalidAnswer.
    'invalid-upload-answer': {
      run: (r) =>
        submitted(r, 'invalid-upload-answer', 'REC-6', {
          fault: { route: UPLOAD, method: 'POST', times: 1, status: 200, contentType: 'text/plain', body: 'garbage' },
        }),
    },
    // A resolve signal (the Web UI's way) while the submission is not stuck: ignored today, kept before the patch.
    'resolve-signal-while-polling': {
      async run(r) {
        r.stack.sandbox.faults.add({ route: STARE, contentType: 'application/xml', body: IN_PRELUCRARE });
        const id = await submit(r, 'resolve-signal-while-polling', 'REC-7');
        // ANAF says "in prelucrare" until the rule goes, so the signal finds the submission running and not stuck.
        await r.stack.client.workflow.getHandle(id).signal(resolveSignal, { action: 'REUPLOAD', note: 'sent while polling' });
        r.stack.sandbox.faults.clear();
        await finished(r.stack, id);
        await r.save('efactura-resolve-signal-while-polling', id);
      },
    },
    // Four lost answers while ANAF's listing runs an hour late: NEEDS_OPERATOR, then the operator adopts the first filing.
    'operator-resolved': {
      stack: { sandbox: { efactura: { processingDelayMs: 300, listingDelayMs: 3_600_000 } } },
      async run(r) {
        const id = await submit(r, 'operator-resolved', 'REC-8', {
          fault: { route: UPLOAD, method: 'POST', times: 4, resetAfterReceive: true },
        });
        await submissionWhen(r.stack, id, (v) => v.stage === 'NEEDS_OPERATOR', 120_000);
        const filed = r.stack.sandbox.efactura.state.uploads.filter((u) => u.number === 'REC-8');
        await r.api('POST', `/v1/efactura/invoices/${encodeURIComponent(id)}/resolve`, {
          json: { action: 'ADOPT_INDEX', uploadIndex: filed[0]!.index, note: 'found in SPV' },
        });
        await finished(r.stack, id);
        await r.save('efactura-operator-resolved', id);
      },
    },
    // ANAF's technical error ("A aparut o eroare tehnica") answered to the upload once: sent again after its delay (a minute).
    'technical-error-retried': {
      async run(r) {
        const body =
          '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202611241034" ExecutionStatus="1"><Errors errorMessage="A aparut o eroare tehnica. Cod: XXX"/></header>';
        await submitted(r, 'technical-error-retried', 'REC-9', {
          fault: { route: UPLOAD, method: 'POST', times: 1, status: 200, contentType: 'application/xml', body },
        });
      },
    },
    // Patch efactura-uniform-records: a 429 on the upload, recorded as a NOT_SENT attempt and a SAFE_RETRY decision.
    'uniform-records': {
      run: (r) =>
        submitted(r, 'uniform-records', 'REC-12', { fault: { route: UPLOAD, method: 'POST', burst429: 1, retryAfterSeconds: 1 } }),
    },
    // Uploads 3, reads 4, polls 5 since patch anaf-priorities-oauth-first (the OAuth calls go first).
    'accepted-oauth-first': {
      run: (r) => submitted(r, 'accepted-oauth-first', 'REC-10'),
    },
    // ANAF's signature checked (patches efactura-answer-signature-checked, efactura-inbox-signature-checked): an accepted
    // submission, a received invoice, and the API's verify (workflow efacturaSignature). efactura-accepted and
    // efactura-inbox-item reach both patches unpatched.
    'signature-checked': {
      async run(r) {
        const id = await submit(r, 'signature-checked', 'REC-11');
        await finished(r.stack, id);
        await r.save('efactura-signature-checked', id);
        await r.api('POST', '/v1/efactura/signature/verify', { json: { submissionId: id } });
        const verify = await eventually(
          () => workflowIds(r, `AnafService = 'efactura-read'`),
          (ids) => ids.length > 0,
          'the verify read',
        );
        await r.save('efactura-read-efacturaSignature', verify[0]!);
        const received = r.stack.sandbox.efactura.addReceivedInvoice({ buyerCif: BUYER, number: 'REC-SIG-IN', at: Date.now() - 10_000 });
        await r.api('PUT', `/v1/organizations/${BUYER}/efactura/inbox-sync`, { json: { intervalMinutes: 60 } });
        await r.api('POST', `/v1/organizations/${BUYER}/efactura/inbox-sync/run`);
        const item = await eventually(
          () => workflowIds(r, `AnafService = 'efactura-inbox' AND ExecutionStatus = 'Completed'`),
          (ids) => ids.some((i) => i.endsWith(`-${received.id}`)),
          "the received invoice's inbox item",
        );
        await r.save(
          'efactura-inbox-item-signature-checked',
          item.find((i) => i.endsWith(`-${received.id}`))!,
        );
      },
    },
    // The reads, and the buyer's inbox receiving an invoice.
    'reads-and-inbox': {
      async run(r) {
        await r.api('GET', `/v1/efactura/messages?cif=${SELLER}&days=1`);
        await r.api('POST', `/v1/efactura/validate?cif=${SELLER}`, {
          body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: 'REC-V' }),
        });
        await r.api('POST', `/v1/efactura/pdf?cif=${SELLER}`, {
          body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: 'REC-P' }),
        });
        r.stack.sandbox.efactura.addReceivedInvoice({ buyerCif: BUYER, number: 'REC-IN', at: Date.now() - 10_000 });
        await r.api('PUT', `/v1/organizations/${BUYER}/efactura/inbox-sync`, { json: { intervalMinutes: 60 } });
        await r.api('POST', `/v1/organizations/${BUYER}/efactura/inbox-sync/run`);
        const runs = await eventually(
          async () => (await r.api('GET', `/v1/organizations/${BUYER}/efactura/inbox-sync`)).recentRuns as Array<{ workflowId: string }>,
          (recent) => recent.length > 0,
          'an inbox sync run',
        );
        await r.stack.client.workflow.getHandle(runs[0]!.workflowId).result();
        await r.save('efactura-inbox-sync', runs[0]!.workflowId);
        const items = await eventually(
          () => workflowIds(r, `AnafService = 'efactura-inbox'`),
          (ids) => ids.length > 0,
          'an inbox item',
        );
        await r.stack.client.workflow.getHandle(items[0]!).result();
        await r.save('efactura-inbox-item', items[0]!);
        const reads = await eventually(
          () => workflowIds(r, `AnafService = 'efactura-read'`),
          (ids) => ids.length >= 3,
          'the three reads',
        );
        for (const id of reads) await r.save(`efactura-read-${(await r.stack.client.workflow.getHandle(id).describe()).type}`, id);
      },
    },
  },
  beforePatch: {
    'efactura-invalid-upload-answer-reconciles': ['invalid-upload-answer'],
    'efactura-resolve-only-when-stuck': ['resolve-signal-while-polling'],
    'upload-technical-error-retried': ['technical-error-retried'],
    'reconcile-look-again-after-a-round': ['lost-answer-truncated-archive'],
    'reconcile-absence-from-rounds-asked-after-deadline': ['answer-lost-reuploaded'],
    'upload-listing-read-before-operator': ['operator-resolved'],
  },
};
