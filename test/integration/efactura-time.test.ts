import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { GATEWAY_REJECTED_RETRY_MS } from '../../activities/anaf/failures';
import { romanianDay } from '../../lib/anaf/romanian-time';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished } from '../../devkit/views';
import { activitySchedules, eventTimeMs, historyOf } from '../../devkit/history';
import { type Stack, startStack } from '../../devkit/stack';
import { startTimeSkippingServer } from '../../devkit/temporal-env';

/**
 * The waits that take hours or days at ANAF (daily limits, the F5 page's back-off, a message
 * that stays "in prelucrare" past its daily status budget) in seconds, on the time-skipping
 * server. The sandbox answers at once; its fault rules play ANAF's slow or refusing moods.
 */

const SELLER = '14399840';
const BUYER = '18547290';
const HOUR = 3_600_000;
const STARE = '/test/FCTEL/rest/stareMesaj';
const inPrelucrare =
  '<?xml version="1.0" encoding="UTF-8"?>\n<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="in prelucrare"/>';
const dailyLimit =
  '<?xml version="1.0" encoding="UTF-8"?>\n<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1"><Errors errorMessage="S-au facut deja 100 descarcari de mesaj in cursul zilei"/></header>';

describe('e-Factura waits measured in hours and days (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let stack: Stack;
  let n = 0;

  const submit = async (number: string) => {
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `time-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  };
  const elapsed = (v: { receivedAt: string; finishedAt?: string }) => Date.parse(v.finishedAt!) - Date.parse(v.receivedAt);

  before(async () => {
    env = await startTimeSkippingServer();
    stack = await startStack({ env, sandbox: { efactura: { processingDelayMs: 0 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
  });
  after(async () => {
    await stack?.close();
    await env?.teardown();
  });

  test("ANAF's daily limit on stareMesaj: wait for the next Romanian day instead of hammering", async () => {
    const number = `T-${++n}`;
    stack.sandbox.faults.add({ route: STARE, times: 1, contentType: 'application/xml', body: dailyLimit });
    const done = await finished(stack, await submit(number));
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.notEqual(
      romanianDay(Date.parse(done.finishedAt!)),
      romanianDay(Date.parse(done.receivedAt)),
      'waited for the next Romanian day',
    );
    assert.ok(elapsed(done) <= 24 * HOUR + 10 * 60_000, `no longer than that (${elapsed(done)} ms)`);
  });

  test('the F5 "URL was rejected" page on upload: backed off, sent once', async () => {
    const number = `T-${++n}`;
    stack.sandbox.faults.add({ route: '/test/FCTEL/rest/upload', method: 'POST', times: 1, html: 'waf' });
    const id = await submit(number);
    const done = await finished(stack, id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    // The rejected page is shown as a re-send ANAF never saw; one attempt reached ANAF.
    assert.deepEqual(
      done.attempts.map((a) => a.result),
      ['NOT_SENT', 'ACCEPTED'],
    );
    assert.equal(stack.sandbox.efactura.state.uploadsFor(SELLER, number, '2026-11-20'), 1);
    // Backed off: the second upload was scheduled no sooner than the WAF back-off after the first
    // (the server's clock, which time-skipping moves; the sandbox answered both at once).
    const [rejected, sent] = activitySchedules(await historyOf(stack.client, id), 'uploadInvoice').map(eventTimeMs);
    assert.ok(rejected !== undefined && sent !== undefined, 'two uploads: the rejected one and the one sent');
    assert.ok(
      sent - rejected >= GATEWAY_REJECTED_RETRY_MS,
      `sent again ${sent - rejected} ms after the WAF page, not before ${GATEWAY_REJECTED_RETRY_MS} ms`,
    );
  });

  test('a message "in prelucrare" for long: at most 90 status checks per day, then the next day', async () => {
    const number = `T-${++n}`;
    stack.sandbox.faults.add({ route: STARE, times: 120, contentType: 'application/xml', body: inPrelucrare });
    const done = await finished(stack, await submit(number));
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(done.statusChecks, 121, 'every check counted, none lost');
    assert.notEqual(
      romanianDay(Date.parse(done.finishedAt!)),
      romanianDay(Date.parse(done.receivedAt)),
      'the checks beyond 90 waited for the next day',
    );
  });
});
