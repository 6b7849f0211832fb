import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { banciwsMessageQuery, banciwsResolveSignal, banciwsResolveUpdate } from '../../workflows/banciws/definitions';
import { resolveDeclarationUpdate, resolveSignal } from '../../workflows/etransport/definitions';
import type { BanciwsMessageView } from '../../workflows/banciws/types';
import type { DeclarationView } from '../../workflows/etransport/types';
import { api, callApi } from '../../devkit/api-client';
import { banciwsStackConfig, testSignedPdf } from '../../devkit/fixtures/banciws';
import { OPERATOR, TENANT_A, TENANT_B } from '../../devkit/config';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { holdListingWhileReconciling } from '../../devkit/listing-hold';
import { eventually } from '../../devkit/wait';
import { today, transportXml } from '../../devkit/fixtures/transport';
import { declarationWhen, viewWhen } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * The operator's resolve for BANCIWS and e-Transport, and the BANCIWS listing, end to end.
 * ANAF's listings (BANCIWS receipts, e-Transport lista) show an upload an hour late here, so an
 * upload whose answer keeps getting lost cannot be reconciled: after four in a row the case
 * waits for an operator. A resolve is refused (409, typed) whenever nothing waits for one.
 */

const CIF = '14399840';
const CUI_A = '361820';
const CUI_B = '18547290';
const BANCIWS_UPLOAD = '/BANCIWS/rest/uploadMesaj';
const BANCIWS_STATUS = '/BANCIWS/rest/stareMesaj';
const BANCIWS_LISTING = '/BANCIWS/rest/listaMesaje';
const ETRANSPORT_UPLOAD = `/test/ETRANSPORT/ws/v1/upload/ETRANSP/${CIF}/2`;
const ETRANSPORT_STATUS = '/test/ETRANSPORT/ws/v1/stareMesaj/';
const ETRANSPORT_LISTA = '/test/ETRANSPORT/ws/v1/lista/';
/** The workflow's validator refused the resolve Update with this failure type. */
const refusedWith = (type: string) => (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === type;
const HOUR = 3_600_000;

describe('operator decisions on BANCIWS exchanges and e-Transport declarations; the BANCIWS listing', () => {
  let stack: Stack;
  let n = 0;
  const next = (what: string) => `${what}-${process.pid}-${++n}`;

  before(async () => {
    stack = await startStack({
      sandbox: {
        banciws: { tlsPort: 0, processingDelayMs: 300, listingDelayMs: HOUR },
        etransport: { processingDelayMs: 300, listingDelayMs: HOUR },
      },
      configFromSandbox: banciwsStackConfig([
        { id: 'banca-a', tenant: TENANT_A.tenant, cui: CUI_A, pollEveryMinutes: 0 },
        { id: 'banca-b', tenant: TENANT_B.tenant, cui: CUI_B, pollEveryMinutes: 0 },
      ]),
    });
    await authorizeOrganization(stack, TENANT_A.key, CIF, 'ETRANSPORT');
  });
  after(async () => {
    await stack?.close();
  });

  // BANCIWS
  const exchange = async (key = TENANT_A.key) => {
    const idempotencyKey = next('rep');
    const res = await api(stack.apiUrl, key, 'POST', '/v1/banciws/messages', {
      json: { pdf: testSignedPdf(`Raport ${idempotencyKey}`).toString('base64') },
      headers: { 'idempotency-key': idempotencyKey },
    });
    assert.equal(res.status, 202, res.body.toString());
    return res.json.id as string;
  };
  const exchangeWhen = (id: string, ready: (v: BanciwsMessageView) => boolean) =>
    viewWhen(stack.client, id, banciwsMessageQuery, ready, 90_000);
  const exchangeResult = async (id: string) => (await stack.client.workflow.getHandle(id).result()) as BanciwsMessageView;
  const resolveExchange = (id: string, json: unknown) =>
    api(stack.apiUrl, OPERATOR.key, 'POST', `/v1/banciws/messages/${encodeURIComponent(id)}/resolve`, { json });
  const banciwsUploadsOf = (sha256: string) => [...stack.sandbox.banciws!.service.uploads.values()].filter((u) => u.sha256 === sha256);

  test("GET /v1/banciws/messages lists the tenant's exchanges only, newest first, and honours limit", async () => {
    // The second starts after the first has ended: newer by start and by close time, whichever
    // the visibility store orders closed workflows by.
    const first = await exchange();
    await exchangeResult(first);
    const second = await exchange();
    const foreign = await exchange(TENANT_B.key);
    await Promise.all([second, foreign].map(exchangeResult));
    type Listed = { id: string; status: string; statusUrl: string };
    const list = (key: string, query = '') => api(stack.apiUrl, key, 'GET', `/v1/banciws/messages${query}`);

    const mine = await eventually(
      () => list(TENANT_A.key, '?limit=200'),
      (r) => r.status === 200 && [first, second].every((id) => r.json.items.some((i: Listed) => i.id === id)),
      "tenant A's exchanges listed",
    );
    const ids = mine.json.items.map((i: Listed) => i.id);
    assert.ok(ids.indexOf(second) < ids.indexOf(first), `newest first: ${ids.join(', ')}`);
    assert.ok(!ids.includes(foreign), "tenant B's exchange is not in tenant A's listing");
    assert.ok(
      ids.every((id: string) => id.startsWith(`${TENANT_A.tenant}/banciws/`)),
      ids.join(', '),
    );
    const item = mine.json.items.find((i: Listed) => i.id === second);
    assert.equal(item.status, 'COMPLETED');
    assert.equal(item.statusUrl, `${stack.config.api.publicUrl}/v1/banciws/messages/${encodeURIComponent(second)}`);

    const theirs = await eventually(
      () => list(TENANT_B.key),
      (r) => r.status === 200 && r.json.items.some((i: Listed) => i.id === foreign),
      "tenant B's exchange listed",
    );
    assert.deepEqual(
      theirs.json.items.map((i: Listed) => i.id),
      [foreign],
    );

    const one = await list(TENANT_A.key, '?limit=1');
    assert.equal(one.status, 200);
    assert.equal(one.json.items.length, 1);
    assert.equal((await list(TENANT_A.key, '?limit=0')).status, 400);
  });

  test('BANCIWS: four lost answers wait for an operator; adopting the first filing ends ANSWERED at that index, nothing sent again', async () => {
    stack.sandbox.faults.add({ route: BANCIWS_UPLOAD, method: 'POST', times: 4, resetAfterReceive: true });
    const id = await exchange();
    const stuck = await exchangeWhen(id, (v) => v.stage === 'NEEDS_OPERATOR');
    assert.deepEqual(
      stuck.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST'],
      JSON.stringify(stuck),
    );
    assert.equal(stuck.needsAttention, true);
    const filed = banciwsUploadsOf(stuck.document.sha256);
    assert.equal(filed.length, 4);

    const adopted = await resolveExchange(id, { action: 'ADOPT_INDEX', uploadIndex: filed[0]!.index, note: 'found at ANAF' });
    assert.equal(adopted.status, 202, adopted.body.toString());
    // Bounded: a decision that is not applied fails here instead of hanging.
    const done = await exchangeWhen(id, (v) => v.stage === 'DONE');
    assert.equal(done.outcome, 'ANSWERED', JSON.stringify(done));
    assert.equal(done.uploadIndex, filed[0]!.index);
    assert.ok(
      done.decisions.some((d) => d.decision === 'OPERATOR_ADOPTED_INDEX' && d.detail.includes(filed[0]!.index)),
      JSON.stringify(done.decisions),
    );
    assert.equal(banciwsUploadsOf(stuck.document.sha256).length, 4, 'nothing uploaded after the decision');

    const late = await resolveExchange(id, { action: 'REUPLOAD' });
    assert.equal(late.status, 409);
    assert.equal(late.json.error.code, 'EXCHANGE_FINISHED');
  });

  test('BANCIWS: a resolve while the exchange is not stuck is refused with 409 EXCHANGE_NOT_STUCK and never applied', async () => {
    // Its first stareMesaj answer is held back (sandbox only) until released: the exchange sits in POLLING.
    stack.sandbox.faults.add({ route: BANCIWS_STATUS, method: 'POST', times: 1, holdAnswer: true });
    const id = await exchange();
    await eventually(
      async () => stack.sandbox.faults.held().length,
      (held) => held === 1,
      'the status call held',
    );
    assert.equal((await stack.client.workflow.getHandle(id).query(banciwsMessageQuery)).stage, 'POLLING');
    for (const action of [{ action: 'REUPLOAD' }, { action: 'ADOPT_INDEX', uploadIndex: '123' }, { action: 'ABANDON' }]) {
      const refused = await resolveExchange(id, action);
      assert.equal(refused.status, 409, `${action.action}: ${refused.body.toString()}`);
      assert.equal(refused.json.error.code, 'EXCHANGE_NOT_STUCK');
      assert.match(refused.json.error.message, /POLLING/);
    }
    stack.sandbox.faults.release();
    const done = await exchangeResult(id);
    assert.equal(done.outcome, 'ANSWERED', JSON.stringify(done));
    assert.ok(!done.decisions.some((d) => d.decision.startsWith('OPERATOR_')), JSON.stringify(done.decisions));
  });

  test('BANCIWS: the resolve Update is refused in the workflow unless stuck; a resolve signal then is dropped and recorded, never kept', async () => {
    stack.sandbox.faults.add({ route: BANCIWS_STATUS, method: 'POST', times: 1, holdAnswer: true });
    const id = await exchange();
    await eventually(
      async () => stack.sandbox.faults.held().length,
      (held) => held === 1,
      'the status call held',
    );
    const handle = stack.client.workflow.getHandle(id);
    await assert.rejects(handle.executeUpdate(banciwsResolveUpdate, { args: [{ action: 'REUPLOAD' }] }), refusedWith('EXCHANGE_NOT_STUCK'));
    // The Web UI's and CLI's way: a signal cannot be refused, so the workflow drops it and says so.
    await handle.signal(banciwsResolveSignal, { action: 'ABANDON', note: 'sent while polling' });
    await exchangeWhen(id, (v) => v.decisions.some((d) => d.decision === 'RESOLVE_SIGNAL_DROPPED'));
    stack.sandbox.faults.release();
    const done = await exchangeResult(id);
    assert.equal(done.outcome, 'ANSWERED', JSON.stringify(done));
    const dropped = done.decisions.find((d) => d.decision === 'RESOLVE_SIGNAL_DROPPED');
    assert.match(dropped?.detail ?? '', /ABANDON: sent while polling.*POLLING/, JSON.stringify(done.decisions));
    assert.ok(!done.decisions.some((d) => d.decision.startsWith('OPERATOR_')), JSON.stringify(done.decisions));
  });

  test('BANCIWS: an ABANDON accepted while the listing is read wins over the receipt the listing then finds; nothing stays pending', async () => {
    const options = stack.sandbox.banciws!.options;
    const listingDelayMs = options.listingDelayMs;
    // ANAF lists the receipt at once; the listing's answer (computed when asked) is held until the operator has decided.
    options.listingDelayMs = 0;
    let release = () => undefined as unknown;
    try {
      stack.sandbox.faults.add({ route: BANCIWS_UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
      const id = await exchange();
      release = await holdListingWhileReconciling(
        stack.sandbox.faults,
        BANCIWS_LISTING,
        'POST',
        async () => (await stack.client.workflow.getHandle(id).query(banciwsMessageQuery)).stage,
      );
      const abandoned = await resolveExchange(id, { action: 'ABANDON', note: 'filed by hand' });
      assert.equal(abandoned.status, 202, abandoned.body.toString());
      release();
      const done = await exchangeResult(id);
      assert.equal(done.outcome, 'FAILED', JSON.stringify(done));
      assert.ok(
        done.decisions.some((d) => d.decision === 'OPERATOR_ABANDONED' && d.detail === 'filed by hand'),
        JSON.stringify(done.decisions),
      );
      assert.ok(!done.decisions.some((d) => d.decision === 'ADOPTED_RECEIPT_INDEX'), JSON.stringify(done.decisions));
      assert.equal(banciwsUploadsOf(done.document.sha256).length, 1, 'uploaded once');
      const late = await resolveExchange(id, { action: 'REUPLOAD' });
      assert.equal(late.json.error.code, 'EXCHANGE_FINISHED', 'nothing left pending');
    } finally {
      release();
      options.listingDelayMs = listingDelayMs;
    }
  });

  // e-Transport
  const declare = async () => {
    const ref = next('ETR');
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/etransport/declarations?cif=${CIF}`, {
      body: transportXml({ declarantCif: CIF, ref }),
      headers: { 'idempotency-key': ref },
    });
    assert.equal(res.status, 202, res.text);
    return { id: res.json.id as string, ref };
  };
  const resolveDeclaration = (id: string, json: unknown) =>
    callApi(stack, OPERATOR.key, 'POST', `/v1/etransport/declarations/${encodeURIComponent(id)}/resolve`, { json });

  test('e-Transport: four lost answers wait for an operator; abandoning ends FAILED with nothing sent again', async () => {
    stack.sandbox.faults.add({ route: ETRANSPORT_UPLOAD, method: 'POST', times: 4, resetAfterReceive: true });
    const { id, ref } = await declare();
    const stuck = await declarationWhen(stack.client, id, (v) => v.stage === 'NEEDS_OPERATOR', 90_000);
    assert.deepEqual(
      stuck.operations[0]!.attempts.map((a) => a.result),
      ['ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST', 'ANSWER_LOST'],
      JSON.stringify(stuck),
    );
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 4);

    const abandoned = await resolveDeclaration(id, { action: 'ABANDON', note: 'declared again by hand' });
    assert.equal(abandoned.status, 202, abandoned.text);
    const done = await declarationWhen(stack.client, id, (v) => v.stage === 'DONE');
    assert.equal(done.outcome, 'FAILED', JSON.stringify(done));
    assert.ok(
      done.decisions.some((d) => d.decision === 'OPERATOR_ABANDONED' && d.detail === 'declared again by hand'),
      JSON.stringify(done.decisions),
    );
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 4, 'nothing uploaded after the decision');
  });

  test('e-Transport: a resolve while the declaration is not stuck (its UIT active) is refused with 409 DECLARATION_NOT_STUCK', async () => {
    const { id, ref } = await declare();
    await declarationWhen(stack.client, id, (v) => v.outcome === 'ACCEPTED' && v.stage === 'ACTIVE');
    for (const action of [{ action: 'REUPLOAD' }, { action: 'ADOPT_INDEX', uploadIndex: '123' }, { action: 'ABANDON' }]) {
      const refused = await resolveDeclaration(id, action);
      assert.equal(refused.status, 409, `${action.action}: ${refused.text}`);
      assert.equal(refused.json.error.code, 'DECLARATION_NOT_STUCK');
      assert.match(refused.json.error.message, /ACTIVE/);
    }
    const view = await declarationWhen(stack.client, id, () => true);
    assert.equal(view.stage, 'ACTIVE');
    assert.ok(!view.decisions.some((d) => d.decision.startsWith('OPERATOR_')), JSON.stringify(view.decisions));
    assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1);
  });

  test('e-Transport: an ABANDON accepted while lista is read wins over the upload lista then shows; nothing stays pending', async () => {
    const options = stack.sandbox.etransport.state.options;
    const { listingDelayMs, processingDelayMs } = options;
    // ANAF lists the upload at once; lista's answer (computed when asked) is held until the operator has decided.
    Object.assign(options, { listingDelayMs: 0, processingDelayMs: 0 });
    let release = () => undefined as unknown;
    try {
      stack.sandbox.faults.add({ route: ETRANSPORT_UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
      const { id, ref } = await declare();
      release = await holdListingWhileReconciling(
        stack.sandbox.faults,
        ETRANSPORT_LISTA,
        'GET',
        async () => (await declarationWhen(stack.client, id, () => true)).stage,
      );
      const abandoned = await resolveDeclaration(id, { action: 'ABANDON', note: 'declared by hand' });
      assert.equal(abandoned.status, 202, abandoned.text);
      release();
      const done = await declarationWhen(stack.client, id, (v) => v.stage === 'DONE' || v.stage === 'ACTIVE');
      assert.equal(done.outcome, 'FAILED', JSON.stringify(done));
      assert.ok(
        done.decisions.some((d) => d.decision === 'OPERATOR_ABANDONED' && d.detail === 'declared by hand'),
        JSON.stringify(done.decisions),
      );
      assert.ok(!done.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX'), JSON.stringify(done.decisions));
      assert.equal(stack.sandbox.etransport.state.notificationUploads(CIF, ref), 1, 'uploaded once');
      const late = await resolveDeclaration(id, { action: 'REUPLOAD' });
      assert.equal(late.json.error.code, 'DECLARATION_FINISHED', 'nothing left pending');
    } finally {
      release();
      Object.assign(options, { listingDelayMs, processingDelayMs });
    }
  });

  const operate = async (id: string, json: unknown, key: string) => {
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/etransport/declarations/${encodeURIComponent(id)}/operations`, {
      json,
      headers: { 'idempotency-key': next(key) },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.operationId as string;
  };
  const opOf = (v: DeclarationView, opId: string) => v.operations.find((o) => o.id === opId);

  test('e-Transport: a resolve signal while the UIT is active is dropped (recorded), so a later lost deletion waits for an operator instead of being re-sent', async () => {
    const { id } = await declare();
    const active = await declarationWhen(stack.client, id, (v) => v.outcome === 'ACCEPTED' && v.stage === 'ACTIVE');
    const handle = stack.client.workflow.getHandle(id);
    await assert.rejects(
      handle.executeUpdate(resolveDeclarationUpdate, { args: [{ action: 'REUPLOAD' }] }),
      refusedWith('DECLARATION_NOT_STUCK'),
    );
    await handle.signal(resolveSignal, { action: 'REUPLOAD', note: 'stray' });
    await declarationWhen(stack.client, id, (v) =>
      v.decisions.some((d) => d.decision === 'RESOLVE_SIGNAL_DROPPED' && /REUPLOAD: stray.*ACTIVE/.test(d.detail)),
    );

    stack.sandbox.faults.add({ route: ETRANSPORT_UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    const deletion = await operate(id, { type: 'DELETION' }, 'del');
    const stuck = await declarationWhen(
      stack.client,
      id,
      (v) => v.stage === 'NEEDS_OPERATOR' || opOf(v, deletion)?.stage === 'DONE',
      60_000,
    );
    assert.equal(stuck.stage, 'NEEDS_OPERATOR', JSON.stringify(stuck));
    assert.ok(!stuck.decisions.some((d) => d.decision === 'OPERATOR_REUPLOAD'), JSON.stringify(stuck.decisions));
    assert.equal(stack.sandbox.etransport.state.followUpUploads(active.uit!, 'DEL'), 1, 'the deletion was sent once');

    const abandoned = await resolveDeclaration(id, { action: 'ABANDON', note: 'checked by hand' });
    assert.equal(abandoned.status, 202, abandoned.text);
    const after = await declarationWhen(stack.client, id, (v) => opOf(v, deletion)?.stage === 'DONE');
    assert.equal(opOf(after, deletion)?.outcome, 'FAILED');
    assert.equal(after.stage, 'ACTIVE');
  });

  test('e-Transport: an ABANDON that ends a follow-up waiting for its authorization is used up; the next lost follow-up waits for an operator', async () => {
    const { id } = await declare();
    const active = await declarationWhen(stack.client, id, (v) => v.outcome === 'ACCEPTED' && v.stage === 'ACTIVE');
    // ANAF refuses the token while the vehicle change is polled: the declaration waits for an authorization.
    stack.sandbox.faults.add({ route: ETRANSPORT_STATUS, method: 'GET', status: 403, body: 'Forbidden' });
    const change = await operate(id, { type: 'VEHICLE_CHANGE', vehicle: 'B77ABN', date: today() }, 'mvh');
    await declarationWhen(stack.client, id, (v) => v.stage === 'WAITING_FOR_AUTHORIZATION', 60_000);
    // ANAF keeps refusing until the operator has decided: cleared earlier, the next look (the authorization
    // back-off) could poll through, and the ABANDON would find nothing waiting (409).
    const abandoned = await resolveDeclaration(id, { action: 'ABANDON', note: 'no authorization' });
    assert.equal(abandoned.status, 202, abandoned.text);
    stack.sandbox.faults.clear();
    const gaveUp = await declarationWhen(stack.client, id, (v) => opOf(v, change)?.stage === 'DONE' && v.stage === 'ACTIVE');
    assert.equal(opOf(gaveUp, change)?.outcome, 'FAILED', JSON.stringify(gaveUp));

    stack.sandbox.faults.add({ route: ETRANSPORT_UPLOAD, method: 'POST', times: 1, resetAfterReceive: true });
    const deletion = await operate(id, { type: 'DELETION' }, 'del');
    const stuck = await declarationWhen(
      stack.client,
      id,
      (v) => v.stage === 'NEEDS_OPERATOR' || opOf(v, deletion)?.stage === 'DONE',
      60_000,
    );
    assert.equal(stuck.stage, 'NEEDS_OPERATOR', JSON.stringify(stuck));
    assert.equal(opOf(stuck, deletion)?.stage, 'NEEDS_OPERATOR');
    assert.equal(stuck.decisions.filter((d) => d.decision === 'OPERATOR_ABANDONED').length, 1, JSON.stringify(stuck.decisions));
    assert.equal(stack.sandbox.etransport.state.followUpUploads(active.uit!, 'DEL'), 1);
    const adopted = await resolveDeclaration(id, { action: 'ABANDON', note: 'checked by hand' });
    assert.equal(adopted.status, 202, adopted.text);
    await declarationWhen(stack.client, id, (v) => opOf(v, deletion)?.stage === 'DONE');
  });
});
