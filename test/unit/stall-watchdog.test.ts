import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { watchWorkflowProgress, type WatchedWorker } from '../../workers/stall-watchdog';

/** A worker whose poll state and activations the test drives. */
function fakeWorker() {
  const listeners = new Set<(n: number) => void>();
  let inFlight = 0;
  const worker: WatchedWorker & { polling: boolean; activation(): void } = {
    polling: true,
    numInFlightActivations$: {
      subscribe(next) {
        listeners.add(next);
        return { unsubscribe: () => listeners.delete(next) };
      },
    },
    getState: () => 'RUNNING',
    getStatus: () => ({ hasOutstandingWorkflowPoll: worker.polling }),
    activation() {
      inFlight += 1;
      for (const l of listeners) l(inFlight);
      inFlight -= 1;
      for (const l of listeners) l(inFlight);
    },
  };
  return worker;
}

const silent = { error: () => undefined };

beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'] }));
afterEach(() => mock.timers.reset());

test('an idle worker sitting in its long poll is never wedged', () => {
  const worker = fakeWorker();
  let stalled = 0;
  const stop = watchWorkflowProgress(worker, { stallMs: 60_000, sampleMs: 5_000, logger: silent, onStall: () => stalled++ });
  mock.timers.tick(10 * 60_000);
  assert.equal(stalled, 0);
  stop();
});

test('a busy worker (activations, no poll outstanding) is not wedged', () => {
  const worker = fakeWorker();
  worker.polling = false;
  let stalled = 0;
  const stop = watchWorkflowProgress(worker, { stallMs: 60_000, sampleMs: 5_000, logger: silent, onStall: () => stalled++ });
  for (let i = 0; i < 120; i++) {
    worker.activation();
    mock.timers.tick(5_000);
  }
  assert.equal(stalled, 0);
  stop();
});

test('neither poll nor activation for the whole window: wedged, reported once', () => {
  const worker = fakeWorker();
  let stalled = 0;
  const errors: unknown[] = [];
  watchWorkflowProgress(worker, { stallMs: 60_000, sampleMs: 5_000, logger: { error: (o: unknown) => errors.push(o) }, onStall: () => stalled++ });
  worker.activation();
  worker.polling = false;
  mock.timers.tick(55_000);
  assert.equal(stalled, 0, 'not before stallMs');
  mock.timers.tick(10_000);
  assert.equal(stalled, 1);
  mock.timers.tick(5 * 60_000);
  assert.equal(stalled, 1, 'the watchdog stops after reporting');
  assert.equal(errors.length, 1);
});

test('one activation inside the window resets it', () => {
  const worker = fakeWorker();
  worker.polling = false;
  let stalled = 0;
  watchWorkflowProgress(worker, { stallMs: 60_000, sampleMs: 5_000, logger: silent, onStall: () => stalled++ });
  mock.timers.tick(50_000);
  worker.activation();
  mock.timers.tick(50_000);
  assert.equal(stalled, 0);
  mock.timers.tick(15_000);
  assert.equal(stalled, 1);
});
