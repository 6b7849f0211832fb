import { withCheckDigit } from '../../schemas/cif';
import { TENANT_A } from '../../devkit/config';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { today, transportXml } from '../../devkit/fixtures/transport';
import { declarationWhen } from '../../devkit/views';
import { holdListingWhileReconciling } from '../../devkit/listing-hold';
import { followUpSignal, resolveSignal } from '../../workflows/etransport/definitions';
import type { Recorder, Service } from './recording';

const CIF = withCheckDigit('2468024');
const UPLOAD = `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${CIF}/2`;
const STATUS = '/test/ETRANSPORT/ws/v1/stareMesaj/';
const LISTA = '/test/ETRANSPORT/ws/v1/lista/';
/** What the API fixes a declaration's operationsPerRun at (api/etransport-routes.ts). */
const OPERATIONS_PER_RUN = 25;

const declare = async (r: Recorder, ref: string, options: { marker?: string } = {}): Promise<string> =>
  (
    await r.api('POST', `/v1/etransport/declarations?cif=${CIF}`, {
      body: transportXml({ declarantCif: CIF, ref, ...options }),
      headers: { 'idempotency-key': `record-${ref}` },
    })
  ).id;
const active = (r: Recorder, id: string) => declarationWhen(r.stack.client, id, (v) => v.stage === 'ACTIVE');
const ended = (r: Recorder, id: string) => r.stack.client.workflow.getHandle(id).result();
const operations = (id: string) => `/v1/etransport/declarations/${encodeURIComponent(id)}/operations`;

/** e-Transport: one history per path through the declaration and lookup workflows. */
export const etransport: Service = {
  async prepare(r) {
    await authorizeOrganization(r.stack, TENANT_A.key, CIF, 'ETRANSPORT');
  },
  scenarios: {
    // Accepted, corrected (Update), confirmed, vehicle changed and deleted by API.
    'corrected-deleted': {
      async run(r) {
        const life = await declare(r, 'REC-ETR-1');
        const { uit } = await active(r, life);
        const ops = operations(life);
        await r.api('POST', ops, {
          body: transportXml({ declarantCif: CIF, ref: 'REC-ETR-1', correctsUit: uit!, vehicle: 'B22REC' }),
          headers: { 'idempotency-key': 'rec-cor' },
        });
        await r.api('POST', ops, {
          json: { type: 'VEHICLE_CHANGE', vehicle: 'B33REC', date: today() },
          headers: { 'idempotency-key': 'rec-mvh' },
        });
        await declarationWhen(r.stack.client, life, (v) => v.operations.length === 3 && v.operations.every((o) => o.stage === 'DONE'));
        await r.api('POST', ops, { json: { type: 'DELETION' }, headers: { 'idempotency-key': 'rec-del' } });
        await ended(r, life);
        await r.save('etransport-corrected-deleted', life);
      },
    },
    rejected: {
      async run(r) {
        const rejected = await declare(r, 'REC-ETR-2', { marker: 'SANDBOX:NOK' });
        await ended(r, rejected);
        await r.save('etransport-rejected', rejected);
      },
    },
    // The upload's answer lost, reconciled through lista; then deleted by the operator's signal.
    'answer-lost-signal-deleted': {
      async run(r) {
        r.stack.sandbox.faults.add({
          route: `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${CIF}/2`,
          method: 'POST',
          times: 1,
          resetAfterReceive: true,
        });
        const lost = await declare(r, 'REC-ETR-3');
        await active(r, lost);
        await r.stack.client.workflow.getHandle(lost).signal(followUpSignal, { type: 'DELETION' });
        await ended(r, lost);
        await r.save('etransport-answer-lost-signal-deleted', lost);
      },
    },
    // A run that reached operationsPerRun serves what is queued, then continues as new once idle (the first run is saved).
    'continued-as-new': {
      async run(r) {
        const id = await declare(r, 'REC-ETR-4');
        await active(r, id);
        const { runId } = await r.stack.client.workflow.getHandle(id).describe();
        for (let n = 2; n <= OPERATIONS_PER_RUN; n++) {
          await r.api('POST', operations(id), {
            json: { type: 'VEHICLE_CHANGE', vehicle: `B${String(n).padStart(2, '0')}CAN`, date: today() },
            headers: { 'idempotency-key': `rec-can-${n}` },
          });
        }
        await declarationWhen(r.stack.client, id, (v) => v.run === 2, 180_000);
        await r.save('etransport-continued-as-new', id, runId);
      },
    },
    // The upload answered outside ANAF's shape (a UIT that is no UIT): reconciled, re-sent after the listing delay.
    'unexpected-upload-answer': {
      async run(r) {
        r.stack.sandbox.faults.add({
          route: UPLOAD,
          method: 'POST',
          times: 1,
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({ ExecutionStatus: 0, index_incarcare: '5001', UIT: 'not a uit!' }),
        });
        const id = await declare(r, 'REC-ETR-5');
        await declarationWhen(r.stack.client, id, (v) => v.stage === 'ACTIVE' || v.stage === 'DONE');
        await r.save('etransport-unexpected-upload-answer', id);
      },
    },
    // A deletion whose answer is lost: lista never shows a valid deletion, so an operator decides (here: abandons).
    'lost-deletion-to-operator': {
      async run(r) {
        const id = await declare(r, 'REC-ETR-6');
        await active(r, id);
        r.stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
        await r.api('POST', operations(id), { json: { type: 'DELETION' }, headers: { 'idempotency-key': 'rec-lost-del' } });
        const v = await declarationWhen(
          r.stack.client,
          id,
          (d) => d.stage === 'NEEDS_OPERATOR' || d.operations[1]?.stage === 'DONE',
          60_000,
        );
        if (v.stage === 'NEEDS_OPERATOR')
          await r.stack.client.workflow.getHandle(id).signal(resolveSignal, { action: 'ABANDON', note: 'recorded' });
        await declarationWhen(r.stack.client, id, (d) => d.operations[1]?.stage === 'DONE', 60_000);
        await r.save('etransport-lost-deletion-to-operator', id);
      },
    },
    // Patch etransport-uniform-records: a 429 on the upload (recorded as a re-send), attributes coalesced, then deleted.
    'uniform-records': {
      async run(r) {
        r.stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', burst429: 1, retryAfterSeconds: 1 });
        const id = await declare(r, 'REC-ETR-7');
        await active(r, id);
        await r.api('POST', operations(id), { json: { type: 'DELETION' }, headers: { 'idempotency-key': 'rec-uniform-del' } });
        await ended(r, id);
        await r.save('etransport-uniform-records', id);
      },
    },
    // Patch etransport-resolve-only-when-stuck: a resolve signal while the UIT is active is dropped (kept before the patch); then deleted.
    'resolve-signal-while-active': {
      async run(r) {
        const id = await declare(r, 'REC-ETR-8');
        await active(r, id);
        await r.stack.client.workflow.getHandle(id).signal(resolveSignal, { action: 'REUPLOAD', note: 'sent while active' });
        await r.api('POST', operations(id), { json: { type: 'DELETION' }, headers: { 'idempotency-key': 'rec-stray-del' } });
        await ended(r, id);
        await r.save('etransport-resolve-signal-while-active', id);
      },
    },
    // Patch poll-authorization-gave-up-takes-action: a vehicle change polled while ANAF refuses the token waits for an
    // authorization, an operator abandons it (the resolve Update, a signal before it), then the UIT is deleted.
    'follow-up-authorization-abandoned': {
      async run(r) {
        const id = await declare(r, 'REC-ETR-9');
        await active(r, id);
        r.stack.sandbox.faults.add({ route: STATUS, method: 'GET', status: 403, body: 'Forbidden' });
        await r.api('POST', operations(id), {
          json: { type: 'VEHICLE_CHANGE', vehicle: 'B44REC', date: today() },
          headers: { 'idempotency-key': 'rec-auth-mvh' },
        });
        await declarationWhen(r.stack.client, id, (v) => v.stage === 'WAITING_FOR_AUTHORIZATION', 60_000);
        r.stack.sandbox.faults.clear();
        await r.api('POST', `/v1/etransport/declarations/${encodeURIComponent(id)}/resolve`, {
          json: { action: 'ABANDON', note: 'recorded' },
        });
        await declarationWhen(r.stack.client, id, (v) => v.stage === 'ACTIVE' && v.operations[1]?.stage === 'DONE', 60_000);
        await r.api('POST', operations(id), { json: { type: 'DELETION' }, headers: { 'idempotency-key': 'rec-auth-del' } });
        await ended(r, id);
        await r.save('etransport-follow-up-authorization-abandoned', id);
      },
    },
    // Patch etransport-operator-wins-over-listing: the notification's answer lost, the operator's ABANDON (resolve Update)
    // arrives while lista is read (its answer held) and lista then shows the upload: the ABANDON ends it FAILED (before
    // the patch: the listed index adopted, the ABANDON left pending; then the UIT is deleted).
    'operator-abandons-while-listing-read': {
      async run(r) {
        const options = r.stack.sandbox.etransport.state.options;
        const processingDelayMs = options.processingDelayMs;
        // Listed at once: the held lista answer, computed when asked, shows the upload.
        options.processingDelayMs = 0;
        try {
          r.stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
          const id = await declare(r, 'REC-ETR-10');
          const release = await holdListingWhileReconciling(
            r.stack.sandbox.faults,
            LISTA,
            'GET',
            async () => (await declarationWhen(r.stack.client, id, () => true)).stage,
          );
          await r.api('POST', `/v1/etransport/declarations/${encodeURIComponent(id)}/resolve`, {
            json: { action: 'ABANDON', note: 'recorded' },
          });
          release();
          const v = await declarationWhen(r.stack.client, id, (d) => d.stage === 'ACTIVE' || d.stage === 'DONE', 60_000);
          if (v.stage === 'ACTIVE')
            await r.api('POST', operations(id), { json: { type: 'DELETION' }, headers: { 'idempotency-key': 'rec-race-del' } });
          await ended(r, id);
          await r.save('etransport-operator-abandons-while-listing-read', id);
        } finally {
          options.processingDelayMs = processingDelayMs;
        }
      },
    },
    lookup: {
      async run(r) {
        await r.api('GET', `/v1/etransport/messages?cif=${CIF}&days=1`);
        for await (const w of r.stack.client.workflow.list({ query: `WorkflowType = 'etransportLookup'` })) {
          await r.save('etransport-lookup', w.workflowId);
          break;
        }
      },
    },
  },
  beforePatch: {
    'upload-unclassified-failure-reconciles': ['unexpected-upload-answer'],
    'etransport-lost-follow-up-to-operator': ['lost-deletion-to-operator'],
    'etransport-resolve-only-when-stuck': ['resolve-signal-while-active'],
    'poll-authorization-gave-up-takes-action': ['follow-up-authorization-abandoned'],
    'etransport-operator-wins-over-listing': ['operator-abandons-while-listing-read'],
  },
};
