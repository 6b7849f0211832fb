import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { AnafNeedsAttention, AnafStage } from '../../lib/temporal/search-attributes';
import type { DeclarationView } from '../../workflows/etransport/types';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { transportXml } from '../../devkit/fixtures/transport';
import { declarationWhen } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';
import { startTimeSkippingServer } from '../../devkit/temporal-env';

/**
 * A UIT's life measured in days, on the time-skipping server: the warning before an
 * unconfirmed UIT expires (status, search attribute, webhook), and the end at expiry.
 */

const CIF = '14399840';
const HOUR = 3_600_000;

interface Received {
  event: string;
  payload: Record<string, unknown>;
  /** The workflow's search attributes when the webhook arrived. */
  stage?: string;
  needsAttention?: boolean;
}

describe('e-Transport UIT expiry (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let stack: Stack;
  let hooks: http.Server;
  let hookUrl: string;
  const received: Received[] = [];

  // The server's clock, not the process's: earlier tests skipped it ahead.
  const declare = async (ref: string, operationType: string) => {
    const date = new Date(await env.currentTimeMs()).toISOString().slice(0, 10);
    const res = await callApi(
      stack,
      TENANT_A.key,
      'POST',
      `/v1/etransport/declarations?cif=${CIF}&callbackUrl=${encodeURIComponent(hookUrl)}`,
      {
        body: transportXml({ declarantCif: CIF, ref, operationType, date }),
        headers: { 'idempotency-key': `time-${ref}` },
      },
    );
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  };
  const result = async (id: string) => (await stack.client.workflow.getHandle(id).result()) as DeclarationView;

  before(async () => {
    hooks = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; data: Record<string, unknown> };
        const entry: Received = { event: body.event, payload: body.data };
        received.push(entry);
        // While the webhook is being delivered the workflow cannot move on: its search attributes are the warning's.
        void stack.client.workflow
          .getHandle(String(body.data.id))
          .describe()
          .then((d) => {
            entry.stage = d.typedSearchAttributes.get(AnafStage);
            entry.needsAttention = d.typedSearchAttributes.get(AnafNeedsAttention);
          })
          .finally(() => res.writeHead(200).end('ok'));
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`;
    env = await startTimeSkippingServer();
    stack = await startStack({ env, sandbox: { etransport: { processingDelayMs: 0 } } });
    await authorizeOrganization(stack, TENANT_A.key, CIF, 'ETRANSPORT');
  });
  after(async () => {
    await stack?.close();
    await env?.teardown();
    hooks?.close();
  });

  test('an intra-community acquisition nobody confirms: warned a day before expiry, closed at expiry', async () => {
    const id = await declare('AIC-1', '10');
    const accepted = await declarationWhen(stack.client, id, (v) => v.stage === 'ACTIVE');
    assert.equal(accepted.confirmationExpected, true);
    const expiresAt = Date.parse(accepted.uitExpiresAt!);
    assert.ok(expiresAt - Date.parse(accepted.operations[0]!.finishedAt!) > 14 * 24 * HOUR, 'intra-community: 15 days');

    const done = await result(id);
    assert.equal(done.outcome, 'EXPIRED');
    assert.equal(done.expiryWarned, true);
    const warning = done.decisions.find((d) => d.decision === 'EXPIRY_WARNING');
    const expiry = done.decisions.find((d) => d.decision === 'UIT_EXPIRED');
    assert.ok(warning && expiry, JSON.stringify(done.decisions));
    assert.ok(
      Math.abs(expiresAt - 24 * HOUR - Date.parse(warning.at)) < HOUR,
      `warned a day ahead (${warning.at} vs ${accepted.uitExpiresAt})`,
    );
    assert.ok(Date.parse(expiry.at) >= expiresAt, 'closed once expired');

    const mine = received.filter((r) => r.payload.id === id);
    assert.deepEqual(
      mine.map((r) => r.event),
      ['etransport.declaration.accepted', 'etransport.uit.expiring', 'etransport.declaration.closed'],
    );
    const expiring = mine[1]!;
    assert.equal(expiring.payload.stage, 'EXPIRING_UNCONFIRMED');
    assert.equal(expiring.stage, 'EXPIRING_UNCONFIRMED', 'search attribute while warned');
    assert.equal(expiring.needsAttention, true);
    assert.equal(mine[2]!.payload.outcome, 'EXPIRED');
  });

  test('confirmed in time: no warning, closed at expiry', async () => {
    const id = await declare('AIC-2', '10');
    await declarationWhen(stack.client, id, (v) => v.stage === 'ACTIVE');
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/etransport/declarations/${encodeURIComponent(id)}/operations`, {
      json: { type: 'CONFIRMATION', confirmationType: '10', remarks: 'received in full' },
      headers: { 'idempotency-key': 'confirm-AIC-2' },
    });
    assert.equal(res.status, 202, res.text);
    const confirmed = await declarationWhen(stack.client, id, (v) => v.confirmed);
    assert.equal(confirmed.operations[1]!.outcome, 'ACCEPTED');
    const done = await result(id);
    assert.equal(done.outcome, 'EXPIRED');
    assert.equal(done.expiryWarned, false);
    assert.ok(!done.decisions.some((d) => d.decision === 'EXPIRY_WARNING'));
    assert.ok(!received.some((r) => r.payload.id === id && r.event === 'etransport.uit.expiring'));
  });

  test('a national transport needs no confirmation: no warning, closed after five days', async () => {
    const id = await declare('TTN-1', '30');
    const accepted = await declarationWhen(stack.client, id, (v) => v.stage === 'ACTIVE');
    assert.equal(accepted.confirmationExpected, false);
    const done = await result(id);
    assert.equal(done.outcome, 'EXPIRED');
    assert.ok(!done.decisions.some((d) => d.decision === 'EXPIRY_WARNING'));
    const expiresAt = Date.parse(accepted.uitExpiresAt!);
    const transportDay = Date.parse(`${accepted.identity.transportDate}T00:00:00Z`);
    assert.ok(
      expiresAt - transportDay > 4 * 24 * HOUR && expiresAt - transportDay <= 5 * 24 * HOUR,
      `five days from the transport date: ${accepted.uitExpiresAt}`,
    );
    const closedAfter = Date.parse(done.finishedAt!) - expiresAt;
    assert.ok(closedAfter >= 0 && closedAfter < HOUR, `closed at expiry (${closedAfter} ms after)`);
  });
});
