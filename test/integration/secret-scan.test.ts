import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenProvider } from '../../activities/oauth/token-provider';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { callApi } from '../../devkit/api-client';
import { OPERATOR, TENANT_A, TENANT_B } from '../../devkit/config';
import { historyOf, historyText, payloadsOf, tenantHistoryTexts } from '../../devkit/history';
import { consentAtAnaf, walkAuthorizePage } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { authorizationRequestWorkflowId, authorizationWorkflowId } from '../../workflows/oauth/types';
import { organizationWorkflowId } from '../../workflows/organization';

/**
 * The OAuth browser routes and the codec handle the most sensitive strings there are: the
 * authorization `state`, ANAF's one-time `code`, the tokens it buys and the keys that call
 * us. Driven for real (consent at the sandbox, the short link, the callback, the codec with
 * an operator key), none of them may appear in a log line, in what Temporal stores, or in an
 * answer that is not meant to carry it.
 */
describe('secret scan: /oauth/go, /oauth/callback and /codec leave no code, state, token or key behind', () => {
  const CIF = '14399840';
  let stack: Stack;
  const answers: string[] = [];
  let state = '';
  let code = '';
  let requestId = '';
  /** The sign-in for many companies (POST /v1/authorization-requests): its state, code and ids. */
  const signIn = { state: '', code: '', requestId: '', authorizationId: '' };
  const tokens: string[] = [];

  /** Status, headers and body of an answer, as one text to scan. */
  const answerText = async (res: Response) => `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`;

  before(async () => {
    stack = await startStack();
    const consent = await consentAtAnaf(stack, TENANT_A.key, CIF);
    requestId = consent.requestId;
    state = consent.callback.searchParams.get('state')!;
    code = consent.callback.searchParams.get('code')!;
    assert.ok(state && code);

    // The short link forwards to ANAF: its Location must carry the state to ANAF, nothing else of the answer may.
    assert.ok(!consent.shortUrl.includes(encodeURIComponent(state)), 'the short link is not the state');
    const go = await fetch(consent.shortUrl, { redirect: 'manual' });
    assert.equal(go.status, 302);
    assert.equal(new URL(go.headers.get('location')!).searchParams.get('state'), state);
    answers.push(`${go.status} ${await go.text()}`);

    const callback = await fetch(consent.callback.toString(), { redirect: 'manual' });
    const callbackText = await answerText(callback);
    assert.equal(callback.status, 200, callbackText);
    answers.push(callbackText);

    // The operator reads the authorization's payloads through the codec, as the Web UI does.
    const authorization = authorizationWorkflowId({ tenant: TENANT_A.tenant, cif: CIF, scope: 'EFACTURA' });
    const payloads = payloadsOf(await historyOf(stack.client, authorization)).map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    }));
    assert.ok(payloads.length > 0);
    const decoded = await fetch(`${stack.apiUrl}/codec/decode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payloads }),
    });
    const decodedText = await answerText(decoded);
    assert.equal(decoded.status, 200, decodedText);
    answers.push(decodedText);
    answers.push((await callApi(stack, TENANT_A.key, 'GET', `/v1/organizations/${CIF}/authorizations`)).text);

    await signInForManyCompanies();

    const provider = new TokenProvider(stack.client, new TokenSealer(stack.config.tokenSealing));
    tokens.push((await provider.accessToken({ tenant: TENANT_A.tenant, cif: CIF, scope: 'EFACTURA' })).token);
  });

  /** Issue 16's routes: a sign-in listing the company, walked through the short link and our callback, then its listings and a re-link. */
  async function signInForManyCompanies(): Promise<void> {
    const created = await callApi(stack, TENANT_A.key, 'POST', '/v1/authorization-requests', {
      json: { scope: 'EFACTURA', organizations: [CIF], label: 'scan' },
    });
    assert.equal(created.status, 201, created.text);
    Object.assign(signIn, { requestId: created.json.id, authorizationId: created.json.authorizationId });
    const go = await fetch(created.json.shortUrl, { redirect: 'manual' });
    // Its Location carries the state to ANAF by necessity; the rest of the answer may not.
    answers.push(`${go.status} ${await go.text()}`);
    const anafUrl = new URL(go.headers.get('location')!);
    const walked = await walkAuthorizePage(stack.sandbox.url, {
      clientId: anafUrl.searchParams.get('client_id')!,
      redirectUri: anafUrl.searchParams.get('redirect_uri')!,
      state: anafUrl.searchParams.get('state')!,
      decision: 'approve',
    });
    signIn.state = walked.location.searchParams.get('state')!;
    signIn.code = walked.location.searchParams.get('code')!;
    assert.ok(signIn.state && signIn.code && signIn.state.split('.').length === 3);
    const back = await fetch(walked.location.toString(), { redirect: 'manual' });
    const backText = await answerText(back);
    assert.equal(back.status, 200, backText);
    answers.push(backText);
    // A finalize replaying that state and code: refused, and its answer scanned too.
    answers.push(
      (
        await callApi(stack, TENANT_A.key, 'POST', `/v1/authorization-requests/${signIn.requestId}/finalize`, {
          json: { state: signIn.state, code: signIn.code },
        })
      ).text,
    );
    for (const path of [
      '/v1/authorization-requests',
      `/v1/organizations/${CIF}/authorization-requests`,
      '/v1/authorizations',
      `/v1/authorizations/${signIn.authorizationId}`,
    ]) {
      answers.push((await callApi(stack, TENANT_A.key, 'GET', path)).text);
    }
    answers.push(
      (
        await callApi(stack, TENANT_A.key, 'PUT', `/v1/organizations/${CIF}/authorizations/EFACTURA`, {
          json: { authorizationId: signIn.authorizationId },
        })
      ).text,
    );
  }

  after(async () => {
    await stack?.close();
  });

  test('no log line, stored history or answer holds the code, the state, a token or a key', async () => {
    const request = authorizationRequestWorkflowId(TENANT_A.tenant, requestId);
    const authorization = authorizationWorkflowId({ tenant: TENANT_A.tenant, cif: CIF, scope: 'EFACTURA' });
    const signInRequest = authorizationRequestWorkflowId(TENANT_A.tenant, signIn.requestId);
    const signInAuthorization = `${TENANT_A.tenant}/authorization/${signIn.authorizationId}`;
    const ids = [request, authorization, signInRequest, signInAuthorization, organizationWorkflowId(TENANT_A.tenant, CIF)];
    // What Temporal stores, byte for byte (ciphertext), for every workflow of the tenant.
    const stored = await Promise.all(ids.map(async (id) => historyText(await historyOf(stack.client, id))));
    // …and what an operator sees decoded: the code and tokens are sealed inside, so still never in clear.
    const decoded = await tenantHistoryTexts(stack.client, TENANT_A.tenant, new AesGcmPayloadCodec(stack.config.payloadKeys), ids);
    assert.ok(
      stack.logs.some((l) => l.includes('/oauth/callback')),
      'the callback was logged',
    );
    assert.ok(
      stack.logs.some((l) => l.includes('/oauth/go/[REDACTED]')),
      'the short link was logged, redacted',
    );

    const everywhere = { logs: stack.logs, stored, answers };
    const secrets: Record<string, string[]> = {
      code: [code, signIn.code],
      // A state's secret part, wherever it is: only the request's hash of the state is kept.
      state: [state, encodeURIComponent(state), signIn.state.split('.')[2]!],
      token: tokens.flatMap((t) => [t, t.slice(-40)]),
      key: [TENANT_A.key, TENANT_B.key, OPERATOR.key],
    };
    const leaks: string[] = [];
    for (const [what, values] of Object.entries(secrets)) {
      for (const [where, texts] of Object.entries({ ...everywhere, decoded })) {
        const hit = texts.find((t) => values.some((v) => t.includes(v)));
        if (hit) leaks.push(`${what} in ${where}: ${hit.slice(0, 200)}`);
      }
    }
    assert.deepEqual(leaks, []);
  });
});
