import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TENANT_A } from '../support/config';
import { authorizeOrganization, callApi, eventually, finished } from '../support/efactura';
import { historyOf } from '../support/history';
import { type Stack, startStack } from '../support/stack';

/**
 * ANAF's per-CUI daily quota on RASP uploads, with the sandbox's limit set to 1: once ANAF
 * has refused one upload for the day, the worker refuses the others itself, so ANAF sees one
 * refused upload however many submissions wait for tomorrow.
 */

const BUYER = '18547290';

describe('per-CUI daily quotas at the worker', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 0, raspDailyLimit: 1 } } });
    await authorizeOrganization(stack, TENANT_A.key, BUYER);
  });
  after(async () => {
    await stack?.close();
  });

  const submitRasp = async (key: string): Promise<string> => {
    const rasp = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1" index_incarcare="5000000001" message="${key}"/>`;
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${BUYER}&standard=RASP`, {
      body: rasp,
      headers: { 'idempotency-key': key },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  };

  /** The upload activity's failures in a submission's history: type and message (both plaintext there). */
  const uploadFailures = async (id: string) => {
    const history = await historyOf(stack.client, id);
    return (history.events ?? [])
      .map((e) => e.activityTaskFailedEventAttributes?.failure)
      .filter((f) => f !== undefined && f !== null)
      .map((f) => ({ type: f.applicationFailureInfo?.type ?? '', message: f.message ?? '' }));
  };
  const raspRefusals = () => stack.sandbox.efactura.state.counters.dailyLimitHits.rasp ?? 0;

  test('RASP uploads beyond ANAF\'s daily limit: one refused upload reaches the sandbox, later ones are refused by the worker', async () => {
    const run = `${process.pid}-${Date.now()}`;
    // Spends the sandbox's one RASP of the day (the message it answers is unknown, so ANAF says nok).
    const first = await finished(stack, await submitRasp(`rasp-1-${run}`));
    assert.equal(first.attempts.length, 1, JSON.stringify(first));
    assert.equal(raspRefusals(), 0);

    const second = await submitRasp(`rasp-2-${run}`);
    const secondFailures = await eventually(() => uploadFailures(second), (f) => f.length > 0, 'the second RASP upload failed');
    assert.equal(secondFailures[0]?.type, 'AnafDailyLimit');
    assert.match(secondFailures[0]?.message ?? '', /ANAF answered/);
    assert.equal(raspRefusals(), 1, 'ANAF refused it');

    const third = await submitRasp(`rasp-3-${run}`);
    const thirdFailures = await eventually(() => uploadFailures(third), (f) => f.length > 0, 'the third RASP upload failed');
    assert.equal(thirdFailures[0]?.type, 'AnafDailyLimit');
    assert.match(thirdFailures[0]?.message ?? '', /refused locally by the daily quota guard, no ANAF call made/);
    assert.equal(raspRefusals(), 1, 'the sandbox saw no second refused upload');

    // Both wait for the next Romanian day, as they would after ANAF's own answer.
    for (const id of [second, third]) {
      const description = await stack.client.workflow.getHandle(id).describe();
      assert.equal(description.status.name, 'RUNNING');
      await stack.client.workflow.getHandle(id).terminate('test done');
    }
  });
});
