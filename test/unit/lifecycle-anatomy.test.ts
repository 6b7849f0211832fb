import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { describeAnatomy, lifecycleAnatomy } from '../../devkit/lifecycle-anatomy';

const history = (name: string) =>
  historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'histories', name), 'utf8'))).events ?? [];

test("a lifecycle's anatomy names each activity once, with its attempts, and counts the workflow tasks", () => {
  const x = lifecycleAnatomy(history('efactura-signature-checked.json'));
  assert.deepEqual(
    x.activities.map((a) => [a.name, a.attempts]),
    [
      ['uploadInvoice', 1],
      ['checkUploadStatus', 1],
      ['downloadAnswer', 1],
      ['checkAnswerSignature', 1],
    ],
  );
  assert.equal(x.workflowTasks, 6);
  assert.ok(x.totalMs > 0 && x.timersMs > 0, describeAnatomy(x));
  for (const a of x.activities) assert.ok(a.queuedMs >= 0 && a.runMs >= 0, describeAnatomy(x));
});

test('a retried activity shows its attempts and what the last failed attempt said', () => {
  // The started event of a retried activity carries the attempt and the previous attempt's failure.
  const events = history('efactura-signature-checked.json');
  const started = events.find((e) => e.activityTaskStartedEventAttributes && Number(e.eventId) > 20)!;
  started.activityTaskStartedEventAttributes!.attempt = 3;
  started.activityTaskStartedEventAttributes!.lastFailure = { message: 'stareMesaj: in prelucrare' };
  const status = lifecycleAnatomy(events).activities.find((a) => a.name === 'checkUploadStatus')!;
  assert.equal(status.attempts, 3);
  assert.equal(status.lastFailure, 'stareMesaj: in prelucrare');
  assert.match(describeAnatomy(lifecycleAnatomy(events)), /checkUploadStatus ×3 \(stareMesaj: in prelucrare\)/);
});

test('an activity that timed out before any attempt started reports its wait, not a run since 1970', () => {
  const events = history('efactura-signature-checked.json');
  const completed = events.find((e) => e.activityTaskCompletedEventAttributes)!;
  const attrs = completed.activityTaskCompletedEventAttributes!;
  completed.activityTaskCompletedEventAttributes = undefined;
  completed.eventType = temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT;
  completed.activityTaskTimedOutEventAttributes = {
    scheduledEventId: attrs.scheduledEventId,
    startedEventId: null,
  };
  const upload = lifecycleAnatomy(events).activities[0]!;
  assert.equal(upload.runMs, 0);
  assert.ok(upload.queuedMs >= 0 && upload.queuedMs < 60_000, JSON.stringify(upload));
});
