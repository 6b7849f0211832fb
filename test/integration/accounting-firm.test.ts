import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { withCheckDigit } from '../../schemas/cif';
import { coverageCall } from '../../activities/oauth/cif-coverage';
import { TokenProvider } from '../../activities/oauth/token-provider';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { authorizationLinksOf } from '../../services/clients/authorization-links';
import { currentTokenQuery } from '../../workflows/oauth/definitions';
import { organizationWorkflowId, unlinkAuthorizationUpdate } from '../../workflows/organization';
import { callApi, type ApiAnswer } from '../../devkit/api-client';
import { TENANT_A, TENANT_B } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { tenantHistoryTexts } from '../../devkit/history';
import { tokenRequest, walkAuthorizePage } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { finished } from '../../devkit/views';
import { eventually } from '../../devkit/wait';

/**
 * Issue 16 end to end: an accountant signs in once (a certificate with rights in SPV for three
 * companies) and the product serves all three with one token; a fourth company the certificate
 * does not cover is refused by ANAF's own answer and never linked. Real dev server, real sandbox.
 */

const COVERED = ['14399840', '18547290', withCheckDigit('3100004')];
const NOT_COVERED = withCheckDigit('2345678');
const BUYER = withCheckDigit('1234567');
const ACCOUNTANT = {
  serial: 'ACC0FF1CE0000016',
  subject: 'CN=IONESCU ANA, SERIALNUMBER=PNORO-2800101000000, O=CABINET CONTABIL SRL, C=RO',
  cifs: COVERED,
};
const ERP_CALLBACK = 'https://erp.example/anaf/callback';
const OAUTH_CLIENT = { clientId: 'anaf-flow-test-client', clientSecret: 'anaf-flow-test-secret' };
const DAY_MS = 24 * 3600_000;

describe('accounting firms: one sign-in, many companies', () => {
  let stack: Stack;
  let n = 0;
  /** Every answer of the API and every URL a browser saw, scanned for secrets at the end. */
  const answers: string[] = [];
  const secrets = new Set<string>();
  /** OAuth states: in the sign-in URL by necessity (ANAF sends them back), never in a log. */
  const states = new Set<string>();

  async function api(method: string, path: string, json?: unknown, key = TENANT_A.key): Promise<ApiAnswer> {
    const res = await callApi(stack, key, method, path, json === undefined ? {} : { json });
    answers.push(res.text);
    return res;
  }

  /** The person at ANAF's page: approves with the accountant's certificate; returns where ANAF redirects (code and state). */
  async function approveAtAnaf(url: string) {
    const anafUrl = new URL(url);
    const walked = await walkAuthorizePage(stack.sandbox.url, {
      clientId: anafUrl.searchParams.get('client_id')!,
      redirectUri: anafUrl.searchParams.get('redirect_uri')!,
      state: anafUrl.searchParams.get('state')!,
      certSerial: ACCOUNTANT.serial,
    });
    assert.ok(walked.code && walked.state, walked.location.toString());
    secrets.add(walked.code);
    states.add(walked.state);
    return { code: walked.code, state: walked.state, location: walked.location };
  }

  async function submitInvoice(cif: string) {
    const number = `AF16-${process.pid}-${++n}`;
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${cif}`, {
      body: ublInvoice({ supplierCif: cif, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `af16-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  }

  async function signIn(body: Record<string, unknown>): Promise<{ requestId: string; authorizationId: string }> {
    const created = await api('POST', '/v1/authorization-requests', body);
    assert.equal(created.status, 201, created.text);
    assert.match(created.json.authorizationId, /^az_[A-Za-z0-9]{20}$/);
    assert.equal(created.json.state, undefined, 'the answer carries no state field');
    const go = await request(created.json.shortUrl);
    await go.body.dump();
    assert.equal(go.statusCode, 302, 'our short link forwards to ANAF');
    const { location, state } = await approveAtAnaf(String(go.headers.location));
    const secretPart = state.split('.')[2];
    assert.ok(secretPart && secretPart.length === 32, 'a state with a secret part');
    assert.ok(
      !created.json.shortUrl.includes(secretPart) && !created.json.shortUrl.includes(encodeURIComponent(state)),
      'the short link is not the state',
    );
    const callback = await request(location.toString());
    answers.push(await callback.body.text());
    assert.equal(callback.statusCode, 200);
    return { requestId: created.json.id, authorizationId: created.json.authorizationId };
  }

  before(async () => {
    stack = await startStack({
      sandbox: { efactura: { processingDelayMs: 200 }, oauth: { certificates: [ACCOUNTANT] } },
      configOverrides: {
        ANAF_OAUTH_CLIENTS: JSON.stringify([{ id: 'erp', ...OAUTH_CLIENT, redirectUri: ERP_CALLBACK, scopes: ['EFACTURA', 'ETRANSPORT'] }]),
      },
    });
    // The ERP registered its own callback with ANAF for the same client (ANAF's "Editare profil Oauth").
    stack.sandbox.oauth.configure({ clients: [{ ...OAUTH_CLIENT, redirectUris: [stack.config.anaf.redirectUri!, ERP_CALLBACK] }] });
    for (const cif of [...COVERED, NOT_COVERED]) {
      const org = await api('POST', '/v1/organizations', { cif, name: `Company ${cif}` });
      assert.equal(org.status, 201, org.text);
    }
  });

  after(async () => {
    await stack?.close();
  });

  let signedIn: { authorizationId: string };
  /** The ERP's sign-in for both scopes (finalize test). */
  let both: string;

  test('one sign-in for four companies: the three ANAF covers are linked, the fourth refused and never linked', async () => {
    signedIn = await signIn({ scope: 'EFACTURA', organizations: [...COVERED, NOT_COVERED], label: 'Cabinet Ionescu' });
    const id = signedIn.authorizationId;
    const view = await eventually(
      () => api('GET', `/v1/authorizations/${id}`),
      (r) => r.status === 200 && r.json.recentEvents.filter((e: { event: string }) => /^CIF_(LINKED|REFUSED)$/.test(e.event)).length === 4,
      'every listed company checked',
    );
    assert.equal(view.json.status, 'ACTIVE');
    assert.equal(view.json.label, 'Cabinet Ionescu');
    assert.deepEqual(view.json.scopes, ['EFACTURA']);
    assert.deepEqual(view.json.companies.map((c: { cif: string }) => c.cif).sort(), [...COVERED].sort());
    const refused = view.json.recentEvents.find((e: { event: string }) => e.event === 'CIF_REFUSED');
    assert.match(refused.detail, new RegExp(`${NOT_COVERED}.*Nu aveti drept in SPV`));

    const listed = await api('GET', '/v1/authorizations');
    const mine = listed.json.items.find((a: { id: string }) => a.id === id);
    assert.ok(mine, listed.text);
    assert.equal(mine.companies.length, 3);
    assert.ok(mine.accessTokenExpiresAt && mine.refreshTokenExpiresAt);

    const put = await api('PUT', `/v1/organizations/${NOT_COVERED}/authorizations/EFACTURA`, { authorizationId: id });
    assert.equal(put.status, 422, put.text);
    assert.equal(put.json.error.code, 'CIF_NOT_COVERED');
    const again = await api('PUT', `/v1/organizations/${COVERED[0]}/authorizations/EFACTURA`, { authorizationId: id });
    assert.equal(again.status, 200, 'a re-PUT is idempotent');
    assert.equal(again.json.previousAuthorizationId, null);
  });

  test('invoices of the three companies are accepted with one token; its expiry at ANAF causes exactly one refresh; each is found by AnafAuthorizationId', async () => {
    const id = signedIn.authorizationId;
    // ANAF ends the access token (its clock is past the 90 days) while our side still holds it as valid.
    stack.sandbox.clock.advance(91 * DAY_MS);
    const refreshesBefore = stack.sandbox.state.counters.oauth.refreshes;
    const ids = await Promise.all(COVERED.map((cif) => submitInvoice(cif)));
    for (const wf of ids) assert.equal((await finished(stack, wf)).outcome, 'ACCEPTED', wf);
    assert.equal(stack.sandbox.state.counters.oauth.refreshes - refreshesBefore, 1, 'exactly one refresh at the token endpoint');
    assert.equal(stack.sandbox.efactura.state.uploadsFor(NOT_COVERED, 'any', '2026-11-20'), 0);

    const found = await eventually(
      async () => {
        const out: string[] = [];
        for await (const wf of stack.client.workflow.list({ query: `AnafAuthorizationId = '${id}' AND AnafService = 'efactura'` }))
          out.push(wf.workflowId);
        return out;
      },
      (out) => ids.every((w) => out.includes(w)),
      'every submission searchable by its authorization',
    );
    assert.equal(found.length, 3);
    const view = await api('GET', `/v1/authorizations/${id}`);
    assert.equal(view.json.refreshCount, 1);
  });

  test('unlinking one company keeps the sign-in working for the others', async () => {
    const id = signedIn.authorizationId;
    const unlinked = await api('DELETE', `/v1/organizations/${COVERED[2]}/authorizations/EFACTURA`);
    assert.equal(unlinked.status, 200, unlinked.text);
    assert.equal(unlinked.json.unlinked, true);
    assert.equal(unlinked.json.status, 'ACTIVE', 'never revoked for the others');
    assert.deepEqual(unlinked.json.companies.map((c: { cif: string }) => c.cif).sort(), COVERED.slice(0, 2).sort());
    const wf = await submitInvoice(COVERED[0]!);
    assert.equal((await finished(stack, wf)).outcome, 'ACCEPTED');
    const view = await api('GET', `/v1/authorizations/${id}`);
    assert.equal(view.json.status, 'ACTIVE');
  });

  test('bad input: another tenant 404, a scope not signed in for 409, unknown organization 404, listings filter', async () => {
    const id = signedIn.authorizationId;
    const other = await api('PUT', `/v1/organizations/${COVERED[0]}/authorizations/EFACTURA`, { authorizationId: id }, TENANT_B.key);
    assert.equal(other.status, 404, other.text);
    await api('POST', '/v1/organizations', { cif: COVERED[0], name: 'Globex copy' }, TENANT_B.key);
    const otherTenant = await api('PUT', `/v1/organizations/${COVERED[0]}/authorizations/EFACTURA`, { authorizationId: id }, TENANT_B.key);
    assert.equal(otherTenant.status, 404, otherTenant.text);
    assert.equal(otherTenant.json.error.code, 'AUTHORIZATION_NOT_FOUND');
    assert.equal((await api('GET', `/v1/authorizations/${id}`, undefined, TENANT_B.key)).status, 404);

    const scope = await api('PUT', `/v1/organizations/${COVERED[0]}/authorizations/ETRANSPORT`, { authorizationId: id });
    assert.equal(scope.status, 409, scope.text);
    assert.equal(scope.json.error.code, 'SCOPE_NOT_AUTHORIZED');

    const unknownOrg = await api('PUT', `/v1/organizations/${withCheckDigit('7654321')}/authorizations/EFACTURA`, { authorizationId: id });
    assert.equal(unknownOrg.status, 404);
    assert.equal(unknownOrg.json.error.code, 'ORGANIZATION_NOT_FOUND');

    const completed = await api('GET', '/v1/authorization-requests?scope=EFACTURA&status=COMPLETED');
    assert.equal(completed.status, 200, completed.text);
    assert.ok(completed.json.items.some((r: { authorizationId?: string }) => r.authorizationId === id));
    const waiting = await api('GET', '/v1/authorization-requests?scope=ETRANSPORT&status=COMPLETED');
    assert.ok(!waiting.json.items.some((r: { authorizationId?: string }) => r.authorizationId === id));
  });

  test("the ERP's own callback: finalize with state and code; reused state 400, spent or late code 410", async () => {
    const created = await api('POST', '/v1/authorization-requests', {
      scope: 'BOTH',
      oauthCallback: ERP_CALLBACK,
      organizations: [COVERED[1]],
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.shortUrl, created.json.url, 'no page of ours on the ERP origin: straight to ANAF');
    const reqId = created.json.id as string;
    const exchanges = () => stack.sandbox.state.counters.oauth.codeExchanges;

    // A code received more than 60 s ago is not sent to ANAF, and the request stays open.
    const late = await approveAtAnaf(created.json.url);
    const before = exchanges();
    const old = await api('POST', `/v1/authorization-requests/${reqId}/finalize`, {
      state: late.state,
      code: late.code,
      receivedAt: new Date(Date.now() - 90_000).toISOString(),
    });
    assert.equal(old.status, 410, old.text);
    assert.equal(old.json.error.code, 'CODE_EXPIRED');
    assert.equal(exchanges(), before, 'ANAF not called');

    // Knowing the request id (answers, workflow ids, logs) is not knowing the state.
    for (const state of [
      `${TENANT_A.tenant}.${'x'.repeat(32)}`,
      `${TENANT_A.tenant}.${reqId}`,
      `${TENANT_A.tenant}.${reqId}.${'y'.repeat(32)}`,
    ]) {
      const wrong = await api('POST', `/v1/authorization-requests/${reqId}/finalize`, { state, code: late.code });
      assert.equal(wrong.status, 400, state);
      assert.equal(wrong.json.error.code, 'STATE_INVALID');
    }

    const ok = await approveAtAnaf(created.json.url);
    const done = await api('POST', `/v1/authorization-requests/${reqId}/finalize`, {
      state: ok.state,
      code: ok.code,
      receivedAt: new Date().toISOString(),
    });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.outcome, 'AUTHORIZED');
    assert.match(done.json.authorizationId, /^az_/);
    const view = await eventually(
      () => api('GET', `/v1/authorizations/${done.json.authorizationId}`),
      (r) => r.json.companies?.length === 2,
      'the listed company linked for both scopes',
    );
    assert.deepEqual(view.json.scopes, ['EFACTURA', 'ETRANSPORT']);
    both = done.json.authorizationId;

    const reused = await api('POST', `/v1/authorization-requests/${reqId}/finalize`, { state: ok.state, code: ok.code });
    assert.equal(reused.status, 400);
    assert.equal(reused.json.error.code, 'STATE_INVALID');

    // A code ANAF no longer takes (already exchanged: invalid_grant) → 410.
    const second = await api('POST', '/v1/authorization-requests', { scope: 'EFACTURA', oauthCallback: ERP_CALLBACK });
    const spent = await approveAtAnaf(second.json.url);
    const direct = await tokenRequest(
      stack.sandbox.url,
      { grant_type: 'authorization_code', code: spent.code, redirect_uri: ERP_CALLBACK },
      { basic: [OAUTH_CLIENT.clientId, OAUTH_CLIENT.clientSecret] },
    );
    assert.equal(direct.status, 200);
    secrets.add(String(direct.json.access_token)).add(String(direct.json.refresh_token));
    const expired = await api('POST', `/v1/authorization-requests/${second.json.id}/finalize`, { state: spent.state, code: spent.code });
    assert.equal(expired.status, 410, expired.text);
    assert.equal(expired.json.error.code, 'CODE_EXPIRED');
  });

  test("a coverage answer that is neither a listing nor ANAF's refusal links nothing: 502 ANAF_CHECK_INCONCLUSIVE", async () => {
    const linkedFor = async (scope: string) =>
      (await api('GET', `/v1/authorizations/${both}`)).json.companies.some(
        (c: { cif: string; scope: string }) => c.cif === COVERED[0] && c.scope === scope,
      );
    // e-Transport's lista with another Errors[] message (documented: a bad day count); e-Factura's listing with neither mesaje nor eroare.
    const odd = [
      {
        scope: 'ETRANSPORT',
        route: '^/test/ETRANSPORT/ws/v1/lista/',
        body: { Errors: [{ errorMessage: 'Numarul de zile trebuie sa fie intre 1 si 60' }], ExecutionStatus: 1 },
      },
      { scope: 'EFACTURA', route: '^/test/FCTEL/rest/listaMesajeFactura', body: { titlu: 'Lista Mesaje' } },
    ];
    for (const { scope, route, body } of odd) {
      stack.sandbox.faults.add({
        route,
        method: 'GET',
        times: 1,
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify(body),
      });
      const put = await api('PUT', `/v1/organizations/${COVERED[0]}/authorizations/${scope}`, { authorizationId: both });
      assert.equal(put.status, 502, `${scope}: ${put.text}`);
      assert.equal(put.json.error.code, 'ANAF_CHECK_INCONCLUSIVE');
      assert.equal(await linkedFor(scope), false, `${scope}: nothing linked`);
    }
    // The same PUT once ANAF answers with a listing (or its "no messages"): linked.
    const ok = await api('PUT', `/v1/organizations/${COVERED[0]}/authorizations/ETRANSPORT`, { authorizationId: both });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await linkedFor('ETRANSPORT'), true);
  });

  test("ANAF rejects a token after a relink: the worker's cached link is read again and the new sign-in used, the old one never refreshed", async () => {
    const sealer = new TokenSealer(stack.config.tokenSealing);
    // A worker's provider holding links a minute (the ANAF workers hold them 10 s): the race made deterministic.
    const provider = new TokenProvider(stack.client, sealer, { cacheMs: 60_000 });
    const key = { tenant: TENANT_A.tenant, cif: COVERED[0]!, scope: 'EFACTURA' as const };
    const tokenOf = async (id: string) =>
      sealer.open((await stack.client.workflow.getHandle(`${TENANT_A.tenant}/authorization/${id}`).query(currentTokenQuery))!.sealedAccess);
    const listing = (token: string) => coverageCall(stack.config.anaf.apiBaseUrl, 'EFACTURA', COVERED[0]!, token);
    const before = await provider.withToken(key, listing);
    assert.equal(before.ok, true);
    const relinked = await api('PUT', `/v1/organizations/${COVERED[0]}/authorizations/EFACTURA`, { authorizationId: both });
    assert.equal(relinked.status, 200, relinked.text);
    assert.equal(relinked.json.previousAuthorizationId, signedIn.authorizationId);
    const refreshesOfA = (await api('GET', `/v1/authorizations/${signedIn.authorizationId}`)).json.refreshCount;
    const refreshesAtAnaf = stack.sandbox.state.counters.oauth.refreshes;
    // ANAF refuses the next listing once (401), as it does a token it no longer takes.
    stack.sandbox.faults.add({
      route: '^/test/FCTEL/rest/listaMesajeFactura',
      method: 'GET',
      times: 1,
      status: 401,
      contentType: 'application/json',
      body: '{"error":"invalid_token"}',
    });
    const used: string[] = [];
    const after = await provider.withToken(key, (token) => (used.push(token), listing(token)));
    assert.equal(after.ok, true);
    const [tokenA, tokenB] = [await tokenOf(signedIn.authorizationId), await tokenOf(both)];
    // Named, never printed: a failing assertion would show the tokens.
    assert.deepEqual(
      used.map((t) => (t === tokenA ? 'old sign-in' : t === tokenB ? 'new sign-in' : 'another token')),
      ['old sign-in', 'new sign-in'],
    );
    assert.equal(
      (await api('GET', `/v1/authorizations/${signedIn.authorizationId}`)).json.refreshCount,
      refreshesOfA,
      'the old sign-in is not refreshed',
    );
    assert.equal(stack.sandbox.state.counters.oauth.refreshes, refreshesAtAnaf, 'no refresh at ANAF at all');
  });

  test('two PUTs of one link at once: the one that lands while the other is checked at ANAF wins; the other links nothing and does not list the company', async () => {
    const [a, b, cif] = [signedIn.authorizationId, both, COVERED[2]!];
    const listsIt = async (id: string) =>
      (await api('GET', `/v1/authorizations/${id}`)).json.companies.some(
        (c: { cif: string; scope: string }) => c.cif === cif && c.scope === 'EFACTURA',
      );
    assert.equal((await authorizationLinksOf(stack.client, TENANT_A.tenant, cif)).EFACTURA, undefined, 'unlinked by an earlier test');
    // A's coverage call at ANAF is held; B's PUT is made and answered meanwhile.
    stack.sandbox.faults.add({ route: '^/test/FCTEL/rest/listaMesajeFactura', method: 'GET', times: 1, holdAnswer: true });
    const putA = api('PUT', `/v1/organizations/${cif}/authorizations/EFACTURA`, { authorizationId: a });
    await eventually(
      async () => stack.sandbox.faults.held(),
      (held) => held.some((h) => h.url.includes(cif)),
      "A's coverage call held",
    );
    const putB = await api('PUT', `/v1/organizations/${cif}/authorizations/EFACTURA`, { authorizationId: b });
    assert.equal(putB.status, 200, putB.text);
    stack.sandbox.faults.release();
    const answerA = await putA;
    assert.equal(answerA.status, 409, answerA.text);
    assert.equal(answerA.json.error.code, 'LINK_CHANGED');
    assert.equal((await authorizationLinksOf(stack.client, TENANT_A.tenant, cif)).EFACTURA, b, 'the organization routes to B');
    assert.equal(await listsIt(a), false, 'A does not list the company');
    assert.equal(await listsIt(b), true, 'B does');

    // An unlink that read A as the link (before B landed) leaves B linked.
    const org = stack.client.workflow.getHandle(organizationWorkflowId(TENANT_A.tenant, cif));
    await assert.rejects(
      org.executeUpdate(unlinkAuthorizationUpdate, { args: [{ scope: 'EFACTURA', authorizationId: a }] }),
      (err: Error) => {
        assert.ok(err instanceof WorkflowUpdateFailedError);
        assert.equal((err.cause as { type?: string }).type, 'LinkChanged');
        return true;
      },
    );
    assert.equal((await authorizationLinksOf(stack.client, TENANT_A.tenant, cif)).EFACTURA, b, 'B still linked');
    assert.equal(await listsIt(b), true);
  });

  test("an organization's authorizations include the sign-in linked per scope; deleting it unlinks it first", async () => {
    const cif = COVERED[2]!;
    const listed = await api('GET', `/v1/organizations/${cif}/authorizations`);
    assert.equal(listed.status, 200, listed.text);
    const linked = listed.json.items.filter((a: { linked: boolean }) => a.linked);
    assert.deepEqual(
      linked.map((a: { scope: string; authorizationId: string; status: string }) => [a.scope, a.authorizationId, a.status]),
      [['EFACTURA', both, 'ACTIVE']],
    );
    assert.ok(linked[0].accessTokenExpiresAt && linked[0].refreshTokenExpiresAt, 'its expiries');
    assert.ok(!listed.text.includes('sealed'), 'no token');

    const removed = await api('DELETE', `/v1/organizations/${cif}`);
    assert.equal(removed.status, 204, removed.text);
    const stillListing = await api('GET', `/v1/authorizations?cif=${cif}`);
    assert.deepEqual(stillListing.json.items, [], 'no authorization lists the deleted company');
    assert.equal((await api('GET', `/v1/authorizations/${both}`)).json.status, 'ACTIVE', 'the sign-in stays for the others');
  });

  test('nothing of a token or code in any answer, log or history; no state in a log', async () => {
    const sealer = new TokenSealer(stack.config.tokenSealing);
    const held = await stack.client.workflow
      .getHandle(`${TENANT_A.tenant}/authorization/${signedIn.authorizationId}`)
      .query(currentTokenQuery);
    assert.ok(held);
    secrets.add(sealer.open(held.sealedAccess));
    const codec = new AesGcmPayloadCodec(stack.config.payloadKeys);
    const haystacks = [
      ...stack.logs,
      ...answers,
      ...(await tenantHistoryTexts(stack.client, TENANT_A.tenant, codec, [`${TENANT_A.tenant}/authorization/${signedIn.authorizationId}`])),
    ];
    for (const secret of secrets) {
      const needles = secret.includes('.') && secret.length > 60 ? [secret, secret.slice(-40)] : [secret];
      for (const needle of needles) {
        const leak = haystacks.find((h) => h.includes(needle));
        assert.equal(leak, undefined, `secret material found in: ${leak?.slice(0, 200)}`);
      }
    }
    for (const state of states)
      assert.equal(
        stack.logs.find((l) => l.includes(state)),
        undefined,
        'a state in a log line',
      );
    // Nor in history (the request workflows keep its sha256) nor in the listings; only the creator's answer had the link.
    const listings = [
      (await api('GET', '/v1/authorization-requests')).text,
      (await api('GET', `/v1/organizations/${COVERED[1]}/authorization-requests`)).text,
    ];
    for (const state of states) {
      const secretPart = state.split('.')[2]!;
      const leak = [...haystacks.filter((h) => !answers.includes(h)), ...listings].find((h) => h.includes(secretPart));
      assert.equal(leak, undefined, `a state's secret part in: ${leak?.slice(0, 200)}`);
    }
  });
});
