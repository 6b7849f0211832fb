import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anafCallsCounted, fixedMinutes, promSum, slidingMinutes, type TimelineRow } from '../../devkit/budget-timeline';
import { resolveEfacturaOptions } from '../../sandbox/efactura/options';
import { type EfacturaCounters, EfacturaState } from '../../sandbox/efactura/state';

/** The budget bench's arithmetic (bench/budget-timeline.ts): what counts as an ANAF call, and the per-minute windows. */

test('every call the sandbox counts against ANAF’s per-minute limit is a call of the budget, the signature check included', () => {
  const counters: EfacturaCounters = {
    uploads: 1,
    uploadsRejected: 1,
    stareQueries: 1,
    downloads: 1,
    simpleLists: 1,
    paginatedLists: 1,
    validations: 1,
    transformations: 1,
    signatureValidations: 1,
    rateLimited: 1,
    // Not calls: invoices placed in the inbox by the sandbox, and answers a daily quota refused (already counted above).
    receivedInvoices: 1,
    dailyLimitHits: { stare: 1 },
  };
  // A counter added to the sandbox must be decided here: a call or not.
  assert.deepEqual(Object.keys(counters).sort(), Object.keys(zero()).sort());
  assert.equal(anafCallsCounted(counters), 10);
  // A lifecycle's calls: upload, stareMesaj, descarcare and validaresemnatura are four, not three.
  assert.equal(anafCallsCounted({ ...zero(), uploads: 1, stareQueries: 1, downloads: 1, signatureValidations: 1 }), 4);
});

/** The sandbox's own fresh counters, so the key list above follows the sandbox. */
function zero(): EfacturaCounters {
  return structuredClone(new EfacturaState(resolveEfacturaOptions(), Date.now).counters);
}

function row(t: number, calls: number): TimelineRow {
  return {
    t,
    at: 1_800_000_000_000 + t * 1000,
    calls,
    signatureChecks: 0,
    rateLimited: 0,
    machine: 0,
    load: 0,
    groups: {},
    backlog: 0,
    pollers: 0,
    slotsUsed: 0,
  };
}

test('sliding minutes start after the first minute and follow the rows’ clock when the sampler runs late', () => {
  // 15 calls a second for 180 s, sampled every second …
  const steady = Array.from({ length: 180 }, (_, i) => row(i + 1, 15));
  const windows = slidingMinutes(steady);
  assert.ok(windows.length > 0);
  assert.ok(
    windows.every((w) => steady[w.from - 1]!.t >= 60),
    'no window reaches into the first minute',
  );
  assert.ok(
    windows.every((w) => Math.abs(w.perMinute - 900) < 1e-9),
    JSON.stringify(windows.slice(0, 3)),
  );
  assert.deepEqual(fixedMinutes(steady), [900, 900], 'whole clock minutes only (the first and last are partial)');
  // … and the same rate sampled every 2 s (a loaded machine): 30 calls a row is still 900/min, not 1,800.
  const late = Array.from({ length: 90 }, (_, i) => row(2 * (i + 1), 30));
  assert.ok(slidingMinutes(late).every((w) => Math.abs(w.perMinute - 900) < 1e-9));
  // A 10 s gap without calls shows as its minute's shortfall: 50 s of 15/s = 750.
  const dip = steady.map((r) => (r.t > 100 && r.t <= 110 ? row(r.t, 0) : r));
  assert.equal(Math.min(...slidingMinutes(dip).map((w) => w.perMinute)), 750);
});

test('a Prometheus gauge summed over the lines with the given labels', () => {
  const text = [
    '# TYPE temporal_num_pollers gauge',
    'temporal_num_pollers{namespace="default",poller_type="activity_task",task_queue="q-anaf-calls"} 10',
    'temporal_num_pollers{namespace="default",poller_type="activity_task",task_queue="q"} 7',
    'temporal_num_pollers{namespace="default",poller_type="workflow_task",task_queue="q-anaf-calls"} 3',
  ].join('\n');
  assert.equal(promSum(text, 'temporal_num_pollers', { poller_type: 'activity_task', task_queue: 'q-anaf-calls' }), 10);
  assert.equal(promSum(text, 'temporal_worker_task_slots_used', {}), undefined);
});
