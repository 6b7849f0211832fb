import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { type QueueObservation, watchWorkflowProgress } from '../../workers/stall-watchdog';

const silent = { error: () => undefined, debug: () => undefined };
const STALL = 120_000;
const SAMPLE = 15_000;

/** Lets the watchdog's async check (started by a timer) finish. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(observations: Array<QueueObservation | Error>) {
  let stalled = 0;
  const errors: unknown[] = [];
  let i = 0;
  const stop = watchWorkflowProgress(
    async () => {
      const o = observations[Math.min(i++, observations.length - 1)]!;
      if (o instanceof Error) throw o;
      return o;
    },
    { stallMs: STALL, sampleMs: SAMPLE, logger: { ...silent, error: (o: unknown) => errors.push(o) }, onStall: () => stalled++ },
  );
  for (let n = 0; n < observations.length + 3; n++) {
    mock.timers.tick(SAMPLE);
    await settle();
  }
  stop();
  return { stalled, errors, probes: i };
}

beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
afterEach(() => mock.timers.reset());

test('nothing waiting: not wedged, however long ago the worker polled', async () => {
  const { stalled } = await run(Array.from({ length: 10 }, () => ({ backlogAgeMs: 0, lastPollAgoMs: 10 * STALL })));
  assert.equal(stalled, 0);
});

test('an old backlog while the worker keeps polling (busy, not wedged)', async () => {
  const { stalled } = await run(Array.from({ length: 10 }, () => ({ backlogAgeMs: 5 * STALL, lastPollAgoMs: 1_000 })));
  assert.equal(stalled, 0);
});

test('work waiting and this worker not polling, seen twice: wedged, reported once, then the watchdog stops', async () => {
  const wedged = { backlogAgeMs: STALL + 1, lastPollAgoMs: STALL + 5_000 };
  const { stalled, errors, probes } = await run([wedged, wedged, wedged, wedged, wedged]);
  assert.equal(stalled, 1);
  assert.equal(errors.length, 1);
  assert.equal(probes, 2, 'no probe after it reported');
});

test('a worker the server no longer lists counts as not polling', async () => {
  const gone = { backlogAgeMs: 2 * STALL, lastPollAgoMs: undefined };
  assert.equal((await run([gone, gone])).stalled, 1);
});

test('one healthy observation in between resets it; a failed probe says nothing', async () => {
  const wedged = { backlogAgeMs: 2 * STALL, lastPollAgoMs: 2 * STALL };
  const healthy = { backlogAgeMs: 2 * STALL, lastPollAgoMs: 100 };
  assert.equal((await run([wedged, healthy, wedged, new Error('server away'), healthy])).stalled, 0);
});

test('peers keep the queue drained: this worker not polling for 2 × stallMs while another polls is wedged', async () => {
  const idleQueue = { backlogAgeMs: 0, othersLastPollAgoMs: 2_000 };
  assert.equal(
    (
      await run([
        { ...idleQueue, lastPollAgoMs: STALL + 10_000 },
        { ...idleQueue, lastPollAgoMs: STALL + 25_000 },
      ])
    ).stalled,
    0,
    'not yet 2 × stallMs',
  );
  assert.equal(
    (
      await run([
        { ...idleQueue, lastPollAgoMs: 2 * STALL },
        { ...idleQueue, lastPollAgoMs: 2 * STALL + SAMPLE },
      ])
    ).stalled,
    1,
  );
  // Nobody polled lately (the server just restarted and forgot every poller): no verdict from that alone.
  const forgotten = { backlogAgeMs: 0, lastPollAgoMs: undefined, othersLastPollAgoMs: undefined };
  assert.equal((await run([forgotten, forgotten, forgotten])).stalled, 0);
});
