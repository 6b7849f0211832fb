import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { request } from 'undici';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import { withCheckDigit } from '../../schemas/cif';
import { CLIENT_REGISTRY_WORKFLOW_ID } from '../../workflows/oauth/client-registry';
import { type ApiAnswer, callApi } from '../../devkit/api-client';
import { OPERATOR, TENANT_A } from '../../devkit/config';
import { historyOf, historyText, payloadsOf } from '../../devkit/history';
import { consentAtAnaf, tokenRequest } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * Issue 16 item 6: OAuth client credential sets added, rotated and retired through the API
 * (operator keys), without a restart. Real stack: dev server, workers, the API over HTTP, the
 * sandbox as ANAF's IdP, where each set is also registered (as an operator registers an app
 * in ANAF's "Editare profil Oauth").
 */

const TOKEN_PATH = '/anaf-oauth2/v1/token';

describe('OAuth client credential sets at run time', () => {
  let stack: Stack;
  /** Every API answer of this file, scanned for the secrets at the end. */
  const answers: string[] = [];
  /** Every client secret this file gave the API. */
  const secrets: string[] = [];
  let organizations = 0;

  async function api(method: string, path: string, json?: unknown, key = OPERATOR.key): Promise<ApiAnswer> {
    const res = await callApi(stack, key, method, path, json === undefined ? {} : { json });
    answers.push(res.text, JSON.stringify(res.headers));
    return res;
  }

  /** A client registered at ANAF (the sandbox) with a callback of its own that still reaches our API, then added through the API. */
  async function addSet(id: string): Promise<{ id: string; clientId: string; clientSecret: string; redirectUri: string }> {
    const set = {
      id,
      clientId: `erp-${id}`,
      clientSecret: `secret-${id}-${Math.random().toString(36).slice(2)}`,
      redirectUri: `${stack.apiUrl}/oauth/callback?client=${id}`,
    };
    secrets.push(set.clientSecret);
    registerAtAnaf(set.clientId, set.clientSecret, set.redirectUri);
    const added = await api('POST', '/v1/oauth-clients', { ...set, scopes: ['EFACTURA'] });
    assert.equal(added.status, 201, added.text);
    return set;
  }

  /** The sandbox's IdP learns (or forgets, by a new secret) a client, as ANAF does when its profile is edited. */
  function registerAtAnaf(clientId: string, clientSecret: string, redirectUri: string) {
    const others = stack.sandbox.oauth.options.clients.filter((c) => c.clientId !== clientId);
    stack.sandbox.oauth.configure({ clients: [...others, { clientId, clientSecret, redirectUris: [redirectUri] }] });
  }

  /** A new organization of tenant A signed in with the set registered for `oauthCallback`: the user's whole walk. */
  async function signIn(oauthCallback: string): Promise<string> {
    const cif = withCheckDigit(String(32_000_000 + ++organizations));
    const { callback } = await consentAtAnaf(stack, TENANT_A.key, cif, 'EFACTURA', { oauthCallback });
    const landed = await request(callback);
    const page = await landed.body.text();
    assert.equal(landed.statusCode, 200, page);
    return cif;
  }

  const authorization = async (cif: string) =>
    (await api('GET', `/v1/organizations/${cif}/authorizations`, undefined, TENANT_A.key)).json.items.find(
      (a: { scope: string }) => a.scope === 'EFACTURA',
    );
  const refresh = (cif: string) => api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/refresh`, undefined, TENANT_A.key);

  before(async () => {
    stack = await startStack();
  });

  after(async () => {
    await stack?.close();
  });

  test('a set added at run time signs a company in (ACTIVE) and is listed without its secret, beside the env set', async () => {
    const set = await addSet('erp-one');
    const cif = await signIn(set.redirectUri);
    const auth = await authorization(cif);
    assert.equal(auth.status, 'ACTIVE');
    assert.equal(auth.clientId, set.clientId);
    assert.equal(auth.credentialSetId, set.id);

    const list = await api('GET', '/v1/oauth-clients');
    assert.equal(list.status, 200, list.text);
    const listed = list.json.items.find((s: { id: string }) => s.id === set.id);
    assert.deepEqual(
      { ...listed, createdAt: undefined },
      { id: set.id, source: 'api', clientId: set.clientId, redirectUri: set.redirectUri, scopes: ['EFACTURA'], createdAt: undefined },
    );
    assert.equal(list.json.items.find((s: { id: string }) => s.id === 'main').source, 'env');
    assert.doesNotMatch(list.text, /secret|sealed/i);
  });

  test('rotating the secret: the next refresh uses the new one; ANAF now refuses the old', async () => {
    const set = await addSet('erp-rotate');
    const cif = await signIn(set.redirectUri);
    const newSecret = `${set.clientSecret}-rotated`;
    secrets.push(newSecret);
    // ANAF's profile first (it issues the new secret), then ours. The worker read the set moments ago for the
    // code exchange, so its cache still holds the old secret: ANAF's refusal of it must send it to the registry.
    registerAtAnaf(set.clientId, newSecret, set.redirectUri);
    const rotated = await api('PUT', `/v1/oauth-clients/${set.id}/secret`, { clientSecret: newSecret });
    assert.equal(rotated.status, 200, rotated.text);
    assert.ok(rotated.json.secretRotatedAt);

    const refreshed = await refresh(cif);
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.refreshCount, 1);
    const withOld = await tokenRequest(
      stack.sandbox.url,
      { grant_type: 'refresh_token', refresh_token: 'any' },
      { basic: [set.clientId, set.clientSecret] },
      TOKEN_PATH,
    );
    assert.equal(withOld.status, 401);
    assert.equal(withOld.json.error, 'invalid_client');
  });

  test('retiring: new authorization requests refused (CREDENTIAL_SET_RETIRED), an existing authorization still refreshes', async () => {
    const set = await addSet('erp-retire');
    const cif = await signIn(set.redirectUri);
    const retired = await api('DELETE', `/v1/oauth-clients/${set.id}`);
    assert.equal(retired.status, 200, retired.text);
    assert.ok(retired.json.retiredAt);
    assert.match(retired.json.note, /keep refreshing and revoking/);

    const refused = await api(
      'POST',
      `/v1/organizations/${cif}/authorization-requests`,
      { scope: 'EFACTURA', oauthCallback: set.redirectUri },
      TENANT_A.key,
    );
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error.code, 'CREDENTIAL_SET_RETIRED');
    const refreshed = await refresh(cif);
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.status, 'ACTIVE');
    assert.equal(
      (await api('GET', '/v1/oauth-clients')).json.items.find((s: { id: string }) => s.id === set.id).retiredAt,
      retired.json.retiredAt,
    );
  });

  test('env sets cannot be changed; bad input gets typed answers; a tenant key gets 403', async () => {
    const fromEnv = {
      clientId: 'x',
      clientSecret: 'not-a-real-secret-1',
      redirectUri: 'https://erp.example/oauth/callback',
      scopes: ['EFACTURA'],
    };
    secrets.push(fromEnv.clientSecret);
    for (const [method, path, body] of [
      ['PUT', '/v1/oauth-clients/main/secret', { clientSecret: fromEnv.clientSecret }],
      ['DELETE', '/v1/oauth-clients/main', undefined],
      ['POST', '/v1/oauth-clients', { id: 'main', ...fromEnv }],
    ] as const) {
      const res = await api(method, path, body);
      assert.equal(res.status, 409, `${method} ${path}: ${res.text}`);
      assert.equal(res.json.error.code, 'CREDENTIAL_SET_FROM_ENV');
    }
    const set = await addSet('erp-input');
    const cases: Array<[unknown, number, string]> = [
      [{ ...fromEnv, id: set.id, redirectUri: 'https://other.example/cb' }, 409, 'CREDENTIAL_SET_EXISTS'],
      [{ ...fromEnv, id: 'erp-same-callback', redirectUri: set.redirectUri }, 409, 'CALLBACK_IN_USE'],
      [{ ...fromEnv, id: 'erp-bad-url', redirectUri: 'javascript:alert(1)' }, 422, 'INVALID_REDIRECT_URI'],
      [{ ...fromEnv, id: 'erp-bad-url', redirectUri: 'http://erp.example/oauth/callback' }, 422, 'INVALID_REDIRECT_URI'],
      [{ ...fromEnv, id: 'erp-bad-scope', scopes: ['EFACTURA', 'SPV'] }, 422, 'INVALID_SCOPES'],
      [{ ...fromEnv, id: 'erp-no-scope', scopes: [] }, 422, 'INVALID_SCOPES'],
    ];
    for (const [body, status, code] of cases) {
      const res = await api('POST', '/v1/oauth-clients', body);
      assert.equal(res.status, status, res.text);
      assert.equal(res.json.error.code, code);
    }
    for (const path of ['/v1/oauth-clients/nobody/secret', '/v1/oauth-clients/nobody']) {
      const res = await api(
        path.endsWith('secret') ? 'PUT' : 'DELETE',
        path,
        path.endsWith('secret') ? { clientSecret: 'whatever-1' } : undefined,
      );
      assert.equal(res.status, 404, res.text);
      assert.equal(res.json.error.code, 'CREDENTIAL_SET_NOT_FOUND');
    }
    assert.equal((await api('GET', '/v1/oauth-clients', undefined, TENANT_A.key)).status, 403);
    const bySubmitKey = await api('POST', '/v1/oauth-clients', { ...fromEnv, id: 'erp-tenant' }, TENANT_A.key);
    assert.equal(bySubmitKey.status, 403, bySubmitKey.text);
    assert.equal(bySubmitKey.json.error.code, 'FORBIDDEN');
  });

  test('no client secret in any answer, log line or the registry workflow history (raw or decoded)', async () => {
    if (secrets.length === 0) await addSet('erp-scan');
    const history = await historyOf(stack.client, CLIENT_REGISTRY_WORKFLOW_ID);
    const codec = new AesGcmPayloadCodec(stack.config.payloadKeys);
    const decoded = (await codec.decode(payloadsOf(history) as never)).map((p) => JSON.stringify(defaultPayloadConverter.fromPayload(p)));
    assert.ok(
      decoded.some((t) => t.includes('sealed:v2:')),
      'the decoded history holds the sealed secrets (so the scan reads it)',
    );
    const texts = [...answers, ...stack.logs, historyText(history), ...decoded];
    for (const secret of secrets) {
      assert.ok(!texts.some((t) => t.includes(secret)), `a client secret appeared in an answer, a log line or the history`);
    }
  });
});
