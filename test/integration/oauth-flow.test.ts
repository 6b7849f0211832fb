import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { request } from 'undici';
import { TokenProvider } from '../../activities/oauth/token-provider';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import { dataConverterFor } from '../../lib/temporal/temporal-client';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { withCheckDigit } from '../../schemas/cif';
import { currentTokenQuery, refreshUpdate, statusQuery } from '../../workflows/oauth/definitions';
import { type AuthorizationKey, authorizationWorkflowId, type OAuthScope } from '../../workflows/oauth/types';
import { TENANT_A, TENANT_B } from '../../devkit/config';
import { eventually } from '../../devkit/wait';
import { tenantHistoryTexts } from '../../devkit/history';
import { hello, obtainTokens, walkAuthorizePage } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';

/** Registered in `before` for the organization checks; every test that authorizes uses an organization of its own. */
const CIF = '14399840';
const OTHER_CIF = '18547290';
const TOKEN_PATH = '/anaf-oauth2/v1/token';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('OAuth: authorization requests and the token lifecycle, end to end', () => {
  let stack: Stack;
  let provider: TokenProvider;
  /** Every answer the API gave in this file, scanned for tokens at the end. */
  const answers: string[] = [];
  /** Every token the sandbox issued that the test got to see. */
  const tokensSeen = new Set<string>();

  async function api(method: string, path: string, body?: unknown, key = TENANT_A.key): Promise<Answer> {
    const res = await request(`${stack.apiUrl}${path}`, {
      method: method as 'GET',
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    answers.push(text, JSON.stringify(res.headers));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  }

  async function browser(url: string): Promise<Answer> {
    const res = await request(url);
    const text = await res.body.text();
    answers.push(text, JSON.stringify(res.headers));
    return { status: res.statusCode, headers: res.headers, text, json: undefined };
  }

  /** The user's side: open the short link, approve at the (sandbox) ANAF page, come back to our callback. */
  async function authorize(
    cif: string,
    scope: 'EFACTURA' | 'ETRANSPORT',
    opts: { decision?: 'approve' | 'deny'; beforeCallback?: () => void } = {},
  ) {
    const created = await api('POST', `/v1/organizations/${cif}/authorization-requests`, { scope });
    assert.equal(created.status, 201, created.text);
    const go = await browser(created.json.shortUrl);
    assert.equal(go.status, 302, 'the short link forwards to ANAF');
    const anafUrl = new URL(String(go.headers.location));
    assert.equal(anafUrl.toString(), created.json.url);
    const walked = await walkAuthorizePage(stack.sandbox.url, {
      clientId: anafUrl.searchParams.get('client_id')!,
      redirectUri: anafUrl.searchParams.get('redirect_uri')!,
      state: anafUrl.searchParams.get('state')!,
      decision: opts.decision ?? 'approve',
    });
    opts.beforeCallback?.();
    const callback = await browser(walked.location.toString());
    return { created: created.json as { id: string; url: string; shortUrl: string }, walked, callback };
  }

  async function currentToken(cif: string, scope: OAuthScope, tenant = TENANT_A.tenant) {
    const t = await provider.accessToken({ tenant, cif, scope });
    tokensSeen.add(t.token);
    return t;
  }

  let organizations = 0;
  /** A new organization of tenant A: a test that uses it depends on nothing another test left behind, so it runs alone or in any order. */
  async function newOrganization(): Promise<string> {
    const cif = withCheckDigit(String(31_000_000 + ++organizations));
    const res = await api('POST', '/v1/organizations', { cif, name: `Company ${cif}` });
    assert.equal(res.status, 201, res.text);
    return cif;
  }

  /** A new organization with an ACTIVE authorization for `scope`, obtained through the user's consent. */
  async function authorizedOrganization(scope: OAuthScope = 'EFACTURA'): Promise<AuthorizationKey> {
    const cif = await newOrganization();
    const { callback } = await authorize(cif, scope);
    assert.equal(callback.status, 200, callback.text);
    return { tenant: TENANT_A.tenant, cif, scope };
  }

  /** What a worker process has of its own: a connection to Temporal and a token provider with its own caches. */
  async function anotherWorker() {
    const connection = await Connection.connect({ address: stack.env.address });
    const client = new Client({ connection, dataConverter: dataConverterFor(stack.config) });
    return { client, connection, provider: new TokenProvider(client, new TokenSealer(stack.config.tokenSealing)) };
  }

  /** Refresh updates the authorization workflow has accepted so far (its history says so, not a timer). */
  async function acceptedRefreshUpdates(key: AuthorizationKey): Promise<number> {
    const history = await stack.client.workflow.getHandle(authorizationWorkflowId(key)).fetchHistory();
    return (history.events ?? []).filter(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === refreshUpdate.name,
    ).length;
  }

  before(async () => {
    stack = await startStack({
      configOverrides: {
        ANAF_OAUTH_CLIENTS: JSON.stringify([
          // Registered here but not at ANAF (the sandbox): ANAF must refuse its authorize requests.
          {
            id: 'stray',
            clientId: 'anaf-flow-test-client',
            clientSecret: 'x',
            redirectUri: 'http://127.0.0.1:9/elsewhere/oauth/callback',
            scopes: ['ETRANSPORT'],
          },
        ]),
      },
    });
    provider = new TokenProvider(stack.client, new TokenSealer(stack.config.tokenSealing));
    for (const [cif, key] of [
      [CIF, TENANT_A.key],
      [OTHER_CIF, TENANT_A.key],
      [CIF, TENANT_B.key],
    ] as const) {
      const res = await api('POST', '/v1/organizations', { cif, name: `Company ${cif}` }, key);
      assert.equal(res.status, 201, res.text);
    }
  });

  after(async () => {
    await stack?.close();
  });

  test('organizations: CIF check digit, duplicates, tenant isolation', async () => {
    assert.equal((await api('POST', '/v1/organizations', { cif: '14399841', name: 'Bad' })).json.error.code, 'VALIDATION_FAILED');
    assert.equal((await api('POST', '/v1/organizations', { cif: `RO${CIF}`, name: 'Again' })).json.error.code, 'ORGANIZATION_EXISTS');
    const mine = await api('GET', `/v1/organizations/${CIF}`);
    assert.equal(mine.json.name, `Company ${CIF}`);
    assert.equal((await api('GET', `/v1/organizations/${OTHER_CIF}`, undefined, TENANT_B.key)).status, 404, 'B never registered it');
  });

  test('the whole flow: short link → ANAF approve → callback → ACTIVE → TestOauth hello', async () => {
    const cif = await newOrganization();
    const exchangesBefore = stack.sandbox.state.counters.oauth.codeExchanges;
    const { callback } = await authorize(cif, 'EFACTURA');
    assert.equal(callback.status, 200, callback.text);
    assert.match(callback.text, /Authorization complete/);
    assert.equal(stack.sandbox.state.counters.oauth.codeExchanges, exchangesBefore + 1);

    const list = await api('GET', `/v1/organizations/${cif}/authorizations`);
    assert.equal(list.status, 200);
    const auth = list.json.items.find((a: { scope: string }) => a.scope === 'EFACTURA');
    assert.equal(auth.status, 'ACTIVE');
    assert.equal(auth.clientId, 'anaf-flow-test-client');
    const accessExp = Date.parse(auth.accessTokenExpiresAt);
    assert.ok(accessExp > Date.now() + 89 * 86_400_000, 'the JWT exp (90 days) was read');
    assert.ok(Date.parse(auth.nextRefreshAt) <= accessExp - 29 * 86_400_000, 'refresh planned a month ahead of expiry');

    const hi = await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/test`);
    assert.equal(hi.status, 200, hi.text);
    assert.equal(hi.json.status, 200);
    assert.match(hi.json.body, /Hello/);

    const requests = await api('GET', `/v1/organizations/${cif}/authorization-requests`);
    assert.ok(requests.json.items.some((r: { status: string }) => r.status === 'COMPLETED'));
    // Tenant B has no authorization for its own organization with the same CIF.
    assert.equal((await api('POST', '/v1/organizations', { cif, name: 'B' }, TENANT_B.key)).status, 201);
    assert.deepEqual((await api('GET', `/v1/organizations/${cif}/authorizations`, undefined, TENANT_B.key)).json.items, []);
  });

  test('forged, reused and unknown state are refused and store nothing', async () => {
    const { created, walked, callback } = await authorize(await newOrganization(), 'EFACTURA');
    assert.equal(callback.status, 200);
    const replay = await browser(walked.location.toString());
    assert.equal(replay.status, 400);
    assert.match(replay.text, /already used or has expired|already used/);

    const forged = new URL(walked.location.toString());
    forged.searchParams.set('state', `${TENANT_A.tenant}.${'A'.repeat(32)}`);
    const unknown = await browser(forged.toString());
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /unknown/);

    const malformed = await browser(`${stack.apiUrl}/oauth/callback?code=x&state=${encodeURIComponent('<script>')}`);
    assert.equal(malformed.status, 400);
    assert.ok(!malformed.text.includes('<script>'));

    // A state of tenant A's request presented with tenant B's prefix finds nothing.
    const { id } = created;
    const crossTenant = new URL(walked.location.toString());
    crossTenant.searchParams.set('state', `${TENANT_B.tenant}.${id}`);
    assert.equal((await browser(crossTenant.toString())).status, 400);
  });

  test('a denial at ANAF ends the request as DENIED', async () => {
    const cif = await newOrganization();
    const { callback } = await authorize(cif, 'ETRANSPORT', { decision: 'deny' });
    assert.equal(callback.status, 400);
    assert.match(callback.text, /denied/i);
    const requests = await api('GET', `/v1/organizations/${cif}/authorization-requests`);
    assert.ok(requests.json.items.some((r: { status: string; scope: string }) => r.status === 'DENIED' && r.scope === 'ETRANSPORT'));
  });

  test('return URLs: the browser goes back to the ERP with the outcome', async () => {
    const created = await api('POST', `/v1/organizations/${OTHER_CIF}/authorization-requests`, {
      scope: 'ETRANSPORT',
      onSuccessReturnUrl: 'https://erp.example/anaf/done?ref=42',
      onFailureReturnUrl: 'https://erp.example/anaf/failed',
    });
    const anafUrl = new URL(created.json.url);
    const walked = await walkAuthorizePage(stack.sandbox.url, {
      clientId: anafUrl.searchParams.get('client_id')!,
      redirectUri: anafUrl.searchParams.get('redirect_uri')!,
      state: anafUrl.searchParams.get('state')!,
      decision: 'deny',
    });
    const back = await browser(walked.location.toString());
    assert.equal(back.status, 302);
    assert.equal(back.headers.location, 'https://erp.example/anaf/failed?outcome=DENIED');
    assert.equal(back.headers['cache-control'], 'no-store');
  });

  test('a code exchanged after its 60 seconds fails cleanly', async () => {
    const cif = await newOrganization();
    const { callback } = await authorize(cif, 'ETRANSPORT', { beforeCallback: () => stack.sandbox.clock.advance(61_000) });
    stack.sandbox.clock.advance(-61_000);
    assert.equal(callback.status, 400);
    assert.match(callback.text, /invalid_grant/);
    const list = await api('GET', `/v1/organizations/${cif}/authorizations`);
    assert.ok(!list.json.items.some((a: { scope: string }) => a.scope === 'ETRANSPORT'), 'nothing stored');
  });

  test('callback URLs: unknown → 400; a set ANAF does not know → ANAF refuses its authorize page', async () => {
    const unknown = await api('POST', `/v1/organizations/${CIF}/authorization-requests`, {
      scope: 'EFACTURA',
      oauthCallback: 'https://attacker.example/oauth/callback',
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error.code, 'UNKNOWN_OAUTH_CALLBACK');
    const stray = await api('POST', `/v1/organizations/${CIF}/authorization-requests`, {
      scope: 'ETRANSPORT',
      oauthCallback: 'http://127.0.0.1:9/elsewhere/oauth/callback',
    });
    assert.equal(stray.status, 201);
    assert.equal(new URL(stray.json.shortUrl).pathname.startsWith('/elsewhere/oauth/go/'), true);
    const page = await browser(stray.json.url);
    assert.equal(page.status, 400, 'redirect_uri mismatch at the IdP');
  });

  test('fifty callers whose token ANAF rejected cause exactly one refresh', async () => {
    const key = await authorizedOrganization();
    const old = await currentToken(key.cif, 'EFACTURA');
    stack.sandbox.faults.set([{ route: '/anaf-oauth2/v1/token', latencyMs: 300 }]);
    const refreshesBefore = stack.sandbox.state.counters.oauth.refreshes;
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          provider.withToken(key, async (token) =>
            token === old.token ? { ok: false as const, unauthorized: true as const, status: 401 } : { ok: true as const, value: token },
          ),
        ),
      );
      assert.equal(stack.sandbox.state.counters.oauth.refreshes, refreshesBefore + 1);
      const fresh = new Set(results.map((r) => (r.ok ? r.value : 'failed')));
      assert.equal(fresh.size, 1, 'everyone got the same new token');
      assert.ok(!fresh.has(old.token) && !fresh.has('failed'));
      for (const t of fresh) tokensSeen.add(t);
    } finally {
      stack.sandbox.faults.clear();
    }
    const status = (await api('GET', `/v1/organizations/${key.cif}/authorizations`)).json.items[0];
    assert.equal(status.refreshCount, 1);
    assert.equal(status.status, 'ACTIVE');
  });

  test('two workers whose token ANAF rejected, racing a slow token endpoint, cause one refresh: the authorization workflow serializes them', async () => {
    const key = await authorizedOrganization();
    const workers = [await anotherWorker(), await anotherWorker()];
    try {
      const old = await workers[0]!.provider.accessToken(key);
      tokensSeen.add(old.token);
      const family = (await stack.sandbox.oauth.inspect(old.token))?.familyId;
      assert.ok(family);
      const oauth = stack.sandbox.state.counters.oauth;
      const start = {
        tokenRequests: stack.sandbox.state.requestsTo('POST', TOKEN_PATH),
        refreshes: oauth.refreshesByFamily[family] ?? 0,
        accepted: await acceptedRefreshUpdates(key),
        refreshCount: (await stack.client.workflow.getHandle(authorizationWorkflowId(key)).query(statusQuery)).refreshCount,
      };
      const rejectingTheOldToken = async (token: string) =>
        token === old.token ? { ok: false as const, unauthorized: true as const, status: 401 } : { ok: true as const, value: token };
      // ANAF is slow: it does the first refresh but its answer is held until the second worker has asked too
      // (each worker's provider merges only its own callers; only the workflow sees both).
      stack.sandbox.faults.set([{ route: TOKEN_PATH, holdAnswer: true, times: 1 }]);
      try {
        const first = workers[0]!.provider.withToken(key, rejectingTheOldToken);
        await eventually(
          async () => stack.sandbox.faults.held().length,
          (n) => n === 1,
          "the first worker's refresh is at ANAF, its answer held",
        );
        const second = workers[1]!.provider.withToken(key, rejectingTheOldToken);
        await eventually(
          () => acceptedRefreshUpdates(key),
          (n) => n === start.accepted + 2,
          "the second worker's refresh reached the workflow while the first was in flight",
        );
        stack.sandbox.faults.release();
        const results = await Promise.all([first, second]);

        assert.equal(
          stack.sandbox.state.requestsTo('POST', TOKEN_PATH) - start.tokenRequests,
          1,
          'one token request reached ANAF: the old refresh token was presented once',
        );
        assert.equal((oauth.refreshesByFamily[family] ?? 0) - start.refreshes, 1, 'exactly one refresh at ANAF');
        const fresh = results.map((r) => (r.ok ? r.value : 'failed'));
        for (const t of fresh) tokensSeen.add(t);
        assert.equal(new Set(fresh).size, 1, 'both workers got the same new token');
        assert.ok(fresh[0] !== old.token && fresh[0] !== 'failed', 'a new token');

        const handle = stack.client.workflow.getHandle(authorizationWorkflowId(key));
        const view = await handle.query(statusQuery);
        assert.equal(view.refreshCount - start.refreshCount, 1, 'the workflow kept one rotated pair');
        assert.equal(view.status, 'ACTIVE');
        const held = await handle.query(currentTokenQuery);
        assert.equal(
          new TokenSealer(stack.config.tokenSealing).open(held!.sealedAccess),
          fresh[0],
          'the pair the workflow holds is the one both workers got',
        );
        const inspected = await stack.sandbox.oauth.inspect(fresh[0]!);
        assert.equal(inspected?.familyId, family);
        assert.equal(inspected?.revoked, false);
      } finally {
        stack.sandbox.faults.clear();
        stack.sandbox.faults.release();
      }
    } finally {
      for (const w of workers) await w.connection.close();
    }
  });

  test('the authorization workflow cannot be asked: ANAF calls go on with a token read minutes ago; uncached readers get "not sent"', async () => {
    const key = await authorizedOrganization();
    const { client, connection } = await anotherWorker();
    const sealer = new TokenSealer(stack.config.tokenSealing);
    const forAnafCalls = new TokenProvider(client, sealer, { cacheMs: 1 });
    const uncached = new TokenProvider(client, sealer, { cacheMs: 0 });
    let read: { token: string };
    try {
      read = await forAnafCalls.accessToken(key);
      assert.equal((await uncached.accessToken(key)).token, read.token);
    } finally {
      await connection.close();
    }
    // Past the 1 ms reuse window, so the next read asks the (now unreachable) server.
    const at = Date.now();
    while (Date.now() === at) await new Promise((r) => setImmediate(r));
    assert.equal((await forAnafCalls.accessToken(key)).token, read.token);
    await assert.rejects(uncached.accessToken(key), (err: unknown) => err instanceof ApplicationFailure && err.type === 'AnafNotSent');
  });

  test('a forced refresh rotates the tokens; the old access token keeps working at ANAF until it expires', async () => {
    const { cif } = await authorizedOrganization();
    const before = await currentToken(cif, 'EFACTURA');
    const res = await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/refresh`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.refreshCount, 1);
    const afterRefresh = await currentToken(cif, 'EFACTURA');
    assert.notEqual(afterRefresh.tokenId, before.tokenId);
    assert.equal((await hello(stack.sandbox.url, afterRefresh.token)).status, 200);
    assert.equal((await hello(stack.sandbox.url, before.token)).status, 200, 'the old access token still works');
  });

  /** Tokens obtained at ANAF outside anaf-flow (another tool), imported into a new organization. */
  async function importedOrganization(scope: OAuthScope): Promise<{ cif: string; imported: Answer }> {
    const cif = await newOrganization();
    const tokens = await obtainTokens(stack.sandbox.url, {
      clientId: 'anaf-flow-test-client',
      redirectUri: stack.config.anaf.redirectUri!,
      auth: { basic: ['anaf-flow-test-client', 'anaf-flow-test-secret'] },
    });
    tokensSeen.add(tokens.access_token);
    tokensSeen.add(tokens.refresh_token!);
    const imported = await api('POST', `/v1/organizations/${cif}/authorizations/${scope}/import`, {
      refreshToken: tokens.refresh_token,
      accessToken: tokens.access_token,
    });
    return { cif, imported };
  }

  test('import adopts tokens from elsewhere and proves them with a refresh', async () => {
    const { cif, imported: res } = await importedOrganization('ETRANSPORT');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'ACTIVE');
    assert.equal(res.json.refreshCount, 1, 'proven by one refresh');
    const hi = await api('POST', `/v1/organizations/${cif}/authorizations/ETRANSPORT/test`);
    assert.equal(hi.json.status, 200);

    const bogus = await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/import`, {
      refreshToken: 'not-a-real-refresh-token',
    });
    assert.equal(bogus.status, 422);
    assert.equal(bogus.json.error.code, 'IMPORTED_TOKENS_REJECTED');
    const state = (await api('GET', `/v1/organizations/${cif}/authorizations`)).json.items.find(
      (a: { scope: string }) => a.scope === 'EFACTURA',
    );
    assert.equal(state.status, 'NEEDS_REAUTHORIZATION');
    assert.match(state.lastError, /invalid_grant/);
    const refresh = await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/refresh`);
    assert.equal(refresh.status, 409);
    assert.equal(refresh.json.error.code, 'AUTHORIZATION_NOT_USABLE');
  });

  /** ANAF revokes the grant behind an authorization; the next refresh finds out. Returns the refresh's answer. */
  async function revokedAtAnaf(key: AuthorizationKey): Promise<Answer> {
    const current = await currentToken(key.cif, key.scope);
    const inspected = await stack.sandbox.oauth.inspect(current.token);
    assert.ok(inspected);
    stack.sandbox.oauth.revokeFamily(inspected.familyId, 'revoked by ANAF in a test');
    return api('POST', `/v1/organizations/${key.cif}/authorizations/${key.scope}/refresh`);
  }

  test('an authorization whose tokens ANAF revoked becomes NEEDS_REAUTHORIZATION on the next refresh', async () => {
    const key = await authorizedOrganization('ETRANSPORT');
    const res = await revokedAtAnaf(key);
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'NEEDS_REAUTHORIZATION');
    const state = (await api('GET', `/v1/organizations/${key.cif}/authorizations`)).json.items.find(
      (a: { scope: string }) => a.scope === 'ETRANSPORT',
    );
    assert.equal(state.status, 'NEEDS_REAUTHORIZATION');
  });

  test('revoke: ANAF rejects the token afterwards, the tokens are gone here, the organization can then be deleted', async () => {
    const key = await authorizedOrganization();
    const { cif } = key;
    const current = await currentToken(cif, 'EFACTURA');
    assert.equal((await api('DELETE', `/v1/organizations/${cif}`)).json.error.code, 'ORGANIZATION_HAS_AUTHORIZATIONS');
    const res = await api('DELETE', `/v1/organizations/${cif}/authorizations/EFACTURA`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'REVOKED');
    assert.equal(res.json.revocation.outcome, 'refresh token: REVOKED, access token: REVOKED');
    assert.equal((await hello(stack.sandbox.url, current.token)).status, 403);
    await assert.rejects(provider.accessToken(key), /revoked or needs re-authorization/);
    assert.equal((await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/test`)).status, 409);
    assert.equal((await api('DELETE', `/v1/organizations/${cif}`)).status, 204);
    assert.equal((await api('GET', `/v1/organizations/${cif}`)).status, 404);
  });

  /** The EFACTURA authorization of `cif` as the API lists it. */
  async function efacturaAuthorization(cif: string) {
    return (await api('GET', `/v1/organizations/${cif}/authorizations`)).json.items.find((a: { scope: string }) => a.scope === 'EFACTURA');
  }

  test("a revoke ANAF's gateway redirected to /my.policy is no revocation: REVOCATION_UNCONFIRMED, the tokens unused but kept to revoke again", async () => {
    const key = await authorizedOrganization();
    const current = await currentToken(key.cif, 'EFACTURA');
    stack.sandbox.oauth.configure({ revokeRedirectsToGateway: true });
    let redirected: Answer;
    try {
      redirected = await api('DELETE', `/v1/organizations/${key.cif}/authorizations/EFACTURA`);
    } finally {
      stack.sandbox.oauth.configure({ revokeRedirectsToGateway: false });
    }
    assert.equal(redirected.status, 502, redirected.text);
    assert.equal(redirected.json.error.code, 'REVOCATION_UNCONFIRMED');
    const state = await efacturaAuthorization(key.cif);
    assert.equal(state.status, 'REVOCATION_UNCONFIRMED');
    assert.equal(state.revocation.outcome, 'refresh token: REDIRECTED_TO_GATEWAY, access token: REDIRECTED_TO_GATEWAY');
    assert.equal((await hello(stack.sandbox.url, current.token)).status, 200, 'ANAF still honours the token');
    await assert.rejects(provider.accessToken(key), /revoked or needs re-authorization/, 'we stop using it all the same');
    assert.equal((await api('POST', `/v1/organizations/${key.cif}/authorizations/EFACTURA/test`)).status, 409);
    assert.equal(
      (await api('DELETE', `/v1/organizations/${key.cif}`)).json.error.code,
      'ORGANIZATION_HAS_AUTHORIZATIONS',
      'its tokens still live at ANAF',
    );

    // ANAF answers the next DELETE: revoked there, and only now here.
    const revoked = await api('DELETE', `/v1/organizations/${key.cif}/authorizations/EFACTURA`);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.status, 'REVOKED');
    assert.equal((await hello(stack.sandbox.url, current.token)).status, 403);
    const events = revoked.json.recentEvents.map((e: { event: string }) => e.event);
    assert.deepEqual(events.slice(-2), ['REVOCATION_UNCONFIRMED', 'REVOKED']);
  });

  test("the gateway's logon page answered with 200 to a revoke is no revocation either", async () => {
    const key = await authorizedOrganization();
    const current = await currentToken(key.cif, 'EFACTURA');
    stack.sandbox.faults.add({ route: '/anaf-oauth2/v1/revoke', method: 'POST', html: 'gateway', times: 2 });
    const paged = await api('DELETE', `/v1/organizations/${key.cif}/authorizations/EFACTURA`);
    assert.equal(paged.status, 502, paged.text);
    assert.equal(paged.json.error.code, 'REVOCATION_UNCONFIRMED');
    const state = await efacturaAuthorization(key.cif);
    assert.equal(state.status, 'REVOCATION_UNCONFIRMED');
    assert.equal(state.revocation.outcome, 'refresh token: GATEWAY_PAGE, access token: GATEWAY_PAGE');
    assert.equal((await hello(stack.sandbox.url, current.token)).status, 200);
  });

  test('the daily sweep reports every authorization and nudges none that is on time', async () => {
    await authorizedOrganization();
    const revoked = await authorizedOrganization();
    assert.equal((await api('DELETE', `/v1/organizations/${revoked.cif}/authorizations/EFACTURA`)).status, 200);
    assert.equal((await revokedAtAnaf(await authorizedOrganization())).json.error.code, 'NEEDS_REAUTHORIZATION');
    const summary = await stack.client.workflow.execute('oauthRefreshSweep', {
      workflowId: `system/oauth-refresh-sweep-${Date.now()}`,
      taskQueue: stack.config.temporal.taskQueue,
    });
    const s = summary as { checked: number; byStatus: Record<string, number>; nudged: number; needsAttention: number };
    assert.ok(s.checked >= 3, JSON.stringify(s));
    assert.ok((s.byStatus.REVOKED ?? 0) >= 1 && (s.byStatus.NEEDS_REAUTHORIZATION ?? 0) >= 1, JSON.stringify(s));
    assert.equal(s.nudged, 0);
    assert.ok(s.needsAttention >= 1);
  });

  test('no token appears in any history (raw or decoded by the codec), log line or API answer', async () => {
    // Tokens of its own (whatever other tests ran before): imported, then refreshed twice by the workflow.
    const { cif, imported } = await importedOrganization('EFACTURA');
    assert.equal(imported.status, 200, imported.text);
    await currentToken(cif, 'EFACTURA');
    assert.equal((await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/refresh`)).status, 200);
    await currentToken(cif, 'EFACTURA');
    assert.ok(tokensSeen.size >= 4);
    const codec = new AesGcmPayloadCodec(stack.config.payloadKeys);
    const haystacks: string[] = [...stack.logs, ...answers];
    haystacks.push(
      ...(await tenantHistoryTexts(stack.client, TENANT_A.tenant, codec, [
        authorizationWorkflowId({ tenant: TENANT_A.tenant, cif, scope: 'EFACTURA' }),
      ])),
    );
    assert.ok(haystacks.length > 20);
    for (const token of tokensSeen) {
      // A JWT's signature part alone would already be a leak: check the whole token and its tail.
      for (const needle of [token, token.slice(-40)]) {
        const leak = haystacks.find((h) => h.includes(needle));
        assert.equal(leak, undefined, `token material found in: ${leak?.slice(0, 200)}`);
      }
    }
  });
});
