import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { msUntilNextRomanianDay, romanianDay } from '../../lib/anaf/romanian-time';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { finished } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { activitySchedules, eventTimeMs, historyOf, protoMs } from '../../devkit/history';
import { type Stack, startStack } from '../../devkit/stack';

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
  /**
   * The wait a submission set after its upload was refused for the day (the timer after the
   * failed upload): when it started, when it fires, and what the history says happened since.
   */
  const dayWait = async (id: string) => {
    const history = await eventually(
      () => historyOf(stack.client, id),
      (h) => (h.events ?? []).some((e) => e.timerStartedEventAttributes),
      'the refused submission started its wait',
    );
    const events = history.events ?? [];
    const failedAt = events.map((e) => Boolean(e.activityTaskFailedEventAttributes)).lastIndexOf(true);
    const timer = events.slice(failedAt).find((e) => e.timerStartedEventAttributes)!;
    const startedAt = eventTimeMs(timer);
    return {
      startedAt,
      firesAt: startedAt + protoMs(timer.timerStartedEventAttributes!.startToFireTimeout),
      fired: events.some((e) => e.timerFiredEventAttributes),
      uploadsScheduled: activitySchedules(history, 'uploadInvoice').length,
    };
  };
  const raspRefusals = () => stack.sandbox.efactura.state.counters.dailyLimitHits.rasp ?? 0;

  test("RASP uploads beyond ANAF's daily limit: one refused upload reaches the sandbox, later ones are refused by the worker", async () => {
    const run = `${process.pid}-${Date.now()}`;
    // Spends the sandbox's one RASP of the day (the message it answers is unknown, so ANAF says nok).
    const first = await finished(stack, await submitRasp(`rasp-1-${run}`));
    assert.equal(first.attempts.length, 1, JSON.stringify(first));
    assert.equal(raspRefusals(), 0);

    const second = await submitRasp(`rasp-2-${run}`);
    const secondFailures = await eventually(
      () => uploadFailures(second),
      (f) => f.length > 0,
      'the second RASP upload failed',
    );
    assert.equal(secondFailures[0]?.type, 'AnafDailyLimit');
    assert.match(secondFailures[0]?.message ?? '', /ANAF answered/);
    assert.equal(raspRefusals(), 1, 'ANAF refused it');

    const third = await submitRasp(`rasp-3-${run}`);
    const thirdFailures = await eventually(
      () => uploadFailures(third),
      (f) => f.length > 0,
      'the third RASP upload failed',
    );
    assert.equal(thirdFailures[0]?.type, 'AnafDailyLimit');
    assert.match(thirdFailures[0]?.message ?? '', /refused locally by the daily quota guard, no ANAF call made/);
    assert.equal(raspRefusals(), 1, 'the sandbox saw no second refused upload');

    // Both wait for the next Romanian day, as they would after ANAF's own answer: their timer
    // fires just after midnight in Bucharest (ANAF's day), and until then no upload is made.
    const uploadsAtAnaf = stack.sandbox.efactura.state.totalUploads;
    for (const id of [second, third]) {
      const wait = await dayWait(id);
      const midnight = wait.startedAt + msUntilNextRomanianDay(wait.startedAt);
      const at = (ms: number) => `${new Date(ms).toISOString()} (Romanian day ${romanianDay(ms)})`;
      assert.ok(wait.firesAt >= midnight, `${id} waits until the next Romanian day: fires ${at(wait.firesAt)}, day turns ${at(midnight)}`);
      assert.ok(wait.firesAt <= midnight + 10 * 60_000, `${id} waits no longer than a margin past midnight: fires ${at(wait.firesAt)}`);
      assert.equal(wait.fired, false, `${id}: the wait is still pending`);
      assert.equal(wait.uploadsScheduled, 1, `${id}: no upload before the day turns`);
      const description = await stack.client.workflow.getHandle(id).describe();
      assert.equal(description.status.name, 'RUNNING');
      await stack.client.workflow.getHandle(id).terminate('test done');
    }
    assert.equal(stack.sandbox.efactura.state.totalUploads, uploadsAtAnaf, 'ANAF saw no upload from the waiting submissions');
  });
});
