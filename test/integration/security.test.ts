import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { request } from 'undici';
import { AnswerArchiveError, readAnswerZip } from '../../activities/efactura/answer-zip';
import { TokenProvider } from '../../activities/oauth/token-provider';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { TENANT_A, TENANT_B, TEST_WEBHOOK_SECRET } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { tenantHistoryTexts } from '../../devkit/history';
import { authorizationWorkflowId } from '../../workflows/oauth/types';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * The security checks of the product gathered over the real stack (issue 7). Checks that
 * live with their feature are not repeated here:
 * - OAuth `state` forgery, reuse and unknown states: oauth-flow.test.ts ("forged, reused and unknown state…");
 * - OAuth tokens absent from histories, logs and API answers through the whole OAuth flow: oauth-flow.test.ts;
 * - API keys kept only as SHA-256 digests and compared with timingSafeEqual: unit/api-spine.test.ts (ApiKeyStore);
 * - API keys absent from log lines (header, bearer, codec path): api-spine.test.ts;
 * - DOCTYPE/XXE on submission and oversize bodies on the 1 MB routes: efactura-flow.test.ts, api-spine.test.ts;
 * - security headers on /healthz and /docs: api-spine.test.ts.
 */

const SELLER = '14399840';
const BUYER = '18547290';

describe('security suite', () => {
  let stack: Stack;
  let acceptedId: string;
  const accessTokens = new Set<string>();
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4], key = TENANT_A.key) =>
    callApi(stack, key, method, path, options);
  const item = (id: string) => `/v1/efactura/invoices/${encodeURIComponent(id)}`;

  before(async () => {
    // Webhooks to private addresses refused, as in production.
    stack = await startStack({
      configOverrides: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' },
      sandbox: { efactura: { processingDelayMs: 200 } },
    });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    const number = `SEC-${process.pid}`;
    const res = await api('POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `sec-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    acceptedId = res.json.id;
    assert.equal((await finished(stack, acceptedId)).outcome, 'ACCEPTED');
    const provider = new TokenProvider(stack.client, new TokenSealer(stack.config.tokenSealing));
    accessTokens.add((await provider.accessToken({ tenant: TENANT_A.tenant, cif: SELLER, scope: 'EFACTURA' })).token);
  });

  after(async () => {
    await stack?.close();
  });

  test("tenant B cannot read, download, signal, cancel or list anything of tenant A's; it looks like nothing exists", async () => {
    const missing = item(`${TENANT_B.tenant}/efactura/does-not-exist`);
    const notFound = await api('GET', missing, undefined, TENANT_B.key);
    assert.equal(notFound.status, 404);
    const attempts: Array<[string, string, Parameters<typeof callApi>[4]?]> = [
      ['GET', item(acceptedId)],
      ['GET', `${item(acceptedId)}/zip`],
      ['GET', `${item(acceptedId)}/invoice.xml`],
      ['GET', `${item(acceptedId)}/signature.xml`],
      ['GET', `${item(acceptedId)}/errors`],
      ['DELETE', item(acceptedId)],
      ['GET', `/v1/organizations/${SELLER}/authorizations`],
      ['POST', `/v1/organizations/${SELLER}/authorizations/EFACTURA/refresh`],
    ];
    for (const [method, path, options] of attempts) {
      const r = await api(method, path, options, TENANT_B.key);
      assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
      assert.ok(!r.text.includes(SELLER) || path.includes('organizations'), r.text);
    }
    const listed = await api('GET', `/v1/efactura/invoices?cif=${SELLER}`, undefined, TENANT_B.key);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.items, []);
    // …and A's case is untouched.
    assert.equal((await api('GET', item(acceptedId))).json.outcome, 'ACCEPTED');
  });

  /** Ids of the workflows Temporal lists as started at or after `since`. */
  async function workflowsStartedSince(since: Date): Promise<string[]> {
    const ids: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: `StartTime >= '${since.toISOString()}'` })) ids.push(wf.workflowId);
    return ids;
  }

  const activityLinesSince = (from: number) => stack.logs.slice(from).filter((l) => l.includes('"activity"'));

  test('CIFs and ids are validated before they reach a URL: no path injection', async () => {
    const probesFrom = new Date();
    const before = stack.logs.length;
    const probes: Array<[string, string, Parameters<typeof callApi>[4]?]> = [
      ['GET', `/v1/organizations/${encodeURIComponent('../../globex')}/authorizations`],
      ['GET', `/v1/organizations/${encodeURIComponent('14399840/../18547290')}/authorizations`],
      ['POST', `/v1/organizations/${encodeURIComponent('14399840?x=1')}/authorization-requests`, { json: { scope: 'EFACTURA' } }],
      ['GET', item('acme/efactura/../../globex/efactura/x')],
      ['GET', item('acme/efactura/x/../../y')],
      ['GET', `${item(`acme/efactura/${'%2e%2e'}`)}/zip`],
      ['GET', item('acme/oauth/14399840/EFACTURA')],
      [
        'POST',
        `/v1/efactura/invoices?cif=${encodeURIComponent('14399840/../x')}`,
        { body: '<Invoice/>', headers: { 'idempotency-key': 'inj-1' } },
      ],
      ['POST', `/v1/efactura/invoices?cif=${SELLER}`, { body: '<Invoice/>', headers: { 'idempotency-key': '../../x' } }],
    ];
    for (const [i, [method, path, options]] of probes.entries()) {
      const r = await api(method, path, { ...options, headers: { ...options?.headers, 'x-request-id': `probe-${i}` } });
      assert.ok(r.status === 400 || r.status === 404, `${method} ${path}: ${r.status} ${r.text}`);
      assert.match(String(r.json?.error?.code), /^[A-Z_]+$/, r.text);
    }
    // None of them started anything that called ANAF. Checked only once it could be seen: a control
    // request sent after the probes starts a workflow whose activity calls ANAF (TestOauth hello), and
    // the API answers it when that workflow has ended.
    const controlId = `control-${process.pid}`;
    const control = await api('POST', `/v1/organizations/${SELLER}/authorizations/EFACTURA/test`, {
      headers: { 'x-request-id': controlId },
    });
    assert.equal(control.status, 200, control.text);
    // The dev server lists workflows in the order they started (one shard): when the control's shows, a probe's would too.
    const started = await eventually(
      () => workflowsStartedSince(probesFrom),
      (ids) => ids.length > 0,
      "the control's workflow is listed",
    );
    assert.equal(started.length, 1, `only the control started a workflow: ${started.join(', ')}`);
    assert.match(started[0]!, /\/oauth-test\//);
    const activities = await eventually(
      async () => activityLinesSince(before),
      (lines) => lines.some((l) => l.includes(controlId)),
      "the control's activity logged",
    );
    assert.deepEqual(
      activities.filter((l) => !l.includes(controlId)),
      [],
      'no activity ran for a refused request',
    );
  });

  test('XML with entity expansion ("billion laughs") or an external entity is refused before anything is stored', async () => {
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
      '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol3;</Invoice>',
    ].join('\n');
    const parameterEntity = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://169.254.169.254/">%p;]><Invoice/>';
    for (const [key, body] of [
      ['laughs', laughs],
      ['param', parameterEntity],
    ]) {
      const r = await api('POST', `/v1/efactura/invoices?cif=${SELLER}`, { body, headers: { 'idempotency-key': `xml-${key}` } });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, 'XML_DOCTYPE_FORBIDDEN');
      assert.equal((await api('GET', item(`acme/efactura/xml-${key}`))).status, 404, 'nothing was started');
    }
  });

  test("ZIP bombs and oversize archives in ANAF's answers are refused", async () => {
    const zeros = new Uint8Array(20 * 1024 * 1024);
    const bomb = Buffer.from(zipSync({ 'a.xml': [zeros, { level: 9 }] }));
    assert.ok(bomb.length < 100_000);
    await assert.rejects(readAnswerZip(bomb), (e: unknown) => e instanceof AnswerArchiveError && e.code === 'ZIP_BOMB');
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}.xml`, new TextEncoder().encode('<a/>')]));
    await assert.rejects(readAnswerZip(Buffer.from(zipSync(many))), (e: unknown) => e instanceof AnswerArchiveError);
    await assert.rejects(
      readAnswerZip(Buffer.from('PK\u0003\u0004 not really a zip')),
      (e: unknown) => e instanceof AnswerArchiveError && e.code === 'ZIP_MALFORMED',
    );
  });

  test('callbackUrl webhooks cannot target loopback, link-local or private addresses', async () => {
    const xml = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: `SSRF-${process.pid}` });
    const targets = [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.5/hook',
      'http://192.168.1.1/hook',
      'http://[::1]/hook',
      'http://[fd00::1]/hook',
      'http://0.0.0.0/hook',
      'file:///etc/passwd',
    ];
    for (const [i, target] of targets.entries()) {
      const r = await api('POST', `/v1/efactura/invoices?cif=${SELLER}&callbackUrl=${encodeURIComponent(target)}`, {
        body: xml,
        headers: { 'idempotency-key': `ssrf-${i}` },
      });
      assert.equal(r.status, 400, `${target}: ${r.text}`);
      assert.equal(r.json.error.code, 'INVALID_CALLBACK_URL', target);
    }
  });

  test('oversize bodies: a JSON submission over its 16 MB limit is a 413 PAYLOAD_TOO_LARGE', async () => {
    const r = await api('POST', '/v1/efactura/invoices', {
      json: { cif: SELLER, standard: 'UBL', xml: 'x'.repeat(17 * 1024 * 1024) },
      headers: { 'idempotency-key': 'too-big' },
    });
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.equal(r.json.error.code, 'PAYLOAD_TOO_LARGE');
  });

  test('security headers on e-Factura answers, errors, documents and /metrics', async () => {
    for (const [path, status] of [
      [item(acceptedId), 200],
      [`${item(acceptedId)}/zip`, 200],
      [item('acme/efactura/nope'), 404],
      ['/metrics', 200],
    ] as const) {
      const r = await api('GET', path);
      assert.equal(r.status, status, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
      assert.match(String(r.headers['content-security-policy']), /default-src 'none'/, path);
      assert.ok(r.headers['strict-transport-security'], path);
      assert.equal(r.headers['x-powered-by'], undefined, path);
    }
  });

  test('no secret in any log line or history after an e-Factura lifecycle: tokens, API keys, payload and token keys, webhook secret, client secret', async () => {
    const res = await request(`${stack.apiUrl}/metrics`);
    const haystacks: string[] = [...stack.logs, await res.body.text()];
    const authorization = authorizationWorkflowId({ tenant: TENANT_A.tenant, cif: SELLER, scope: 'EFACTURA' });
    haystacks.push(
      ...(await tenantHistoryTexts(stack.client, TENANT_A.tenant, new AesGcmPayloadCodec(stack.config.payloadKeys), [
        acceptedId,
        authorization,
      ])),
    );
    assert.ok(haystacks.length > 20);
    assert.ok(accessTokens.size > 0);
    const secrets = [
      ...[...accessTokens].flatMap((t) => [t, t.slice(-40)]),
      TENANT_A.key,
      TENANT_B.key,
      TEST_WEBHOOK_SECRET,
      stack.config.anaf.clientSecret!,
      ...stack.config.payloadKeys.map((k) => k.key.toString('base64')),
      ...stack.config.tokenSealing.legacyKeys.map((k) => k.key.toString('base64')),
    ];
    for (const secret of secrets) {
      const leak = haystacks.find((h) => h.includes(secret));
      assert.equal(leak, undefined, `secret material found in: ${leak?.slice(0, 200)}`);
    }
  });
});
