import { withCheckDigit } from '../../schemas/cif';
import { TENANT_A } from '../../test/support/config';
import { authorizeOrganization } from '../../test/support/efactura';
import { declarationWhen, today, transportXml } from '../../test/support/etransport';
import { followUpSignal } from '../../workflows/etransport/definitions';
import type { Recorder, Service } from './recording';

const CIF = withCheckDigit('2468024');
/** What the API fixes a declaration's operationsPerRun at (api/etransport-routes.ts). */
const OPERATIONS_PER_RUN = 25;

const declare = async (r: Recorder, ref: string, options: { marker?: string } = {}): Promise<string> =>
  (await r.api('POST', `/v1/etransport/declarations?cif=${CIF}`, { body: transportXml({ declarantCif: CIF, ref, ...options }), headers: { 'idempotency-key': `record-${ref}` } })).id;
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
        await r.api('POST', ops, { body: transportXml({ declarantCif: CIF, ref: 'REC-ETR-1', correctsUit: uit!, vehicle: 'B22REC' }), headers: { 'idempotency-key': 'rec-cor' } });
        await r.api('POST', ops, { json: { type: 'VEHICLE_CHANGE', vehicle: 'B33REC', date: today() }, headers: { 'idempotency-key': 'rec-mvh' } });
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
        r.stack.sandbox.faults.add({ route: `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${CIF}/2`, method: 'POST', times: 1, resetAfterReceive: true });
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
          await r.api('POST', operations(id), { json: { type: 'VEHICLE_CHANGE', vehicle: `B${String(n).padStart(2, '0')}CAN`, date: today() }, headers: { 'idempotency-key': `rec-can-${n}` } });
        }
        await declarationWhen(r.stack.client, id, (v) => v.run === 2, 180_000);
        await r.save('etransport-continued-as-new', id, runId);
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
};
