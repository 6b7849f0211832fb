import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SIGNATURE_HEADER, SIGNATURE_KEYS_HEADER } from '../../activities/webhooks';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import { callApi } from '../../devkit/api-client';
import { TENANT_B, TEST_WEBHOOK_SECRET } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { tenantHistoryTexts } from '../../devkit/history';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { finished } from '../../devkit/views';
import { TENANT_A } from '../../devkit/config';

/**
 * Issue 15 item 4: every tenant signs with its own webhook secret, shown to it once; a
 * rotation keeps the previous secret signing for the overlap window. Real stack: dev
 * server, the sandbox as ANAF, the API over HTTP, a receiver on a socket.
 */

const SELLER = '14399840';
const BUYER = '18547290';

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a receiver does: accept the delivery when any v1 of the signature matches its secret. */
function verifies(delivery: Delivery, secret: string): boolean {
  const parts = String(delivery.headers[SIGNATURE_HEADER]).split(',');
  const t = parts.find((p) => p.startsWith('t='))?.slice(2);
  const expected = createHmac('sha256', secret).update(`${t}.${delivery.body}`).digest('hex');
  return parts.some((p) => p === `v1=${expected}`);
}

describe('per-tenant webhook secrets', () => {
  let stack: Stack;
  let receiver: http.Server;
  let url: string;
  const received: Delivery[] = [];
  const shown: string[] = [];
  const submissionIds: string[] = [];

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 200 } } });
    await authorizeOrganization(stack, TENANT_B.key, SELLER);
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/anaf`;
  });
  after(async () => {
    receiver?.close();
    await stack?.close();
  });

  async function rotate(key: string): Promise<{ id: string; secret: string; previous?: { id: string; validUntil: string } }> {
    const res = await callApi(stack, key, 'POST', '/v1/webhook-secret/rotate');
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['cache-control'], 'no-store');
    shown.push(res.json.secret);
    return res.json;
  }

  /** One e-Factura submission of tenant B with a callbackUrl, to its webhook. */
  async function deliveryForB(n: number): Promise<Delivery> {
    const number = `WH-${process.pid}-${n}`;
    const res = await callApi(stack, TENANT_B.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}&callbackUrl=${encodeURIComponent(url)}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `wh-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    submissionIds.push(res.json.id);
    assert.equal((await finished(stack, res.json.id)).webhook?.state, 'DELIVERED');
    const delivery = received.find((d) => JSON.parse(d.body).data?.id === res.json.id || d.body.includes(res.json.id));
    assert.ok(delivery, 'the receiver got it');
    return delivery;
  }

  test("tenant A's secret does not verify tenant B's delivery; B's does; GET never shows a secret", async () => {
    const none = await callApi(stack, TENANT_A.key, 'GET', '/v1/webhook-secret');
    assert.equal(none.status, 404);
    assert.equal(none.json.error.code, 'WEBHOOK_SECRET_NOT_ISSUED');
    const a = await rotate(TENANT_A.key);
    const b = await rotate(TENANT_B.key);
    assert.equal(b.id, `${TENANT_B.tenant}.1`);
    assert.notEqual(a.secret, b.secret);
    const shownAgain = await callApi(stack, TENANT_B.key, 'GET', '/v1/webhook-secret');
    assert.equal(shownAgain.status, 200);
    assert.equal(shownAgain.json.id, b.id);
    assert.ok(!shownAgain.text.includes(b.secret) && shownAgain.json.secret === undefined, 'shown once, at rotation');

    const delivery = await deliveryForB(1);
    assert.equal(delivery.headers[SIGNATURE_KEYS_HEADER], b.id);
    assert.ok(verifies(delivery, b.secret), "B's own secret verifies it");
    assert.ok(!verifies(delivery, a.secret), "A's secret does not: A cannot forge B's deliveries");
    assert.ok(!verifies(delivery, TEST_WEBHOOK_SECRET), 'nor does the master secret');
  });

  test('rotation: during the overlap a delivery verifies with the previous and the new secret', async () => {
    const before = await callApi(stack, TENANT_B.key, 'GET', '/v1/webhook-secret');
    const previousId = before.json.id as string;
    const old = shown.at(-1)!;
    const next = await rotate(TENANT_B.key);
    assert.equal(next.id, `${TENANT_B.tenant}.2`);
    assert.equal(next.previous?.id, previousId);
    assert.ok(Date.parse(next.previous!.validUntil) > Date.now(), 'overlap window open');
    const delivery = await deliveryForB(2);
    assert.equal(delivery.headers[SIGNATURE_KEYS_HEADER], `${next.id},${previousId}`);
    assert.ok(verifies(delivery, next.secret), 'the new secret verifies');
    assert.ok(verifies(delivery, old), 'the previous one still does during the overlap');
  });

  test('no webhook secret in any log line or history', async () => {
    const histories = await tenantHistoryTexts(
      stack.client,
      TENANT_B.tenant,
      new AesGcmPayloadCodec(stack.config.payloadKeys),
      submissionIds,
    );
    assert.ok(shown.length >= 3);
    for (const haystack of [...stack.logs, ...histories]) {
      for (const secret of [...shown, TEST_WEBHOOK_SECRET])
        assert.ok(!haystack.includes(secret), `webhook secret in: ${haystack.slice(0, 200)}`);
    }
  });
});
