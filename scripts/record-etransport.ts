/**
 * The e-Transport part of `npm run record-histories` (alone: `npm run record-histories --
 * --only-etransport`): one history per path through the declaration and lookup workflows.
 */
import { request } from 'undici';
import { withCheckDigit } from '../schemas/cif';
import { TENANT_A } from '../test/support/config';
import { callApi } from '../test/support/efactura';
import { declarationWhen, transportXml } from '../test/support/etransport';
import { walkAuthorizePage } from '../test/support/sandbox';
import type { Stack } from '../test/support/stack';
import { followUpSignal } from '../workflows/etransport/definitions';

export async function recordEtransport(stack: Stack, save: (name: string, workflowId: string) => Promise<void>): Promise<void> {
  const cif = withCheckDigit('2468024');
  const api = async (method: string, path: string, options: Parameters<typeof callApi>[4] = {}) => {
    const res = await callApi(stack, TENANT_A.key, method, path, options);
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.json as Record<string, string>;
  };
  await api('POST', '/v1/organizations', { json: { cif, name: 'Recorded Transport SRL' } });
  const req = await api('POST', `/v1/organizations/${cif}/authorization-requests`, { json: { scope: 'ETRANSPORT' } });
  const anaf = new URL(req.url!);
  const walked = await walkAuthorizePage(stack.sandbox.url, {
    clientId: anaf.searchParams.get('client_id')!,
    redirectUri: anaf.searchParams.get('redirect_uri')!,
    state: anaf.searchParams.get('state')!,
  });
  await (await request(walked.location)).body.dump();

  const declare = async (ref: string, options: { marker?: string } = {}) =>
    (await api('POST', `/v1/etransport/declarations?cif=${cif}`, { body: transportXml({ declarantCif: cif, ref, ...options }), headers: { 'idempotency-key': `record-${ref}` } })).id!;
  const active = (id: string) => declarationWhen(stack.client, id, (v) => v.stage === 'ACTIVE');
  const ended = (id: string) => stack.client.workflow.getHandle(id).result();
  const upload = `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${cif}/2`;

  // Accepted, corrected (Update), confirmed, vehicle changed and deleted by API.
  const life = await declare('REC-ETR-1');
  const { uit } = await active(life);
  const ops = `/v1/etransport/declarations/${encodeURIComponent(life)}/operations`;
  await api('POST', ops, { body: transportXml({ declarantCif: cif, ref: 'REC-ETR-1', correctsUit: uit!, vehicle: 'B22REC' }), headers: { 'idempotency-key': 'rec-cor' } });
  await api('POST', ops, { json: { type: 'VEHICLE_CHANGE', vehicle: 'B33REC', date: new Date().toISOString().slice(0, 10) }, headers: { 'idempotency-key': 'rec-mvh' } });
  await declarationWhen(stack.client, life, (v) => v.operations.length === 3 && v.operations.every((o) => o.stage === 'DONE'));
  await api('POST', ops, { json: { type: 'DELETION' }, headers: { 'idempotency-key': 'rec-del' } });
  await ended(life);
  await save('etransport-corrected-deleted', life);

  // Rejected by ANAF.
  const rejected = await declare('REC-ETR-2', { marker: 'SANDBOX:NOK' });
  await ended(rejected);
  await save('etransport-rejected', rejected);

  // The upload's answer lost, reconciled through lista; then deleted by the operator's signal.
  stack.sandbox.faults.add({ route: upload, method: 'POST', times: 1, resetAfterReceive: true });
  const lost = await declare('REC-ETR-3');
  await active(lost);
  await stack.client.workflow.getHandle(lost).signal(followUpSignal, { type: 'DELETION' });
  await ended(lost);
  await save('etransport-answer-lost-signal-deleted', lost);

  // A lista lookup.
  await api('GET', `/v1/etransport/messages?cif=${cif}&days=1`);
  for await (const w of stack.client.workflow.list({ query: `WorkflowType = 'etransportLookup'` })) {
    await save('etransport-lookup', w.workflowId);
    break;
  }
}
