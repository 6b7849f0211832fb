import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NOK_MESSAGE } from '../../sandbox/etransport';
import { withCheckDigit } from '../../schemas/cif';
import { TENANT_A, TENANT_B } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { eventually } from '../../devkit/wait';
import { tasksWritingTwice, webUiRecord } from '../../devkit/history';
import { today, transportXml } from '../../devkit/fixtures/transport';
import { declarationWhen } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';
import type { DeclarationView } from '../../workflows/etransport/types';

/**
 * e-Transport declarations end to end: API, both workers, a real Temporal dev server and
 * the ANAF sandbox over HTTP. The sandbox counts uploads per declaration reference and per
 * UIT, which is how "never a duplicate upload" is checked.
 */

const CIF = '14399840';
const UPLOAD = `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${CIF}/2`;

describe('e-Transport declarations through the API', () => {
  let stack: Stack;
  let n = 0;
  const nextRef = () => `ETR-${process.pid}-${++n}`;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4], key = TENANT_A.key) =>
    callApi(stack, key, method, path, options);
  const declare = (key: string, xml: string, query = `cif=${CIF}`) =>
    api('POST', `/v1/etransport/declarations?${query}`, { body: xml, headers: { 'idempotency-key': key } });
  const item = (id: string) => `/v1/etransport/declarations/${encodeURIComponent(id)}`;
  const active = (v: DeclarationView) => v.outcome === 'ACCEPTED' && v.stage === 'ACTIVE';
  const finished = async (id: string) => (await stack.client.workflow.getHandle(id).result()) as DeclarationView;

  before(async () => {
    stack = await startStack({ sandbox: { etransport: { processingDelayMs: 300 } } });
    await authorizeOrganization(stack, TENANT_A.key, CIF, 'ETRANSPORT');
  });
  after(async () => {
    await stack?.close();
  });

  test('accepted: upload → stareMesaj → UIT; the declaration stays open while the UIT is valid', async () => {
    const ref = nextRef();
    const res = await declare(`ok-${ref}`, transportXml({ declarantCif: CIF, ref }));
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.id, `acme/etransport/ok-${ref}`);
    const view = await declarationWhen(stack.client, res.json.id, active);
    const notification = stack.sandbox.etransport.state.notification(view.uit!);
    assert.ok(notification, 'the UIT is ANAF’s');
    assert.equal(notification.refDeclarant, ref);
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1);

    const got = await api('GET', item(res.json.id));
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.status, 'RUNNING');
    assert.equal(got.json.outcome, 'ACCEPTED');
    assert.equal(got.json.uit, view.uit);
    assert.equal(got.json.declaration.transportDate, today());
    assert.equal(got.json.operations.length, 1);
    assert.equal(got.json.operations[0].kind, 'NOTIFICATION');
    assert.equal(got.json.operations[0].anafState, 'ok');
    assert.ok(Date.parse(got.json.uitExpiresAt) > Date.now() + 3 * 24 * 3600_000, 'national transport: 5 days from the transport date');

    // Visibility is eventually consistent: ask until the search attributes have been indexed.
    const listed = await eventually(
      () => api('GET', `/v1/etransport/declarations?cif=${CIF}&state=ACTIVE`),
      (l) => l.status === 200 && l.json.items.some((x: { id: string }) => x.id === res.json.id),
      'the declaration listed as ACTIVE',
    );
    const mine = listed.json.items.find((x: { id: string }) => x.id === res.json.id);
    assert.ok(mine, listed.text);
    assert.equal(mine.outcome, 'ACCEPTED');
    assert.equal(mine.uploadIndex, view.uploadIndex);
  });

  test('a correction and then a deletion after acceptance, each with its own outcome', async () => {
    const ref = nextRef();
    const res = await declare(`life-${ref}`, transportXml({ declarantCif: CIF, ref }));
    const { uit } = await declarationWhen(stack.client, res.json.id, active);
    const corrected = transportXml({ declarantCif: CIF, ref, correctsUit: uit!, vehicle: 'CJ99XYZ' });
    const cor = await api('POST', `${item(res.json.id)}/operations`, { body: corrected, headers: { 'idempotency-key': `cor-${ref}` } });
    assert.equal(cor.status, 202, cor.text);
    assert.equal(cor.json.operationId, 'op-2');
    const again = await api('POST', `${item(res.json.id)}/operations`, { body: corrected, headers: { 'idempotency-key': `cor-${ref}` } });
    assert.equal(again.json.operationId, 'op-2', 'same key, same operation');
    const afterCorrection = await declarationWhen(stack.client, res.json.id, (v) => v.operations[1]?.outcome !== undefined);
    assert.equal(afterCorrection.operations[1]!.kind, 'CORRECTION');
    assert.equal(afterCorrection.operations[1]!.outcome, 'ACCEPTED', JSON.stringify(afterCorrection.operations[1]));
    assert.equal(afterCorrection.identity.vehicle, 'CJ99XYZ');
    assert.equal(stack.sandbox.etransport.state.notification(uit!)?.facts.vehicle, 'CJ99XYZ');
    assert.equal(stack.sandbox.etransport.state.followUpUploads(uit!, 'COR'), 1);

    const del = await api('POST', `${item(res.json.id)}/operations`, {
      json: { type: 'DELETION' },
      headers: { 'idempotency-key': `del-${ref}` },
    });
    assert.equal(del.status, 202, del.text);
    const done = await finished(res.json.id);
    assert.equal(done.outcome, 'DELETED');
    assert.equal(done.stage, 'DONE');
    assert.deepEqual(
      done.operations.map((o) => [o.kind, o.outcome]),
      [
        ['NOTIFICATION', 'ACCEPTED'],
        ['CORRECTION', 'ACCEPTED'],
        ['DELETION', 'ACCEPTED'],
      ],
    );
    assert.ok(stack.sandbox.etransport.state.notification(uit!)?.deletedAt !== undefined);
    const late = await api('POST', `${item(res.json.id)}/operations`, {
      json: { type: 'CONFIRMATION', confirmationType: '10' },
      headers: { 'idempotency-key': `late-${ref}` },
    });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.json.error.code, 'DECLARATION_NOT_ACTIVE');
  });

  test('search attributes and memo: final values for the Web UI, written at most once per workflow task; a 429 re-send is recorded', async () => {
    const ref = nextRef();
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', burst429: 1, retryAfterSeconds: 1 });
    const res = await declare(`sa-${ref}`, transportXml({ declarantCif: CIF, ref }));
    assert.equal(res.status, 202, res.text);
    const { uit } = await declarationWhen(stack.client, res.json.id, active);
    await api('POST', `${item(res.json.id)}/operations`, { json: { type: 'DELETION' }, headers: { 'idempotency-key': `sa-del-${ref}` } });
    const done = await finished(res.json.id);
    assert.equal(done.outcome, 'DELETED');
    // The 429 is shown as a re-send ANAF never saw: a NOT_SENT attempt and a SAFE_RETRY decision.
    assert.deepEqual(
      done.operations[0]!.attempts.map((a) => a.result),
      ['NOT_SENT', 'ACCEPTED'],
    );
    assert.ok(
      done.decisions.some((d) => d.decision === 'SAFE_RETRY'),
      JSON.stringify(done.decisions),
    );
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1);

    const { attributes, summary, writes } = await webUiRecord(stack.client, res.json.id);
    assert.deepEqual(attributes, {
      tenant: TENANT_A.tenant,
      service: 'etransport',
      cif: CIF,
      stage: 'DONE',
      outcome: 'DELETED',
      uploadIndex: done.uploadIndex,
    });
    assert.equal(summary, `e-Transport for CIF ${CIF} (UIT ${uit}): DELETED`);
    // One upsert and one memo write per workflow task at most, none of what the API already set, and no attention flag (it was never raised).
    assert.deepEqual(tasksWritingTwice(writes), [], 'workflow tasks with more than one upsert or memo write');
    assert.deepEqual(writes.find((w) => w.kind === 'upsert')?.keys, ['AnafStage']);
    assert.ok(!writes.some((w) => w.keys.includes('AnafNeedsAttention')), JSON.stringify(writes));
  });

  test('a follow-up ANAF rejects is recorded as REJECTED and the UIT stays valid', async () => {
    const ref = nextRef();
    const res = await declare(`rej-op-${ref}`, transportXml({ declarantCif: CIF, ref }));
    const { uit } = await declarationWhen(stack.client, res.json.id, active);
    const bad = transportXml({ declarantCif: CIF, ref, correctsUit: uit!, marker: 'SANDBOX:NOK' });
    const cor = await api('POST', `${item(res.json.id)}/operations`, { body: bad, headers: { 'idempotency-key': `badcor-${ref}` } });
    assert.equal(cor.status, 202, cor.text);
    const view = await declarationWhen(stack.client, res.json.id, (v) => v.operations[1]?.outcome !== undefined);
    assert.equal(view.operations[1]!.outcome, 'REJECTED');
    assert.deepEqual(view.operations[1]!.errors, [NOK_MESSAGE]);
    assert.equal(view.outcome, 'ACCEPTED');
    const other = await api('POST', `${item(res.json.id)}/operations`, {
      json: { type: 'XML', xml: transportXml({ declarantCif: CIF, ref, correctsUit: 'NOTTHISUIT000000' }) },
      headers: { 'idempotency-key': `mismatch-${ref}` },
    });
    assert.equal(other.status, 400, other.text);
    assert.equal(other.json.error.code, 'UIT_MISMATCH');
  });

  test('rejected by ANAF (stare nok): REJECTED with ANAF’s messages, the workflow ends', async () => {
    const ref = nextRef();
    const res = await declare(`nok-${ref}`, transportXml({ declarantCif: CIF, ref, marker: 'SANDBOX:NOK' }));
    assert.equal(res.status, 202, res.text);
    const done = await finished(res.json.id);
    assert.equal(done.outcome, 'REJECTED');
    assert.deepEqual(done.errors, [NOK_MESSAGE]);
    assert.equal(done.uit, undefined);
    const got = await api('GET', item(res.json.id));
    assert.equal(got.json.status, 'COMPLETED');
    assert.equal(got.json.outcome, 'REJECTED');
  });

  test('refused at upload (ExecutionStatus 1, Errors[].errorMessage): REJECTED with ANAF’s words, not re-sent', async () => {
    const ref = nextRef();
    stack.sandbox.faults.add({
      route: UPLOAD,
      method: 'POST',
      times: 1,
      contentType: 'application/json',
      body: JSON.stringify({
        Errors: [{ errorMessage: `Nu aveti drept in SPV pentru CIF=${CIF}` }],
        dateResponse: '202611241200',
        ExecutionStatus: 1,
        trace_id: 'x',
      }),
    });
    const done = await finished((await declare(`upl-${ref}`, transportXml({ declarantCif: CIF, ref }))).json.id);
    assert.equal(done.outcome, 'REJECTED');
    assert.deepEqual(done.errors, [`Nu aveti drept in SPV pentru CIF=${CIF}`]);
    assert.equal(done.operations[0]!.attempts.length, 1);
  });

  test('the upload’s answer is lost after ANAF took it: found in lista, UIT adopted, never uploaded twice', async () => {
    const ref = nextRef();
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    const res = await declare(`lost-${ref}`, transportXml({ declarantCif: CIF, ref }));
    const view = await declarationWhen(stack.client, res.json.id, active);
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1, 'uploaded once');
    assert.equal(view.operations[0]!.attempts[0]!.result, 'ANSWER_LOST');
    assert.ok(
      view.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX'),
      JSON.stringify(view.decisions),
    );
    assert.equal(stack.sandbox.etransport.state.notification(view.uit!)?.refDeclarant, ref, 'adopted its own UIT');
  });

  test('a 500 on upload (never processed): not in lista after the listing delay, then one re-upload', async () => {
    const ref = nextRef();
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 1, status: 500, body: 'Internal Server Error' });
    const res = await declare(`srv-${ref}`, transportXml({ declarantCif: CIF, ref }));
    const view = await declarationWhen(stack.client, res.json.id, active);
    assert.deepEqual(
      view.operations[0]!.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ACCEPTED'],
    );
    assert.ok(view.decisions.some((d) => d.decision === 'REUPLOAD_AFTER_LISTING_DELAY'));
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1);
  });

  test('lista and info through the API, in ANAF’s JSON shapes', async () => {
    const ref = nextRef();
    const res = await declare(`lista-${ref}`, transportXml({ declarantCif: CIF, ref }));
    const { uit } = await declarationWhen(stack.client, res.json.id, active);
    const messages = await api('GET', `/v1/etransport/messages?cif=${CIF}&days=2`);
    assert.equal(messages.status, 200, messages.text);
    const entry = messages.json.items.find((m: { uit?: string }) => m.uit === uit);
    assert.ok(entry, messages.text);
    assert.equal(entry.type, 'NOT');
    assert.equal(entry.state, 'OK');
    assert.equal(entry.refDeclarant, ref);
    assert.equal(entry.transportDate, today());
    const carriers = await api('GET', `/v1/etransport/carriers?cui=${CIF}&uit=${uit}`);
    assert.equal(carriers.status, 200, carriers.text);
    assert.equal(carriers.json.items.length, 1);
    assert.equal(carriers.json.items[0].uit, uit);
    assert.match(carriers.json.items[0].uitExpiresAt, /^\d{4}-\d{2}-\d{2}T00:00:00$/);
    const none = await api('GET', `/v1/etransport/carriers?cui=${CIF}&uit=NOSUCHUIT`);
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(none.json.items, [], '"Nu exista informatii" is an empty list');
    const badDays = await api('GET', `/v1/etransport/messages?cif=${CIF}&days=61`);
    assert.equal(badDays.status, 400);
    assert.equal(badDays.json.error.code, 'VALIDATION_FAILED');
    stack.sandbox.faults.add({
      route: `/test/ETRANSPORT/ws/v1/lista/`,
      times: 1,
      contentType: 'application/json',
      body: JSON.stringify({
        Errors: [{ errorMessage: 'Nu exista niciun CIF petru care sa aveti drept in SPV' }],
        dateResponse: '202611241200',
        ExecutionStatus: 1,
        trace_id: 'y',
      }),
    });
    const refused = await api('GET', `/v1/etransport/messages?cif=${CIF}&days=1`);
    assert.equal(refused.status, 502, refused.text);
    assert.equal(refused.json.error.code, 'ANAF_REFUSED');
    assert.match(refused.json.error.message, /Nu exista niciun CIF/);
  });

  test('bad input: precise 400 codes before anything is stored or sent', async () => {
    const ref = nextRef();
    const good = transportXml({ declarantCif: CIF, ref });
    const before = stack.sandbox.etransport.state.counters.uploads;
    const cases: Array<[string, string, string, string]> = [
      ['malformed XML', '<eTransport><notificare></eTransport>', `cif=${CIF}`, 'XML_NOT_WELL_FORMED'],
      ['wrong namespace', good.replace('declaratie:v2', 'declaratie:v9'), `cif=${CIF}`, 'XML_WRONG_ROOT'],
      ['an invoice', '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>', `cif=${CIF}`, 'XML_WRONG_ROOT'],
      [
        'DOCTYPE',
        `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${good.split('\n').slice(1).join('\n')}`,
        `cif=${CIF}`,
        'XML_DOCTYPE_FORBIDDEN',
      ],
      ['bad declarant CIF', good.replace(`codDeclarant="${CIF}"`, 'codDeclarant="14399841"'), `cif=${CIF}`, 'DECLARANT_CIF_INVALID'],
      ['bad request CIF', good, 'cif=14399841', 'VALIDATION_FAILED'],
      ['unknown operation type', good.replace('codTipOperatiune="30"', 'codTipOperatiune="99"'), `cif=${CIF}`, 'UNKNOWN_OPERATION'],
      [
        'unknown operation element',
        good.replace(/<notificare[\s\S]*<\/notificare>/, '<anulare uit="X"/>'),
        `cif=${CIF}`,
        'UNKNOWN_OPERATION',
      ],
      [
        'a follow-up posted as a declaration',
        good.replace(/<notificare[\s\S]*<\/notificare>/, '<stergere uit="ABC"/>'),
        `cif=${CIF}`,
        'NOT_A_NOTIFICATION',
      ],
      ['bad transport date', good.replace(/dataTransport="[^"]+"/, 'dataTransport="2026-02-30"'), `cif=${CIF}`, 'TRANSPORT_DATE_INVALID'],
    ];
    for (const [what, xml, query, code] of cases) {
      const r = await declare(`bad-${ref}-${code}`, xml, query);
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(r.json.error.code, code, `${what}: ${r.text}`);
    }
    const unknownOrg = await declare(
      `bad-${ref}-org`,
      transportXml({ declarantCif: withCheckDigit('7654321'), ref }),
      `cif=${withCheckDigit('7654321')}`,
    );
    assert.equal(unknownOrg.status, 404, unknownOrg.text);
    assert.equal(stack.sandbox.etransport.state.counters.uploads, before, 'nothing reached ANAF');
  });

  test('idempotency and tenancy: same key → same declaration; other body → 409; other tenant → 404', async () => {
    const ref = nextRef();
    const xml = transportXml({ declarantCif: CIF, ref });
    const a = await declare(`idem-${ref}`, xml);
    const b = await declare(`idem-${ref}`, xml);
    assert.equal(b.json.id, a.json.id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const c = await declare(`idem-${ref}`, transportXml({ declarantCif: CIF, ref: `${ref}-x` }));
    assert.equal(c.status, 409);
    assert.equal(c.json.error.code, 'IDEMPOTENCY_KEY_REUSED');
    const foreign = await api('GET', item(a.json.id), {}, TENANT_B.key);
    assert.equal(foreign.status, 404);
    await declarationWhen(stack.client, a.json.id, active);
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1);
  });
});
