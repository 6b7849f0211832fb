import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { request } from 'undici';
import { SIGNATURE_HEADER } from '../../activities/webhooks';
import { sealTokens } from '../../lib/crypto/sealed-tokens';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { withCheckDigit } from '../../schemas/cif';
import type { oauthAuthorization } from '../../workflows';
import { currentTokenQuery, statusQuery } from '../../workflows/oauth/definitions';
import { authorizationWorkflowId } from '../../workflows/oauth/types';
import { callApi, type ApiAnswer } from '../../devkit/api-client';
import { TENANT_A, TEST_WEBHOOK_SECRET } from '../../devkit/config';
import { consentAtAnaf, obtainTokens, signInWithCertificate } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { startTimeSkippingServer } from '../../devkit/temporal-env';
import { eventually } from '../../devkit/wait';
import { webhookReceiver } from '../../devkit/webhook-receiver';
import { WebhookSecretStore } from '../../lib/webhooks/webhook-secrets';

/**
 * Issue 16 item 4: an authorization's events pushed to its webhookUrl, signed with the tenant's
 * secret: active on sign-in, cif_refused, needs_reauthorization (invalid_grant), revoked, and
 * refresh_lapsing 30, 7 and 1 days before the refresh token lapses (time-skipping). Real dev
 * server, sandbox as ANAF, a receiver on a socket.
 */

const COVERED = withCheckDigit('3100016');
const NOT_COVERED = withCheckDigit('2345616');
const ACCOUNTANT = {
  serial: 'ACC0FF1CE0000416',
  subject: 'CN=POPESCU ANA, SERIALNUMBER=PNORO-2800101000016, O=CABINET SRL, C=RO',
  cifs: [COVERED],
};
const DAY = 86_400_000;
const PAYLOAD_KEYS = new Set([
  'authorizationId',
  'label',
  'scopes',
  'status',
  'companies',
  'occurredAt',
  'cif',
  'scope',
  'reason',
  'source',
  'refreshTokenExpiresAt',
  'daysLeft',
]);

type Receiver = Awaited<ReturnType<typeof webhookReceiver>>;
type Delivery = Receiver['received'][number];

/** What a receiver does: any v1 of the signature is the HMAC of "<t>.<body>" under its secret. */
function verifies(d: Delivery, secret: string): boolean {
  const parts = String(d.headers[SIGNATURE_HEADER]).split(',');
  const t = parts.find((p) => p.startsWith('t='))?.slice(2);
  const expected = createHmac('sha256', secret).update(`${t}.${d.raw}`).digest('hex');
  return parts.includes(`v1=${expected}`);
}

const deliveriesOf = (hooks: Receiver, authorizationId: string, event?: string) =>
  hooks.received.filter((d) => d.body.data?.authorizationId === authorizationId && (!event || d.event === event));

function waitForEvent(hooks: Receiver, authorizationId: string, event: string, count = 1): Promise<Delivery[]> {
  return eventually(
    async () => deliveriesOf(hooks, authorizationId, event),
    (list) => list.length >= count,
    `${count} × ${event} for ${authorizationId}`,
    30_000,
  );
}

describe('authorization events as signed webhooks', () => {
  let stack: Stack;
  let hooks: Receiver;
  let secret: string;
  /** Codes, states and tokens seen on the way: none may appear in a delivery. */
  const secrets = new Set<string>();
  const api = (method: string, path: string, json?: unknown): Promise<ApiAnswer> =>
    callApi(stack, TENANT_A.key, method, path, json === undefined ? {} : { json });

  /** One sign-in through POST /v1/authorization-requests, approved with the accountant's certificate. */
  async function signIn(body: Record<string, unknown>): Promise<string> {
    const { authorizationId, code, state } = await signInWithCertificate(stack, TENANT_A.key, body, ACCOUNTANT.serial);
    for (const s of [code, state]) if (s) secrets.add(s);
    return authorizationId;
  }

  /** A per-organization sign-in (the legacy route), with the request's other fields. */
  async function signInOrganization(cif: string, fields: Record<string, unknown> = {}): Promise<string> {
    const { callback } = await consentAtAnaf(stack, TENANT_A.key, cif, 'EFACTURA', fields);
    for (const k of ['code', 'state']) secrets.add(callback.searchParams.get(k)!);
    const res = await request(callback.toString());
    assert.equal(res.statusCode, 200, await res.body.text());
    return `org-${cif}-EFACTURA`;
  }

  async function heldAccessToken(authorizationId: string): Promise<string> {
    const held = await stack.client.workflow.getHandle(`${TENANT_A.tenant}/authorization/${authorizationId}`).query(currentTokenQuery);
    assert.ok(held);
    const token = new TokenSealer(stack.config.tokenSealing).open(held.sealedAccess);
    secrets.add(token);
    return token;
  }

  before(async () => {
    stack = await startStack({ sandbox: { oauth: { certificates: [ACCOUNTANT] } } });
    hooks = await webhookReceiver();
    const rotated = await api('POST', '/v1/webhook-secret/rotate');
    assert.equal(rotated.status, 201, rotated.text);
    secret = rotated.json.secret;
    for (const cif of [COVERED, NOT_COVERED])
      assert.equal((await api('POST', '/v1/organizations', { cif, name: `Company ${cif}` })).status, 201);
  });
  after(async () => {
    await hooks?.close();
    await stack?.close();
  });

  let signedIn: string;

  test('a sign-in with webhookUrl: authorization.active, then cif_refused for the CIF ANAF does not cover', async () => {
    signedIn = await signIn({ scope: 'EFACTURA', organizations: [COVERED, NOT_COVERED], label: 'Cabinet Popescu', webhookUrl: hooks.url });
    const [active] = await waitForEvent(hooks, signedIn, 'authorization.active');
    assert.equal(active!.body.data.status, 'ACTIVE');
    assert.equal(active!.body.data.label, 'Cabinet Popescu');
    assert.deepEqual(active!.body.data.scopes, ['EFACTURA']);
    assert.equal(active!.body.deliveryId, `${signedIn}:authorization.active:1`);
    assert.equal(active!.headers['x-anaf-flow-delivery'], active!.body.deliveryId);
    const [refused] = await waitForEvent(hooks, signedIn, 'authorization.cif_refused');
    assert.equal(refused!.body.data.cif, NOT_COVERED);
    assert.equal(refused!.body.data.source, 'link');
    assert.match(refused!.body.data.reason, /Nu aveti drept in SPV/);
    const view = await api('GET', `/v1/authorizations/${signedIn}`);
    assert.equal(view.json.webhookUrl, hooks.url);
    assert.equal(
      (await api('POST', '/v1/authorization-requests', { scope: 'EFACTURA', webhookUrl: 'ftp://hooks.example/x' })).json.error.code,
      'INVALID_CALLBACK_URL',
    );
  });

  test('ANAF answers invalid_grant to a refresh: authorization.needs_reauthorization', async () => {
    const inspected = await stack.sandbox.oauth.inspect(await heldAccessToken(signedIn));
    assert.ok(inspected);
    stack.sandbox.oauth.revokeFamily(inspected.familyId, 'revoked by ANAF in a test');
    assert.equal((await api('POST', `/v1/authorizations/${signedIn}/refresh`)).json.error.code, 'NEEDS_REAUTHORIZATION');
    const [event] = await waitForEvent(hooks, signedIn, 'authorization.needs_reauthorization');
    assert.equal(event!.body.data.status, 'NEEDS_REAUTHORIZATION');
    assert.match(event!.body.data.reason, /invalid_grant/);
  });

  test('per-organization request with webhookUrl: active; DELETE: revoked', async () => {
    const id = await signInOrganization(withCheckDigit('4100016'), { webhookUrl: hooks.url });
    assert.equal((await waitForEvent(hooks, id, 'authorization.active'))[0]!.body.data.status, 'ACTIVE');
    assert.equal((await api('DELETE', `/v1/authorizations/${id}`)).status, 200);
    const [revoked] = await waitForEvent(hooks, id, 'authorization.revoked');
    assert.equal(revoked!.body.data.status, 'REVOKED');
    assert.equal((await api('PATCH', `/v1/authorizations/${id}`, { webhookUrl: hooks.url })).json.error.code, 'AUTHORIZATION_REVOKED');
  });

  test('PATCH /v1/authorizations/{id} sets, checks and removes the webhook URL', async () => {
    const id = await signInOrganization(withCheckDigit('4200016'));
    assert.equal(
      (await api('PATCH', `/v1/authorizations/${id}`, { webhookUrl: 'ftp://hooks.example/x' })).json.error.code,
      'INVALID_CALLBACK_URL',
    );
    assert.equal((await api('PATCH', `/v1/authorizations/${id}`, {})).status, 400);
    assert.equal((await api('PATCH', '/v1/authorizations/az_00000000000000000000', { webhookUrl: hooks.url })).status, 404);
    const set = await api('PATCH', `/v1/authorizations/${id}`, { webhookUrl: hooks.url });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.webhookUrl, hooks.url);
    const removed = await api('PATCH', `/v1/authorizations/${id}`, { webhookUrl: null });
    assert.equal(removed.json.webhookUrl, null);
    assert.deepEqual(removed.json.recentEvents.map((e: { event: string }) => e.event).slice(-2), ['WEBHOOK_SET', 'WEBHOOK_REMOVED']);
    // Set again: the revoke is pushed there.
    await api('PATCH', `/v1/authorizations/${id}`, { webhookUrl: hooks.url });
    assert.equal((await api('DELETE', `/v1/authorizations/${id}`)).status, 200);
    await waitForEvent(hooks, id, 'authorization.revoked');
  });

  test('every delivery verifies with the tenant secret, has a stable id, and carries nothing secret', () => {
    assert.ok(hooks.received.length >= 6, `${hooks.received.length} deliveries`);
    const ids = new Set<string>();
    for (const d of hooks.received) {
      assert.ok(verifies(d, secret), `${d.event} verifies`);
      assert.ok(!verifies(d, 'whsec_someone-else'), 'not with another secret');
      assert.match(d.body.deliveryId, /^(az_[A-Za-z0-9]{20}|org-\d+-EFACTURA):authorization\.[a-z_]+:\d+$/);
      assert.equal(d.headers['x-anaf-flow-event'], d.event);
      ids.add(d.body.deliveryId);
      for (const key of Object.keys(d.body.data)) assert.ok(PAYLOAD_KEYS.has(key), `payload key ${key}`);
      for (const s of secrets) assert.ok(!d.raw.includes(s), `${d.event} carries no code, state or token`);
    }
    assert.equal(ids.size, hooks.received.length, 'one deliveryId per event');
  });
});

describe('authorization.refresh_lapsing (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let stack: Stack;
  let hooks: Receiver;

  before(async () => {
    env = await startTimeSkippingServer();
    stack = await startStack({ env });
    hooks = await webhookReceiver();
  });
  after(async () => {
    await hooks?.close();
    await stack?.close();
    await env?.teardown();
  });

  test('a refresh token that does not rotate: pushed 30, 7 and 1 days before it lapses, once each', async () => {
    stack.sandbox.oauth.configure({ rotateRefreshTokens: false, refreshTokenTtlSeconds: 100 * 86_400 });
    try {
      const tokens = await obtainTokens(stack.sandbox.url, {
        clientId: 'anaf-flow-test-client',
        redirectUri: stack.config.anaf.redirectUri!,
        auth: { basic: ['anaf-flow-test-client', 'anaf-flow-test-secret'] },
      });
      const key = { tenant: TENANT_A.tenant, cif: '14399840', scope: 'EFACTURA' as const };
      const init = {
        ...key,
        credentialSetId: 'main',
        clientId: 'anaf-flow-test-client',
        settings: { refreshLeadMs: 30 * DAY, warnBeforeRefreshExpiryMs: 30 * DAY, lapsingWarnDays: [30, 7, 1] },
        webhookUrl: hooks.url,
      };
      const sealer = new TokenSealer(stack.config.tokenSealing);
      const install = {
        tokens: sealTokens(sealer, { accessToken: tokens.access_token, refreshToken: tokens.refresh_token! }),
        source: 'AUTHORIZATION' as const,
        credentialSetId: 'main',
        clientId: 'anaf-flow-test-client',
      };
      const handle = await env.client.workflow.start<typeof oauthAuthorization>('oauthAuthorization', {
        workflowId: authorizationWorkflowId(key),
        taskQueue: stack.config.temporal.taskQueue,
        args: [{ init, install }],
      });
      const id = `org-${key.cif}-EFACTURA`;
      await waitForEvent(hooks, id, 'authorization.active');
      const lapsing = () => deliveriesOf(hooks, id, 'authorization.refresh_lapsing').map((d) => d.body.data.daysLeft);

      await env.sleep(69 * DAY);
      assert.deepEqual(lapsing(), [], 'day 69: more than 30 days left');
      await env.sleep(2 * DAY);
      await waitForEvent(hooks, id, 'authorization.refresh_lapsing', 1);
      await env.sleep(21 * DAY);
      assert.deepEqual(lapsing(), [30], 'day 92: still one');
      await env.sleep(2 * DAY);
      await waitForEvent(hooks, id, 'authorization.refresh_lapsing', 2);
      await env.sleep(4.5 * DAY);
      assert.deepEqual(lapsing(), [30, 7], 'day 98.5');
      await env.sleep(DAY);
      await waitForEvent(hooks, id, 'authorization.refresh_lapsing', 3);
      assert.deepEqual(lapsing(), [30, 7, 1]);
      const last = deliveriesOf(hooks, id, 'authorization.refresh_lapsing')[2]!;
      const view = await handle.query(statusQuery);
      assert.equal(last.body.data.refreshTokenExpiresAt, view.refreshTokenExpiresAt);
      assert.equal(view.refreshCount, 1, 'the refresh at day 60 kept the (unrotated) refresh token and its expiry');
      const secretOfA = new WebhookSecretStore(stack.config.dataDir, TEST_WEBHOOK_SECRET, 0).signingKeys(TENANT_A.tenant)[0]!.secret;
      for (const d of deliveriesOf(hooks, id)) assert.ok(verifies(d, secretOfA), `${d.event} verifies`);
    } finally {
      stack.sandbox.oauth.configure({ rotateRefreshTokens: true, refreshTokenTtlSeconds: 365 * 86_400 });
    }
  });
});
