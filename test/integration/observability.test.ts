import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * What an operator sees of a lifecycle outside the Web UI: log lines of its activities
 * carry the id of the API request that started it, and /metrics counts the ANAF calls,
 * the finished lifecycle and the API requests without ids in any label.
 */

const SELLER = '14399840';
const BUYER = '18547290';

describe('observability: request ids and metrics', () => {
  let stack: Stack;
  let submitted: { id: string; requestId: string; uploadIndex: string };

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 200 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    const number = `OBS-${process.pid}`;
    const requestId = `erp-req-${process.pid}-obs`;
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `obs-${number}`, 'x-request-id': requestId },
    });
    assert.equal(res.status, 202, res.text);
    const done = await finished(stack, res.json.id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    submitted = { id: res.json.id, requestId, uploadIndex: done.uploadIndex! };
  });

  after(async () => {
    await stack?.close();
  });

  test('every activity of the lifecycle logs with the id of the API request that started it', () => {
    const lines = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const activityLines = lines.filter((l) => l.workflowId === submitted.id && typeof l.activity === 'string');
    const activities = new Set(activityLines.map((l) => l.activity));
    for (const name of ['uploadInvoice', 'checkUploadStatus', 'downloadAnswer']) {
      assert.ok(activities.has(name), `an activity line for ${name}; saw ${[...activities].join(', ')}`);
    }
    for (const line of activityLines) assert.equal(line.requestId, submitted.requestId, JSON.stringify(line));
    // The API's own access line for the same request carries the same id.
    assert.ok(lines.some((l) => l.reqId === submitted.requestId && l.msg === 'request' && l.status === 202));
  });

  test('the OAuth consent: activities carry the id of the API request that caused them, across workflows', () => {
    const lines = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const apiRequestIds = new Set(lines.filter((l) => l.msg === 'request').map((l) => l.reqId));
    const oauthLines = lines.filter((l) => typeof l.activity === 'string' && String(l.workflowId).includes('/oauth'));
    assert.ok(oauthLines.length > 0);
    for (const line of oauthLines) {
      assert.ok(typeof line.requestId === 'string' && apiRequestIds.has(line.requestId), JSON.stringify(line));
    }
  });

  test('/metrics: ANAF calls by endpoint template and status, lifecycles by outcome, budget, API requests by route', async () => {
    const res = await request(`${stack.apiUrl}/metrics`);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = await res.body.text();
    const sample = (name: string, labels: Record<string, string>) => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line ? Number(line.split(' ').at(-1)) : undefined;
    };
    const host = new URL(stack.sandbox.url).host;
    assert.ok((sample('anaf_calls_total', { host, endpoint: '/test/FCTEL/rest/upload', method: 'POST', status: '200' }) ?? 0) >= 1, text);
    assert.ok((sample('anaf_calls_total', { endpoint: '/test/FCTEL/rest/stareMesaj', status: '200' }) ?? 0) >= 1);
    assert.ok((sample('anaf_calls_total', { endpoint: '/anaf-oauth2/v1/token', method: 'POST' }) ?? 0) >= 1, 'the code exchange');
    assert.ok((sample('anaf_call_duration_seconds_count', { endpoint: '/test/FCTEL/rest/descarcare' }) ?? 0) >= 1);
    assert.ok((sample('anaf_lifecycles_finished_total', { service: 'efactura', outcome: 'ACCEPTED' }) ?? 0) >= 1, text);
    assert.equal(sample('anaf_budget_calls_per_minute', { queue: stack.config.temporal.anafTaskQueue }), 950);
    assert.ok((sample('anaf_calls_last_minute', { host }) ?? 0) >= 3);
    assert.ok((sample('anaf_flow_http_requests_total', { method: 'POST', route: '/v1/efactura/invoices', status: '202' }) ?? 0) >= 1);
    assert.match(text, /^# TYPE anaf_f5_rebootstraps_total counter$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m);
    // No ids in labels: neither the workflow id, the upload index nor the CIF.
    for (const secretish of [submitted.id, submitted.uploadIndex, SELLER, TENANT_A.tenant]) {
      assert.ok(!text.includes(secretish), `metrics mention ${secretish}`);
    }
  });
});
